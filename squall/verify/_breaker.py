"""Verifier: under a persistent dependency failure the service's circuit breaker opens, and closes after healing."""

import time
from typing import Any

from squall.actions import toxiproxy as toxiproxy_actions
from squall.activity import activity
from squall.verify._observe import Observer, check_count, check_seconds, event_brief, result

__all__ = ["circuit_breaker"]


@activity(role="verify")
def circuit_breaker(
    url: str,
    proxy: str,
    max_dependency_calls: int,
    requests: int = 20,
    heal: bool = False,
    resume_within_s: float = 10.0,
    timeout_s: float = 5.0,
    headers: dict | None = None,
    configuration: dict | None = None,
) -> dict:
    """Check that `url` stops calling its failing dependency behind `proxy` (fail fast), and with `heal` that calls resume.

    Run it while a fault makes the dependency fail. Sends `requests` requests;
    the dependency may see at most `max_dependency_calls` attempts among them
    (the breaker's failure threshold, times the attempts per request if the
    service also retries). With `heal: true` the verifier then heals `proxy`
    itself (the ledger records it) and checks that within `resume_within_s`
    a request succeeds *through* the dependency again (half-open, then closed).
    """
    check_count("max_dependency_calls", max_dependency_calls, 0, 10_000)
    check_count("requests", requests, 1, 500)
    check_seconds("resume_within_s", resume_within_s)
    check_seconds("timeout_s", timeout_s)
    with Observer("circuit_breaker", url, configuration, proxy, headers) as obs:
        for _ in range(requests):
            obs.call(timeout_s)
        counts = obs.attribute()
        attempts = sum(len(c.attempts) for c in obs.calls)
        reached = [i for i, c in enumerate(obs.calls) if c.attempts]
        latencies = [c.sample.latency_ms for c in obs.calls]
        tail = latencies[len(latencies) // 2:]
        evidence: dict[str, Any] = {
            "requests": requests, "dependency_attempts": attempts, "max_dependency_calls": max_dependency_calls,
            "requests_that_reached_dependency": reached, **counts,
            "client_latency_ms_second_half": tail,
            "client_statuses": [c.sample.status for c in obs.calls],
        }
        problems = []
        if attempts > max_dependency_calls:
            problems.append(
                f"the dependency saw {attempts} attempts during {requests} requests "
                f"(> {max_dependency_calls}): the breaker did not open"
            )
        opened = f"calls stopped after {attempts} dependency attempt(s) in {requests} requests"
        if heal:
            healed = toxiproxy_actions.heal.__wrapped__(proxy, configuration=configuration)  # type: ignore[attr-defined]
            healed_at = time.time()
            evidence["healed"] = healed["healed"]
            resumed_after = None
            deadline = time.monotonic() + resume_within_s
            while time.monotonic() < deadline:
                call = obs.call(timeout_s)
                obs.attribute(since=healed_at)
                good = [e for e in call.attempts if e.get("status") is not None and 200 <= e["status"] < 400]
                if call.sample.ok and good:
                    resumed_after = round(call.end - healed_at, 3)
                    evidence["resumed_with"] = event_brief(good[-1])
                    break
                time.sleep(min(0.2, max(0.0, deadline - time.monotonic())))
            evidence["resumed_after_s"] = resumed_after
            if resumed_after is None:
                problems.append(f"calls to the dependency did not resume within {resume_within_s} s of healing")
            else:
                opened += f"; resumed {resumed_after:.2f} s after healing"
    if problems:
        return result("circuit_breaker", False, "; ".join(problems), evidence)
    return result("circuit_breaker", True, opened, evidence)
