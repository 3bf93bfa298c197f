"""Resilience verifiers against a resilient and a fragile client service, behind the embedded proxy."""

import pytest
from chaoslib.exceptions import ActivityFailed
from services import clients
from services.system import System

from squall import config
from squall.actions import toxiproxy as tp
from squall.background import serve_app
from squall.ledger import Ledger
from squall.verify import circuit_breaker, fallback, recovery, retries, timeout


def test_retries_with_retry_after_pass_for_resilient_fail_for_fragile(
    system: System, resilient_url: str, fragile_url: str
) -> None:
    cfg = system.configuration
    tp.add_http_error("payments", status=503, first_n=2, retry_after_s=1, configuration=cfg)
    good = retries(resilient_url, "payments", requests=2, retry_after_s=1, configuration=cfg)
    assert good["ok"] is True, good
    assert good["evidence"]["attribution"] == "header"
    assert good["evidence"]["attempts_per_request"] == [3, 1]
    assert min(good["evidence"]["gaps_after_retry_after_s"]) >= 0.95
    tp.heal(configuration=cfg)
    tp.add_http_error("payments", status=503, rate=1.0, configuration=cfg)
    bad = retries(fragile_url, "payments", requests=2, configuration=cfg)
    assert bad["ok"] is False and bad["verifier"] == "retries" and bad["verdict"] == "failed"
    assert "request(s) [1, 2] of 2 got a failed attempt and did not retry" in bad["summary"]


def test_backoff_is_observed(system: System) -> None:
    tp.add_http_error("payments", status=500, first_n=2, configuration=system.configuration)
    settings = clients.Settings(backoff_base_s=0.1)  # waits 0.1 s, then 0.2 s
    with serve_app(lambda: clients.make_resilient_app(f"{system.proxied}/pay", settings)) as base:
        result = retries(f"{base}/checkout", "payments", requests=1, expect_backoff=True, configuration=system.configuration)
    assert result["ok"] is True, result
    [gaps] = result["evidence"]["backoff_gaps_s"]
    assert gaps[1] >= 1.5 * gaps[0]


def test_timeout_under_hang(system: System, resilient_url: str, fragile_url: str) -> None:
    cfg = system.configuration
    tp.add_timeout("payments", 0, configuration=cfg)
    good = timeout(resilient_url, budget_ms=1500, requests=3, require_success=True, configuration=cfg)
    assert good["ok"] is True, good
    bad = timeout(fragile_url, budget_ms=300, requests=1, give_up_s=1.0, configuration=cfg)
    assert bad["ok"] is False and "hung past 1.0 s" in bad["summary"]
    tp.heal(configuration=cfg)


def test_fallback_under_partition(system: System, resilient_url: str, fragile_url: str) -> None:
    cfg = system.configuration
    tp.partition("payments", configuration=cfg)
    good = fallback(resilient_url, header="X-Fallback", json_path="$.fallback", json_value=True, requests=4)
    assert good["ok"] is True, good
    bad = fallback(fragile_url, header="X-Fallback", requests=3)
    assert bad["ok"] is False and "0 of 3" in bad["summary"] and "status 502" in bad["summary"]
    tp.heal(configuration=cfg)
    healthy = fallback(fragile_url, json_path="$.fallback", json_value=True, requests=2)
    assert healthy["ok"] is False and "$.fallback = False (expected True)" in healthy["summary"]


def test_circuit_breaker_opens_and_resumes_after_heal(system: System, resilient_url: str, fragile_url: str) -> None:
    cfg = system.configuration
    tp.add_http_error("payments", status=503, configuration=cfg)
    bad = circuit_breaker(fragile_url, "payments", max_dependency_calls=9, requests=12, configuration=cfg)
    assert bad["ok"] is False and "calls never stopped: all 12 requests reached the dependency" in bad["summary"]
    good = circuit_breaker(resilient_url, "payments", max_dependency_calls=9, requests=12, heal=True,
                           resume_within_s=8, cooldown_s=1.0, configuration=cfg)
    assert good["ok"] is True, good
    assert good["evidence"]["attempts_before_open"] <= 9
    assert all(t["gap_s"] is None or t["gap_s"] >= 0.9 for t in good["evidence"]["half_open_trials"])
    assert 0 < good["evidence"]["resumed_after_s"] < 8
    assert good["evidence"]["resume_after_last_failure_s"] >= 0.9  # half-open only after the 1 s cool-down
    assert Ledger(config.ledger_path()).open_entries() == []  # the heal struck the fault


def test_recovery_measures_time_from_the_heal(system: System, resilient_url: str) -> None:
    cfg = system.configuration
    tp.partition("payments", configuration=cfg)
    fallback(resilient_url, header="X-Fallback", requests=5)  # opens the breaker
    tp.heal(configuration=cfg)
    result = recovery(resilient_url, within_s=8, min_success_rate=1.0, window=3, configuration=cfg)
    assert result["ok"] is True, result
    assert result["evidence"]["measured_from"] == "the latest heal in the ledger"
    assert result["evidence"]["time_to_recover_s"] < 8


def test_recovery_fails_while_still_broken(system: System, fragile_url: str) -> None:
    tp.partition("payments", configuration=system.configuration)
    result = recovery(fragile_url, within_s=0.5, window=2, measure_from="check", configuration=system.configuration)
    assert result["ok"] is False and "not back inside objectives within 0.5 s" in result["summary"]


def test_verifier_argument_errors(system: System, resilient_url: str) -> None:
    with pytest.raises(ActivityFailed, match="fallback needs a marker"):
        fallback(resilient_url)
    with pytest.raises(ActivityFailed, match='unknown proxy "nope"'):
        retries(resilient_url, "nope", configuration=system.configuration)
    with pytest.raises(ActivityFailed, match="budget_ms=-1"):
        timeout(resilient_url, budget_ms=-1)
