"""no_regression and retry_amplification read the load running in this process, the fault ledger and the proxy's stats."""

import time
from collections.abc import Iterator
from typing import Any

import pytest
from load_harness import Proxied
from services import clients

from squall.actions.toxiproxy import add_http_error, heal
from squall.background import serve_app
from squall.load import EXPERIMENT_SCOPE, LoadRun, parse
from squall.verify import no_regression, retry_amplification


@pytest.fixture
def retry_storm(proxied: Proxied) -> Iterator[str]:
    """A client service that retries 4 times with no breaker and forwards trace context (and so the group marker)."""
    settings = clients.Settings(max_attempts=4, backoff_base_s=0.001, breaker_threshold=10**6, forward_traceparent=True,
                                attempt_timeout_s=1.0, deadline_s=5.0)
    with serve_app(lambda: clients.make_resilient_app(f"{proxied.proxied}/pay", settings)) as url:
        yield f"{url}/checkout"


@pytest.fixture
def unforwarding(proxied: Proxied) -> Iterator[str]:
    """A client service that does not forward traceparent/baggage (one attempt, failures become 502)."""
    with serve_app(lambda: clients.make_fragile_app(f"{proxied.proxied}/pay")) as url:
        yield f"{url}/checkout"


@pytest.fixture
def fragile_forwarding(proxied: Proxied) -> Iterator[str]:
    """A client service with one attempt and no fallback that forwards trace context and baggage (the marker)."""
    with serve_app(lambda: clients.make_fragile_app(f"{proxied.proxied}/pay", forward_traceparent=True)) as url:
        yield f"{url}/checkout"


def _load(url: str) -> LoadRun:
    run = LoadRun(parse({"targets": [url], "users": 4, "spawn_rate": 50, "wait_s": 0.02, "during_s": 30}))
    run.start()
    return run


def _no_regression_under_fault(proxied: Proxied, url: str, warm_s: float, **fault: Any) -> dict[str, Any]:
    """Load `url`, inject an http_error on payments after `warm_s` s of load, judge 1.5 s of it, heal and stop."""
    config = {"toxiproxy_url": proxied.toxiproxy}
    run = _load(url)
    try:
        run.wait_until(warm_s)
        add_http_error("payments", status=503, configuration=config, **fault)
        time.sleep(1.5)
        return dict(no_regression(max_increase_ms=None, configuration=config))
    finally:
        heal("payments", configuration=config)
        run.stop()


def test_retry_amplification_over_budget_fails_with_the_ratio(proxied: Proxied, retry_storm: str) -> None:
    config = {"toxiproxy_url": proxied.toxiproxy}
    run = _load(retry_storm)
    try:
        run.wait_until(0.5)
        add_http_error("payments", status=503, baggage=EXPERIMENT_SCOPE, configuration=config)
        time.sleep(1.5)
        over = retry_amplification("payments", max_ratio=1.5, configuration=config)
        within = retry_amplification("payments", max_ratio=5, configuration=config)
    finally:
        heal("payments", configuration=config)
        run.stop()
    assert over["verdict"] == "failed", over
    evidence = over["evidence"]
    assert evidence["design"] == "experiment group"
    # tied by trace id: exactly the attempts of the finished requests, four per failing one
    assert evidence["attribution"] == "trace"
    assert evidence["client_requests"] >= 10 and 3.0 <= evidence["ratio"] <= 4.0
    assert "> budget 1.5" in over["summary"]
    control = evidence["control_group"]
    assert control["client_requests"] >= 10 and control["ratio"] < 1.5  # never faulted: one attempt each, bar a rare slow one
    assert within["verdict"] == "passed"


def test_no_regression_without_load_is_inconclusive_and_says_why() -> None:
    outcome = no_regression()
    assert outcome["verdict"] == "inconclusive" and "no load is running" in outcome["summary"]


def test_a_service_that_does_not_forward_the_marker_falls_back_to_before_during(
    proxied: Proxied, unforwarding: str
) -> None:
    outcome = _no_regression_under_fault(proxied, unforwarding, 1.5)  # unscoped: the marker never arrives
    evidence = outcome["evidence"]
    assert evidence["design"] == "before-during" and "weaker design" in evidence["design_note"]
    assert "before/during comparison" in outcome["summary"]
    assert outcome["verdict"] == "failed"  # every request during the fault failed, none before it
    assert evidence["n_control"] >= 20 and evidence["n_experiment"] >= 20


def test_a_fault_that_meets_both_groups_is_not_compared_group_against_group(
    proxied: Proxied, fragile_forwarding: str
) -> None:
    """The service forwards the marker, but the fault is not scoped: both groups fail alike, and a group
    comparison would find no difference in a service whose every request fails (a false pass). squall
    compares before/during instead, and names the fault."""
    outcome = _no_regression_under_fault(proxied, fragile_forwarding, 1.5)  # unscoped: the control group meets it too
    evidence = outcome["evidence"]
    assert evidence["design"] == "before-during", evidence
    assert "not aimed at the experiment group alone" in evidence["design_note"]
    assert evidence["faults_beyond_the_group"] and "HTTP 503" in evidence["faults_beyond_the_group"][0]
    assert outcome["verdict"] == "failed", outcome  # every request during the fault failed, none before it
    assert "not aimed at the experiment group" in outcome["summary"]


def test_a_fault_scoped_to_the_experiment_group_is_compared_group_against_group(
    proxied: Proxied, fragile_forwarding: str
) -> None:
    outcome = _no_regression_under_fault(proxied, fragile_forwarding, 0.5, baggage=EXPERIMENT_SCOPE)
    evidence = outcome["evidence"]
    assert evidence["design"] == "groups" and "faults_beyond_the_group" not in evidence
    assert outcome["verdict"] == "failed", outcome  # only the experiment group's requests failed
    assert evidence["n_control"] >= 20 and evidence["n_experiment"] >= 20
