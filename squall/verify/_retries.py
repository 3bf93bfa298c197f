"""Verifier: the service retries a failing dependency — more attempts than requests, bounded, with backoff."""

from itertools import pairwise
from typing import Any

from squall.activity import activity
from squall.errors import ExperimentInvalid
from squall.verify._observe import Observer, check_count, check_seconds, event_brief, result

__all__ = ["retries"]


def _gaps(attempts: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Time from the end of each attempt to the start of the next one."""
    out = []
    for prev, nxt in pairwise(attempts):
        prev_end = prev["ts"] + (prev.get("duration_ms") or 0) / 1000.0
        out.append({"gap_s": round(nxt["ts"] - prev_end, 3), "after_status": prev.get("status"),
                    "after_injected": bool(prev.get("injected"))})
    return out


@activity(role="verify")
def retries(
    url: str,
    proxy: str,
    requests: int = 3,
    max_attempts_per_request: int = 5,
    expect_backoff: bool = False,
    retry_after_s: float | None = None,
    timeout_s: float = 10.0,
    headers: dict | None = None,
    configuration: dict | None = None,
) -> dict:
    """Check that `url` retries its failing dependency behind `proxy`: more attempts than requests, at most `max_attempts_per_request` each.

    Run it while a fault makes the dependency fail (e.g. add_http_error or
    reset_peer). Sends `requests` requests one after another and reads each
    attempt the dependency saw from the embedded proxy's stats.
    `expect_backoff`: gaps between attempts of one request must grow.
    `retry_after_s`: after an injected error carrying Retry-After, the next
    attempt must wait at least this long (Retry-After honoured).
    """
    check_count("requests", requests, 1, 100)
    check_count("max_attempts_per_request", max_attempts_per_request, 2, 100)
    check_seconds("timeout_s", timeout_s)
    if retry_after_s is not None and (isinstance(retry_after_s, bool) or not isinstance(retry_after_s, (int, float)) or retry_after_s <= 0):
        raise ExperimentInvalid(f"retry_after_s={retry_after_s!r} (expected a positive number of seconds, or leave it out)")
    with Observer("retries", url, configuration, proxy, headers) as obs:
        for _ in range(requests):
            obs.call(timeout_s)
        counts = obs.attribute()
    per_request = [len(c.attempts) for c in obs.calls]
    attempts = sum(per_request)
    problems: list[str] = []
    if attempts <= requests:
        problems.append(f"the dependency saw {attempts} attempt(s) for {requests} request(s): no retries")
    if max(per_request, default=0) > max_attempts_per_request:
        problems.append(f"a request made {max(per_request)} attempts (> {max_attempts_per_request}: a retry storm)")
    gaps = [_gaps(c.attempts) for c in obs.calls]
    evidence: dict[str, Any] = {
        "requests": requests, "attempts": attempts, "attempts_per_request": per_request, **counts,
        "client": [{"status": c.sample.status, "latency_ms": c.sample.latency_ms, "error": c.sample.error} for c in obs.calls],
        "gaps": gaps,
        "attempt_events": [[event_brief(e) for e in c.attempts] for c in obs.calls],
    }
    if expect_backoff:
        plain = [[g["gap_s"] for g in gs if not (retry_after_s and g["after_injected"])] for gs in gaps]
        judged = [g for g in plain if len(g) >= 2]
        if not judged:
            problems.append("backoff not observable: no request retried at least twice")
        elif not all(g[-1] > g[0] for g in judged):
            problems.append(f"gaps between attempts do not grow (no backoff): {judged}")
        evidence["backoff_gaps_s"] = judged
    if retry_after_s:
        after = [g["gap_s"] for gs in gaps for g in gs if g["after_injected"] and g["after_status"] in (429, 503)]
        if not after:
            problems.append("Retry-After not observable: no retry followed an injected 429/503")
        elif min(after) < retry_after_s * 0.95:
            problems.append(f"retried {min(after):.2f} s after a Retry-After of {retry_after_s} s (not honoured)")
        evidence["gaps_after_retry_after_s"] = after
    if problems:
        return result("retries", False, "; ".join(problems), evidence)
    extra = " with growing backoff" if expect_backoff else ""
    extra += f", honouring Retry-After {retry_after_s} s" if retry_after_s else ""
    return result("retries", True, f"{attempts} dependency attempts for {requests} requests (max {max(per_request)} each){extra}", evidence)
