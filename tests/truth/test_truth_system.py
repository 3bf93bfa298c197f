"""The truth the matrix relies on: the frontend's mechanisms do what its cells say, by its own record (not squall's).

Each test reads the service's own log of backend attempts (``GET /debug/calls``)
or what the backend saw, never a squall verifier, so that a wrong verdict in
the matrix is squall's, not the test system's.
"""

import time
import uuid
from typing import Any

import httpx
import pytest
from truth_runner import PROXY, Running, running_system
from truth_service import Mechanisms

from squall.actions import toxiproxy as actions


def _get(system: Running, headers: dict[str, str] | None = None, timeout: float = 5.0) -> tuple[httpx.Response, list]:
    """One client request and the backend attempts the frontend logged for it."""
    rid = uuid.uuid4().hex
    with httpx.Client(trust_env=False) as client:
        response = client.get(system.front, headers={"X-Request-Id": rid, **(headers or {})}, timeout=timeout)
        (call,) = client.get(f"{system.base}/debug/calls", params={"request_id": rid}, timeout=5.0).json()
    return response, call["attempts"]


def _gaps(attempts: list) -> list[float]:
    return [nxt[0] - prev[1] for prev, nxt in zip(attempts, attempts[1:], strict=False)]


@pytest.mark.parametrize(("retry", "attempts", "min_gaps"), [
    ("none", 1, []),
    ("exponential", 3, [0.04, 0.08]),  # 50 ms then 100 ms, ±20 % jitter: a sleep never ends early
    ("constant", 3, [0.1, 0.1]),
    ("storm", 10, [0.0] * 9),
])
def test_retry_policies_make_the_attempts_they_claim(retry: str, attempts: int, min_gaps: list[float]) -> None:
    m = Mechanisms(retry=retry, max_attempts=3, backoff_s=0.1 if retry == "constant" else 0.05, fallback="all_errors")  # type: ignore[arg-type]
    with running_system(m) as system:
        actions.add_http_error(proxy=PROXY, status=503, configuration=system.cfg)
        for _ in range(2):
            response, log = _get(system)
            assert response.headers.get("X-Fallback") == "true"
            assert len(log) == attempts and all(a[2] == "status 503" for a in log)
            assert all(g >= low for g, low in zip(_gaps(log), min_gaps, strict=True)), _gaps(log)
            if retry == "exponential":
                assert _gaps(log)[1] < 1.0 and _gaps(log)[0] < 1.0  # backoff, not a hang
        actions.heal(proxy=PROXY, configuration=system.cfg)


@pytest.mark.parametrize("honour", [True, False])
def test_retry_after_is_honoured_or_ignored(honour: bool) -> None:
    m = Mechanisms(retry="exponential", max_attempts=2, honour_retry_after=honour, fallback="all_errors")
    with running_system(m) as system:
        actions.add_http_error(proxy=PROXY, status=503, retry_after_s=1, configuration=system.cfg)
        _, log = _get(system)
        (gap,) = _gaps(log)
        assert (gap >= 1.0) if honour else (gap < 0.9), gap
        actions.heal(proxy=PROXY, configuration=system.cfg)


@pytest.mark.parametrize("mode", ["normal", "never_closes"])
def test_the_breaker_opens_after_its_threshold_and_closes_only_when_it_is_normal(mode: str) -> None:
    m = Mechanisms(timeout_s=0.5, breaker=mode, breaker_threshold=3, breaker_cooldown_s=1.0, fallback="all_errors")  # type: ignore[arg-type]
    with running_system(m) as system:
        actions.add_http_error(proxy=PROXY, status=503, configuration=system.cfg)
        before = time.monotonic()
        logs = [_get(system)[1] for _ in range(3)]
        opened = time.monotonic()  # the third failure opened it (between `before` and now)
        logs += [_get(system)[1] for _ in range(3)]
        assert [len(log) for log in logs[:3]] == [1, 1, 1]
        starts = [a[0] for log in logs for a in log]
        if mode == "never_closes":
            assert len(starts) == 3  # open for good: no call at all
        else:  # open: only a half-open trial, at least a cool-down after the call before it
            assert all(b - a >= 1.0 for a, b in zip(starts[2:], starts[3:], strict=False)), starts
        actions.heal(proxy=PROXY, configuration=system.cfg)
        resumed = None
        while time.monotonic() - opened < 2.5 and resumed is None:  # cool-down 1 s + margin; about 20 requests
            _, log = _get(system)
            if log and log[-1][2] == "ok":
                resumed = time.monotonic()
            time.sleep(0.1)
        if mode == "normal":
            assert resumed is not None and resumed - before >= 1.0  # never before its cool-down
        else:
            assert resumed is None


