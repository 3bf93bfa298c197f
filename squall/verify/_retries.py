"""Verifier: the service retries a failing dependency — every failed request retried, bounded, with backoff."""

from itertools import pairwise
from statistics import median
from typing import Any

from squall import config
from squall.activity import activity
from squall.errors import ExperimentInvalid, SquallError
from squall.probes.proxy import fetch_stats
from squall.toxiproxy_client import ToxiproxyClient
from squall.verify._common import check_count, check_seconds, event_brief, failed_attempt, result
from squall.verify._observe import QUIET_S, Call, Observer

__all__ = ["retries"]

#: a retry may come this much earlier than Retry-After asked and still count as honouring it (clock granularity)
RETRY_AFTER_TOLERANCE = 0.95


def _gaps(attempts: list[dict[str, Any]]) -> list[float]:
    """Seconds from the end of each attempt to the start of the next one, at full precision."""
    return [float(b["ts"]) - (float(a["ts"]) + float(a.get("duration_ms") or 0) / 1000.0) for a, b in pairwise(attempts)]


def _http_errors(api: str, proxy: str) -> list[dict[str, Any]]:
    """The attributes of the proxy's http_error toxics (empty when none, or unknown)."""
    try:
        with ToxiproxyClient(api, timeout_s=2.0) as client:
            toxics = client.toxics(proxy)
    except SquallError:
        return []
    return [dict(t.get("attributes") or {}) for t in toxics if t.get("type") == "http_error"]


def _injected_retry_after(toxics: list[dict[str, Any]]) -> float | None:
    """The Retry-After (s) the proxy's http_error toxic puts on its answers; None when none does (or unknown)."""
    values = [float(t.get("retry_after") or 0) for t in toxics]
    return max((v for v in values if v > 0), default=None)


def _spent_before(api: str, proxy: str, toxics: list[dict[str, Any]], first: float) -> str | None:
    """Why no attempt failed when the fault answers only the first N requests and other traffic took them all."""
    limits = [int(t.get("first_n") or 0) for t in toxics]
    if not limits or not all(limits):
        return None  # no fault, or one that answers a share of every request: not spent
    events = (fetch_stats(api, proxy, since=first - 60).get("http") or {}).get("events") or []
    before = sum(1 for e in events if e.get("injected") and float(e["ts"]) < first)
    if before < sum(limits):
        return None
    return (f"the fault was spent before the verifier's requests: http_error answers only the first "
            f"{sum(limits)} request(s), and the dependency had given {before} injected answer(s) to other "
            "traffic (e.g. the control's SLI sampler) before its first request: retries not observable "
            "(inject a fault that answers every request, e.g. a 429 with Retry-After)")


def _growth(gaps: list[float]) -> float:
    """Last gap / first gap (infinite when the first retry was immediate and a later one waited)."""
    first, last = gaps[0], gaps[-1]
    if first <= 0:
        return float("inf") if last > 0 else 1.0
    return last / first


def _unclear_from(min_growth: float) -> float:
    """Median growth from which (up to `min_growth`) backoff is unclear rather than absent: halfway from 1."""
    return 1 + (min_growth - 1) / 2


