"""Each wrong verdict users found (issue 11), reproduced against real services behind the embedded proxy.

Most run with the control's SLI sampler (the real ``Timeline``) sending
requests to the same service, as in the users' runs, and a service that does
not forward X-Chaos-Run-Id or traceparent, so the verifier has to attribute
dependency calls by time.
"""

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import httpx
from services import clients
from services.system import System

from squall import quiet
from squall.actions import toxiproxy as tp
from squall.background import serve_app
from squall.control.sampling import Timeline
from squall.control.settings import SliTarget
from squall.verify import circuit_breaker, recovery, retries

#: a breaker that never opens in these tests, so that every request reaches the dependency
NO_BREAKER = 10_000


def verdict(result: dict[str, Any]) -> str:
    """passed / failed / inconclusive (results of older squall versions had only ok)."""
    return str(result.get("verdict") or ("passed" if result["ok"] else "failed"))


@contextmanager
def sampling(url: str, interval_s: float = 0.1, timeout_s: float | None = None) -> Iterator[Timeline]:
    """The control's SLI sampler, hitting `url` every `interval_s` in the background."""
    target = SliTarget("frontend", url, interval_s=interval_s, timeout_s=timeout_s or interval_s)
    timeline = Timeline([target], max_samples=10_000)
    timeline.start()
    try:
        deadline = time.monotonic() + 10
        while len(timeline.snapshot()) < 2 and time.monotonic() < deadline:
            time.sleep(0.02)
        yield timeline
    finally:
        timeline.stop()


@contextmanager
def resilient(system: System, **settings: Any) -> Iterator[str]:
    with serve_app(lambda: clients.make_resilient_app(f"{system.proxied}/pay", clients.Settings(**settings))) as url:
        yield f"{url}/checkout"


@contextmanager
def fragile(system: System, **options: Any) -> Iterator[str]:
    with serve_app(lambda: clients.make_fragile_app(f"{system.proxied}/pay", **options)) as url:
        yield f"{url}/checkout"


# -- finding 1: the control's own SLI traffic counted as the service's retries --------------------------


def test_retrying_twice_with_backoff_is_not_a_storm_while_the_sampler_runs(system: System) -> None:
    cfg = system.configuration
    tp.add_http_error("payments", status=503, configuration=cfg)
    with resilient(system, forward_run_id=False, breaker_threshold=NO_BREAKER, backoff_base_s=0.05) as url, sampling(url):
        result = retries(url, "payments", requests=3, max_attempts_per_request=4, configuration=cfg)
    assert verdict(result) == "passed", result
    assert result["evidence"]["attribution"] == "time"
    assert result["evidence"]["attempts_per_request"] == [3, 3, 3]


def test_honoured_retry_after_is_not_judged_dishonoured_while_the_sampler_runs(system: System) -> None:
    cfg = system.configuration
    tp.add_http_error("payments", status=503, retry_after_s=1, configuration=cfg)
    with resilient(system, forward_run_id=False, breaker_threshold=NO_BREAKER, max_attempts=2) as url, sampling(url):
        result = retries(url, "payments", requests=2, retry_after_s=1, configuration=cfg)
    assert verdict(result) == "passed", result
    assert len(result["evidence"]["gaps_after_retry_after_s"]) == 2
    assert min(result["evidence"]["gaps_after_retry_after_s"]) >= 0.95


def test_a_service_that_never_retries_fails_while_the_sampler_runs(system: System) -> None:
    cfg = system.configuration
    tp.add_http_error("payments", status=503, configuration=cfg)
    with fragile(system, forward_run_id=False, delay_s=0.2) as url, sampling(url, interval_s=0.05):
        result = retries(url, "payments", requests=3, configuration=cfg)
    assert verdict(result) == "failed", result
    assert result["evidence"]["attempts_per_request"] == [1, 1, 1]
    assert "did not retry" in result["summary"]


def test_the_sampler_is_held_while_a_time_attributed_verifier_runs(system: System) -> None:
    cfg = system.configuration
    tp.add_http_error("payments", status=503, configuration=cfg)
    with fragile(system, forward_run_id=False) as url, sampling(url, interval_s=0.05) as timeline:
        started = time.time()
        result = retries(url, "payments", requests=3, configuration=cfg)
        rows = timeline.snapshot()
    assert result["evidence"]["attribution"] == "time" and result["evidence"]["sampling_held"] is True
    [(begin, end)] = [(p[0], p[1]) for p in quiet.pauses(started) if "verifier retries" in str(p[2])]
    assert begin <= result["evidence"]["client"][0]["t"] and end >= result["evidence"]["checked_at"]
    assert not [r for r in rows if begin <= r[0] <= end]  # nothing sampled while held
    assert timeline.held_ticks > 0