def test_a_timeout_abandons_a_hung_backend_and_no_timeout_waits() -> None:
    with running_system(Mechanisms(timeout_s=0.3, fallback="all_errors")) as system:
        actions.add_timeout(proxy=PROXY, configuration=system.cfg)
        response, log = _get(system)
        assert response.headers.get("X-Fallback") == "true"
        assert log[0][2] == "TimeoutError" or "Timeout" in log[0][2]
        assert 0.3 <= log[0][1] - log[0][0] < 3.0
        actions.heal(proxy=PROXY, configuration=system.cfg)
    with running_system(Mechanisms(timeout_s=None, fallback="all_errors")) as system:
        actions.add_timeout(proxy=PROXY, configuration=system.cfg)
        with pytest.raises(httpx.ReadTimeout):
            _get(system, timeout=1.0)
        actions.heal(proxy=PROXY, configuration=system.cfg)


@pytest.mark.parametrize(("fallback", "fault", "status", "marked"), [
    ("all_errors", "reset_peer", 200, True),
    ("http_errors", "reset_peer", 502, False),
    ("http_errors", "add_http_error", 200, True),
    ("none", "partition", 502, False),
])
def test_fallback_answers_by_its_mode(fallback: str, fault: str, status: int, marked: bool) -> None:
    with running_system(Mechanisms(timeout_s=0.5, fallback=fallback)) as system:  # type: ignore[arg-type]
        getattr(actions, fault)(proxy=PROXY, configuration=system.cfg)
        response, _ = _get(system)
        assert response.status_code == status and (response.headers.get("X-Fallback") == "true") is marked
        actions.heal(proxy=PROXY, configuration=system.cfg)


def test_an_ejected_backend_is_used_again_only_after_it_stayed_healthy_for_the_readmission_time() -> None:
    with running_system(Mechanisms(timeout_s=0.5, eject_after=2, readmit_after_s=1.0)) as system:
        actions.add_http_error(proxy=PROXY, status=503, configuration=system.cfg)
        assert [_get(system)[0].status_code for _ in range(3)] == [503, 503, 502]  # ejected: no call at all
        actions.heal(proxy=PROXY, configuration=system.cfg)
        healed = time.monotonic()
        back = None
        while time.monotonic() - healed < 5.0 and back is None:  # bounded: about 50 requests
            if _get(system)[0].status_code == 200:
                back = time.monotonic() - healed
            time.sleep(0.1)
        assert back is not None and back >= 1.0


@pytest.mark.parametrize("trace", ["none", "run_id", "traceparent"])
def test_trace_forwarding_sends_what_each_setup_sends(trace: str) -> None:
    parent = "00-" + "ab" * 16 + "-" + "cd" * 8 + "-01"
    incoming = {"traceparent": parent, "baggage": "squall.run_id=r1", "X-Chaos-Run-Id": "r1-retries-1"}
    with running_system(Mechanisms(trace=trace)) as system:  # type: ignore[arg-type]
        response, _ = _get(system, headers=incoming)
    seen: dict[str, Any] = response.json()["item"]["headers_seen"]
    if trace == "none":
        assert seen == {}
    elif trace == "run_id":
        assert seen == {"X-Chaos-Run-Id": "r1-retries-1"}
    else:
        assert set(seen) == {"traceparent", "baggage"} and seen["baggage"] == "squall.run_id=r1"
        version, trace_id, span, flags = seen["traceparent"].split("-")
        assert (version, trace_id, flags) == ("00", "ab" * 16, "01") and span != "cd" * 8  # same trace, new span