def _retry_after_waits(call: Call, carries: bool) -> list[float]:
    """For each injected answer carrying Retry-After that was followed by another attempt: the wait before it."""
    if not carries:
        return []
    gaps = _gaps(call.attempts)
    return [g for a, g in zip(call.attempts, gaps, strict=False) if a.get("injected") and a.get("status") in (429, 503)]


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
    backoff_min_growth: float = 1.5,
) -> dict:
    """Check that `url` retries its failing dependency behind `proxy`: every request whose attempt failed is retried, at most `max_attempts_per_request` times.

    Run it while a fault makes the dependency fail (e.g. add_http_error or
    reset_peer). Sends `requests` requests one after another and reads each
    attempt the dependency saw from the embedded proxy's stats (HTTP requests,
    and connections reset before a request head arrived). Judged per request.
    `expect_backoff`: in each request with at least three attempts the last gap
    between attempts is compared with the first (full precision); the median
    of these ratios must be at least `backoff_min_growth` (a jitter tolerance:
    1.5 tells doubling with jitter from a constant wait). A median below it
    but at least halfway there (1.25 for 1.5) is inconclusive, not failed: a
    delay the service adds to every retry (a busy host) flattens growth that much.
    `retry_after_s`: after each injected answer carrying Retry-After, the next
    attempt waits at least this long (× 0.95).
    Inconclusive when the mechanism cannot be observed (no attempt failed, no
    request retried twice for backoff) or the traffic cannot be attributed.
    """
    check_count("requests", requests, 1, 100)
    check_count("max_attempts_per_request", max_attempts_per_request, 2, 100)
    check_seconds("timeout_s", timeout_s)
    if retry_after_s is not None and (isinstance(retry_after_s, bool) or not isinstance(retry_after_s, (int, float)) or retry_after_s <= 0):
        raise ExperimentInvalid(f"retry_after_s={retry_after_s!r} (expected a positive number of seconds, or leave it out)")
    if isinstance(backoff_min_growth, bool) or not isinstance(backoff_min_growth, (int, float)) or not 1 <= backoff_min_growth <= 100:
        raise ExperimentInvalid(f"backoff_min_growth={backoff_min_growth!r} (expected a ratio from 1 to 100, e.g. 1.5)")
    api = config.toxiproxy_url(configuration)
    toxics = _http_errors(api, proxy)
    injected_ra = _injected_retry_after(toxics)
    # calls still caused by earlier requests wait out a Retry-After: wait for quiet longer than it
    quiet_s = QUIET_S + (injected_ra or 0.0)
    with Observer("retries", url, configuration, proxy, headers, quiet_s=quiet_s) as obs:
        for _ in range(requests):
            obs.call(timeout_s)
        counts = obs.attribute()
    calls = obs.calls
    per_request = [len(c.attempts) for c in calls]
    reached = [i for i, c in enumerate(calls) if c.attempts]
    failed_first = [i for i in reached if failed_attempt(calls[i].attempts[0])]
    not_retried = [i + 1 for i in failed_first if len(calls[i].attempts) < 2]
    storms = [(i + 1, n) for i, n in enumerate(per_request) if n > max_attempts_per_request]
    gaps = [_gaps(c.attempts) for c in calls]
    evidence: dict[str, Any] = {
        "requests": requests, "attempts": sum(per_request), "attempts_per_request": per_request,
        "max_attempts_per_request": max_attempts_per_request, **counts,
        "requests_not_retried": not_retried,
        "client": [{"t": round(c.start, 3), "status": c.sample.status, "latency_ms": c.sample.latency_ms, "error": c.sample.error} for c in calls],
        "gaps_s": [[round(g, 6) for g in gs] for gs in gaps],
        "attempt_events": [[event_brief(e) for e in c.attempts] for c in calls],
    }
    unsure: list[str] = []
    problems: list[str] = []
    why = obs.inconclusive_reason(counts)
    if why:
        unsure.append(why)
    if not reached:
        unsure.append(f"none of {requests} request(s) reached the dependency: retries not observable")
    elif not failed_first:
        unsure.append(_spent_before(api, proxy, toxics, min(c.start for c in [*obs.discarded, *calls]))
                      or "no attempt failed (is the fault in place?): retries not observable")
    if not_retried:
        problems.append(f"request(s) {not_retried} of {requests} got a failed attempt and did not retry (attempts per request: {per_request})")
    if storms:
        problems.append("a retry storm: " + ", ".join(f"request {i} made {n} attempts" for i, n in storms)
                        + f" (> {max_attempts_per_request})")
    carries = retry_after_s is not None and injected_ra is not None
    if expect_backoff:
        plain = []
        for c, gs in zip(calls, gaps, strict=True):
            skip = {j for j, a in enumerate(c.attempts[:-1]) if carries and a.get("injected")}
            plain.append([g for j, g in enumerate(gs) if j not in skip])
        judged = [(i + 1, g) for i, g in enumerate(plain) if len(g) >= 2]
        ratios = [(i, _growth(g)) for i, g in judged]
        evidence["backoff"] = {"min_growth": backoff_min_growth,
                               "per_request": [{"request": i, "gaps_s": [round(x, 6) for x in g],
                                                "growth": round(r, 3) if r != float("inf") else "inf"}
                                               for (i, g), (_, r) in zip(judged, ratios, strict=True)]}
        evidence["backoff_gaps_s"] = [[round(x, 6) for x in g] for _, g in judged]  # as before: per judged request
        flat = [(i, r) for i, r in ratios if r < backoff_min_growth]
        typical = median(r for _, r in ratios) if ratios else None
        evidence["backoff"]["median_growth"] = round(typical, 3) if typical not in (None, float("inf")) else typical
        if not judged:
            unsure.append("backoff not observable: no request retried at least twice")
        elif typical is not None and typical < backoff_min_growth and typical >= _unclear_from(backoff_min_growth):
            # The service's own scheduling delay adds to every gap the proxy measures and flattens the growth
            # (on a busy host: 50 ms then 100 ms measured as 128 ms then 178 ms, 1.39×); below the minimum but
            # this close to it, weak backoff and none cannot be told apart: not judged either way
            unsure.append(f"backoff unclear: the gaps grew {typical:.2f}× (median), between "
                          f"{_unclear_from(backoff_min_growth):.2f}× and the {backoff_min_growth}× asked for; a delay "
                          "the service adds to every retry (e.g. a busy host) flattens growth this much, so weak "
                          "backoff cannot be told from none here")
        elif typical is not None and typical < backoff_min_growth:
            # the median request decides: one request's jitter (or a loaded machine) cannot pass or fail it alone
            problems.append("gaps between attempts do not grow (no backoff): "
                            + ", ".join(f"request {i}: last gap {r:.2f}× the first" for i, r in flat)
                            + f" (median {typical:.2f}×, expected ≥ {backoff_min_growth}×)")
    if retry_after_s is not None:
        waits = [(i + 1, w) for i, c in enumerate(calls) for w in _retry_after_waits(c, carries)]
        evidence["retry_after"] = {"expected_s": retry_after_s, "injected_s": injected_ra,
                                   "waits_s": [[i, round(w, 6)] for i, w in waits]}
        evidence["gaps_after_retry_after_s"] = [round(w, 6) for _, w in waits]
        early = [(i, w) for i, w in waits if w < retry_after_s * RETRY_AFTER_TOLERANCE]
        if injected_ra is None:
            unsure.append("Retry-After not observable: the proxy's faults put no Retry-After on their answers")
        elif not waits:
            unsure.append("Retry-After not observable: no retry followed an injected answer carrying Retry-After")
        elif early:
            problems.append("Retry-After not honoured: " + ", ".join(f"request {i} retried {w:.3f} s after" for i, w in early)
                            + f" an answer with Retry-After {retry_after_s:g} s")
    if unsure and (why or not problems):
        return result("retries", "inconclusive", "; ".join(unsure), evidence)
    if problems:
        return result("retries", False, "; ".join(problems), evidence)
    retried = sum(1 for n in per_request if n >= 2)
    extra = f" with backoff growing ≥ {backoff_min_growth}×" if expect_backoff else ""
    extra += f", honouring Retry-After {retry_after_s:g} s" if retry_after_s else ""
    return result("retries", True,
                  f"every request with a failed attempt retried ({retried} of {requests}; attempts per request "
                  f"{per_request}, at most {max(per_request)}){extra}", evidence)