def test_trace_attribution_ignores_the_samplers_calls_and_lets_it_sample(system: System) -> None:
    cfg = system.configuration
    tp.add_http_error("payments", status=503, configuration=cfg)
    with resilient(system, forward_run_id=False, forward_traceparent=True, breaker_threshold=NO_BREAKER) as url, \
            sampling(url, interval_s=0.1, timeout_s=1.0) as timeline:
        started = time.time()
        result = retries(url, "payments", requests=3, max_attempts_per_request=3, configuration=cfg)
        ended = time.time()
        rows = timeline.snapshot()
    assert verdict(result) == "passed", result
    ev = result["evidence"]
    assert ev["attribution"] == "trace" and ev["by_trace"] == 9 and ev["attempts_per_request"] == [3, 3, 3]
    assert ev["events_seen"] > 9  # the sampler's calls were there, carrying other trace ids
    [(begin, end)] = [(p[0], p[1]) for p in quiet.pauses(started) if "verifier retries" in str(p[2])]
    assert end <= ev["client"][1]["t"]  # the hold ended after the first request proved trace attribution
    assert [r for r in rows if end < r[0] < ended]  # and the sampler kept sampling during the check


def test_header_attribution_when_only_x_chaos_run_id_is_forwarded(system: System, resilient_url: str) -> None:
    cfg = system.configuration
    tp.add_http_error("payments", status=503, configuration=cfg)
    result = retries(resilient_url, "payments", requests=1, configuration=cfg)
    assert verdict(result) == "passed", result
    assert result["evidence"]["attribution"] == "header" and result["evidence"]["by_header"] == 3


def test_time_attribution_with_traffic_it_cannot_explain_is_inconclusive(system: System) -> None:
    cfg = system.configuration
    tp.add_http_error("payments", status=503, configuration=cfg)
    with fragile(system, forward_run_id=False, delay_s=0.1) as url:
        stop = threading.Event()

        def other_user() -> None:  # another client of the same service, not squall's sampler
            with httpx.Client() as client:
                for _ in range(200):
                    if stop.wait(0.03):
                        return
                    client.get(url, timeout=5)

        thread = threading.Thread(target=other_user)
        thread.start()
        try:
            result = retries(url, "payments", requests=3, configuration=cfg)
        finally:
            stop.set()
            thread.join(10)
    assert verdict(result) == "inconclusive", result
    assert "cannot explain by its own requests" in result["summary"]
    assert result["evidence"]["unexplained"] > 0


# -- finding 2: "no retries" judged per request, not on the total ---------------------------------------


def test_retries_are_judged_per_request(system: System) -> None:
    cfg = system.configuration
    tp.add_http_error("payments", status=503, configuration=cfg)
    with resilient(system, retry_budget=2, breaker_threshold=NO_BREAKER) as url:
        result = retries(url, "payments", requests=3, configuration=cfg)
    assert result["evidence"]["attempts_per_request"] == [3, 1, 1]
    assert verdict(result) == "failed", result
    assert "request(s) [2, 3] of 3 got a failed attempt and did not retry" in result["summary"]


def test_a_storm_is_per_request(system: System) -> None:
    cfg = system.configuration
    tp.add_http_error("payments", status=503, configuration=cfg)
    with resilient(system, max_attempts=6, backoff="constant", backoff_base_s=0.01, breaker_threshold=NO_BREAKER) as url:
        result = retries(url, "payments", requests=2, max_attempts_per_request=5, configuration=cfg)
    assert verdict(result) == "failed", result
    assert "request 1 made 6 attempts" in result["summary"] and "request 2 made 6 attempts" in result["summary"]


# -- finding 3: backoff must grow by a ratio, judged at full precision -----------------------------------


def test_constant_backoff_with_drift_is_not_growing(system: System) -> None:
    cfg = system.configuration
    tp.add_http_error("payments", status=503, configuration=cfg)
    # 0.30, 0.31, 0.32 s: "last gap > first gap" held, yet this is a constant backoff
    with resilient(system, max_attempts=4, backoff="constant", backoff_base_s=0.3, backoff_step_s=0.01,
                   breaker_threshold=NO_BREAKER) as url:
        result = retries(url, "payments", requests=2, expect_backoff=True, configuration=cfg)
    assert verdict(result) == "failed", result
    assert "do not grow" in result["summary"]
    assert result["evidence"]["backoff"]["median_growth"] < 1.5


def test_growth_just_short_of_the_minimum_is_unclear_not_a_failure(system: System) -> None:
    """What a busy host does to real exponential backoff (50 ms then 100 ms measured as 1.39×): not judged."""
    cfg = system.configuration
    tp.add_http_error("payments", status=503, configuration=cfg)
    # 0.40, 0.56 s: growth 1.4, below the 1.5 asked for but past the halfway mark (1.25)
    with resilient(system, max_attempts=3, backoff="constant", backoff_base_s=0.4, backoff_step_s=0.16,
                   breaker_threshold=NO_BREAKER) as url:
        result = retries(url, "payments", requests=2, expect_backoff=True, configuration=cfg)
    assert verdict(result) == "inconclusive", result
    assert "backoff unclear" in result["summary"]
    assert 1.25 <= result["evidence"]["backoff"]["median_growth"] < 1.5


def test_exponential_backoff_grows(system: System) -> None:
    cfg = system.configuration
    tp.add_http_error("payments", status=503, configuration=cfg)
    with resilient(system, max_attempts=4, backoff_base_s=0.1, breaker_threshold=NO_BREAKER) as url:
        result = retries(url, "payments", requests=2, expect_backoff=True, configuration=cfg)
    assert verdict(result) == "passed", result  # 0.1, 0.2, 0.4 s: growth 4, judged against 1.5
    assert len(result["evidence"]["backoff"]["per_request"]) == 2


# -- finding 5: recovery measured from the heal, and only when there was something to recover from --------


def test_recovery_after_a_heal_longer_ago_than_within_s_fails(system: System) -> None:
    cfg = system.configuration
    with fragile(system, recover_after_s=1.5) as url:
        tp.partition("payments", configuration=cfg)
        assert httpx.get(url, timeout=5).status_code == 502  # the partition breaks the service
        tp.heal(configuration=cfg)
        assert httpx.get(url, timeout=5).status_code == 503  # reconnecting: it needs 1.5 s from now
        time.sleep(1.2)  # the check starts 1.2 s after the heal and sees it recover 0.3 s later
        result = recovery(url, within_s=1.0, min_success_rate=1.0, window=2, configuration=cfg)
    assert verdict(result) == "failed", result
    assert "longer than within_s=1 s; recovery can no longer be measured" in result["summary"]


def test_recovery_slower_than_within_s_fails(system: System) -> None:
    cfg = system.configuration
    with fragile(system, recover_after_s=2.0) as url:
        tp.partition("payments", configuration=cfg)
        assert httpx.get(url, timeout=5).status_code == 502
        tp.heal(configuration=cfg)
        result = recovery(url, within_s=1.0, min_success_rate=1.0, window=2, configuration=cfg)
    assert verdict(result) == "failed", result
    assert "not back inside objectives within 1 s of the heal" in result["summary"]


def test_recovery_of_a_service_the_fault_never_hurt_is_inconclusive(system: System, resilient_url: str) -> None:
    cfg = system.configuration
    with sampling(resilient_url, interval_s=0.1, timeout_s=2.0):
        tp.partition("payments", configuration=cfg)
        time.sleep(0.8)  # the fallback answers every sample successfully
        tp.heal(configuration=cfg)
        result = recovery(resilient_url, within_s=5, min_success_rate=1.0, window=3, configuration=cfg)
        relaxed = recovery(resilient_url, within_s=5, min_success_rate=1.0, window=3, expect_impact=False,
                           configuration=cfg)
    assert verdict(result) == "inconclusive", result
    assert "never pushed" in result["summary"]
    assert verdict(relaxed) == "passed" and "inside objectives throughout" in relaxed["summary"]


def test_recovery_without_a_heal_is_inconclusive_unless_measured_from_the_check(system: System, resilient_url: str) -> None:
    result = recovery(resilient_url, within_s=2, window=2, configuration=system.configuration)
    assert verdict(result) == "inconclusive" and "no heal of this run" in result["summary"]
    measured = recovery(resilient_url, within_s=2, window=2, measure_from="check", configuration=system.configuration)
    assert verdict(measured) == "passed" and measured["evidence"]["measured_from"] == "the start of the check"


# -- finding 4: attempts the HTTP events cannot show (connections reset before a request head) --------------


def test_no_breaker_under_reset_peer_fails(system: System) -> None:
    cfg = system.configuration
    tp.reset_peer("payments", timeout_ms=0, configuration=cfg)
    with fragile(system) as url:
        result = circuit_breaker(url, "payments", max_dependency_calls=4, requests=20, heal=True, configuration=cfg)
    assert verdict(result) == "failed", result
    # every request's connection counted (aiohttp dials a second time after some resets): none missed
    assert result["evidence"]["dependency_attempts"] >= 20
    assert result["evidence"]["connection_attempts"] == result["evidence"]["dependency_attempts"]
    assert "calls never stopped" in result["summary"]


def test_a_breaker_under_reset_peer_passes(system: System) -> None:
    cfg = system.configuration
    tp.reset_peer("payments", timeout_ms=0, configuration=cfg)
    # threshold 3 calls, one attempt each; aiohttp may dial a reset connection twice: at most 6 attempts
    with resilient(system, max_attempts=1) as url:
        result = circuit_breaker(url, "payments", max_dependency_calls=6, requests=10, heal=True, cooldown_s=1.0,
                                 configuration=cfg)
    assert verdict(result) == "passed", result
    assert 3 <= result["evidence"]["attempts_before_open"] <= 6
    assert result["evidence"]["resume_after_last_failure_s"] >= 0.9


def test_a_partition_makes_the_breaker_check_inconclusive(system: System) -> None:
    cfg = system.configuration
    tp.partition("payments", configuration=cfg)
    # A disabled proxy does not listen: refused calls never reach it, so "no calls" proves nothing.
    with fragile(system) as url:
        result = circuit_breaker(url, "payments", max_dependency_calls=3, requests=6, heal=True, configuration=cfg)
    assert verdict(result) == "inconclusive", result
    assert 'proxy "payments" is disabled (a partition)' in result["summary"]
    assert result["evidence"]["healed"]  # heal: true still heals


# -- finding 6: the breaker's verdict does not depend on how fast the requests run ------------------------


def test_a_correct_breaker_passes_on_a_slow_machine(system: System) -> None:
    cfg = system.configuration
    tp.add_http_error("payments", status=503, configuration=cfg)
    # Every request spends 0.15 s in the service (a loaded machine): the 12 requests take longer than the
    # breaker's 1 s cool-down, so half-open trials happen during the check; they are not "too many calls".
    with resilient(system, delay_s=0.15) as url:
        result = circuit_breaker(url, "payments", max_dependency_calls=9, requests=12, cooldown_s=1.0,
                                 configuration=cfg)
    assert verdict(result) == "passed", result
    assert result["evidence"]["attempts_before_open"] == 9
    assert result["evidence"]["half_open_trials"]  # at least one trial, ≥ 1 s after the previous attempt
    assert all(t["gap_s"] is None or t["gap_s"] >= 0.9 for t in result["evidence"]["half_open_trials"])


def test_no_breaker_under_a_hang_fails_whatever_the_request_spacing(system: System) -> None:
    cfg = system.configuration
    tp.add_timeout("payments", 0, configuration=cfg)
    # Each request hangs until the verifier gives up (0.6 s): attempts 0.6 s apart look like half-open
    # trials of a breaker with a 0.5 s cool-down, yet no request was ever answered.
    with fragile(system) as url:
        result = circuit_breaker(url, "payments", max_dependency_calls=2, requests=5, timeout_s=0.6, configuration=cfg)
        tp.heal(configuration=cfg)  # before the service stops: its hung calls end
    assert verdict(result) == "failed", result
    assert "calls did not fail fast: request(s) [3, 4, 5]" in result["summary"]


def test_no_breaker_fails_however_slow_the_requests(system: System) -> None:
    cfg = system.configuration
    tp.add_http_error("payments", status=503, configuration=cfg)
    with fragile(system, delay_s=0.05) as url:
        result = circuit_breaker(url, "payments", max_dependency_calls=4, requests=10, configuration=cfg)
    assert verdict(result) == "failed", result
    assert "calls never stopped" in result["summary"]
