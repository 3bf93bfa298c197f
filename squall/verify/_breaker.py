"""Verifier: under a persistent dependency failure the service's circuit breaker opens, and closes after healing."""

import time
from typing import Any

from squall.actions import toxiproxy as toxiproxy_actions
from squall.activity import activity
from squall.probes.proxy import fetch_stats
from squall.verify._common import check_count, check_seconds, event_brief, failed_attempt, result
from squall.verify._observe import FAILED_CONN_OUTCOMES, Call, Observer

__all__ = ["circuit_breaker"]

#: no half-open trial can follow a failure faster than this, whatever the breaker's cool-down
RESUME_FLOOR_S = 0.05
#: a trial may come this much earlier than the declared cool-down (clock granularity, timestamps taken at request heads)
COOLDOWN_TOLERANCE = 0.9


def _phases(calls: list[Call], max_calls: int, floor: float) -> dict[str, Any]:
    """Split the requests into the closed phase (up to `max_calls` attempts) and half-open trials after it.

    A request answered without any attempt shows the breaker open; one with no
    attempt and no answer either does not (it hung elsewhere). A request that
    reaches the dependency once the closed phase has used its `max_calls`
    attempts, or after a short-circuit, can only be a half-open trial: it must come at
    least `floor` seconds after the previous attempt. Requests are judged by
    order and cool-down, not by how many fit into some stretch of time, so a
    slow machine cannot turn a correct breaker into a failure.
    """
    closed, last, shorted, too_late = 0, None, None, None
    trials: list[tuple[int, float]] = []
    unanswered: list[int] = []  # no attempt, yet no answer: not a short-circuit (an open breaker answers at once)
    for i, c in enumerate(calls, start=1):
        if not c.attempts:
            if c.sample.status is None:
                if shorted is not None or closed >= max_calls:
                    unanswered.append(i)
            else:
                shorted = shorted or i
            continue
        first = float(c.attempts[0]["ts"])
        if shorted is None and closed < max_calls:
            closed += len(c.attempts)
            if closed > max_calls and too_late is None:
                too_late = i
        else:
            trials.append((i, first - last if last is not None else float("inf")))
            if c.sample.status is None and shorted is None:
                unanswered.append(i)  # a trial may hang, but only a breaker seen open excuses it
        last = float(c.attempts[-1]["ts"])
    early = [(i, g) for i, g in trials if g < floor]
    return {"closed": closed, "first_short_circuit": shorted, "too_late": too_late, "trials": trials, "early": early,
            "unanswered": unanswered}


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
    cooldown_s: float = 0.5,
) -> dict:
    """Check that `url` stops calling its failing dependency behind `proxy` (fail fast), and with `heal` that calls resume.

    Run it while a fault makes the dependency fail. Sends `requests` requests;
    at most `max_dependency_calls` dependency attempts (the breaker's failure
    threshold, times the attempts per request if the service also retries) may
    come before the first request the service answers without calling the
    dependency (the breaker is open). Once the threshold is reached, a request
    that got no answer at all fails the check (an open breaker answers at
    once), unless it was a trial after the breaker was seen open. After that,
    a request may reach the dependency only as a half-open trial, at least
    `cooldown_s` (the breaker's cool-down; the default 0.5 s assumes it is at
    least half a second) after the previous attempt, so the verdict does not
    depend on how fast the requests run. Attempts are counted from HTTP requests and from connections reset
    before a request head arrived. With `heal: true` the verifier then heals
    `proxy` itself (the ledger records it) and checks that within
    `resume_within_s` a request succeeds *through* the dependency again,
    at least `cooldown_s` after the last failed attempt (half-open, then closed).
    The control's SLI sampling is held for the whole check: the breaker is
    shared state, and connection attempts carry no ids.
    """
    check_count("max_dependency_calls", max_dependency_calls, 0, 10_000)
    check_count("requests", requests, 1, 500)
    check_seconds("resume_within_s", resume_within_s)
    check_seconds("timeout_s", timeout_s)
    check_seconds("cooldown_s", cooldown_s, 3600)
    with Observer("circuit_breaker", url, configuration, proxy, headers, hold="always", listen_gap_s=0.1) as obs:
        for _ in range(requests):
            obs.call(timeout_s)
        counts = obs.attribute()
        calls = list(obs.calls)
        floor = max(RESUME_FLOOR_S, cooldown_s * COOLDOWN_TOLERANCE)
        ph = _phases(calls, max_dependency_calls, floor)
        total = sum(len(c.attempts) for c in calls)
        evidence: dict[str, Any] = {
            "requests": requests, "max_dependency_calls": max_dependency_calls, "cooldown_s": cooldown_s,
            "dependency_attempts": total,
            "attempts_per_request": [len(c.attempts) for c in calls],
            "attempts_before_open": ph["closed"],
            "first_request_without_attempt": ph["first_short_circuit"],
            "half_open_trials": [{"request": i, "gap_s": round(g, 4) if g != float("inf") else None} for i, g in ph["trials"]],
            **counts,
            "client_statuses": [c.sample.status for c in calls],
        }
        unsure: list[str] = []
        problems: list[str] = []
        why = obs.inconclusive_reason(counts)
        if why:
            unsure.append(why)
        if not counts.get("connection_records"):
            evidence["note"] = "this proxy keeps no connection records: resets before a request head are not counted"
        if ph["first_short_circuit"] is None and ph["early"]:
            problems.append(f"calls never stopped: all {requests} requests reached the dependency ({total} attempts; "
                            f"after {max_dependency_calls} a breaker lets through only trials ≥ {cooldown_s:g} s apart): "
                            "the breaker did not open")
        elif ph["too_late"] is not None:
            problems.append(f"the dependency saw {ph['closed']} attempts before calls stopped (> {max_dependency_calls}): "
                            "the breaker opened too late")
        elif ph["early"]:
            problems.append("calls did not stay stopped: " + ", ".join(
                f"request {i} reached the dependency {g:.3f} s after the previous attempt" for i, g in ph["early"])
                + f" (a half-open trial waits the cool-down, ≥ {cooldown_s:g} s)")
        elif ph["unanswered"]:
            problems.append(f"calls did not fail fast: request(s) {ph['unanswered']} got no answer within {timeout_s:g} s "
                            "after the breaker's threshold was reached (a service whose breaker is open answers at "
                            "once, with a fallback or an error)")
        elif ph["first_short_circuit"] is None and not ph["trials"]:
            unsure.append(f"the breaker's threshold was not reached ({total} attempts in {requests} requests, "
                          f"≤ {max_dependency_calls}): send more requests")
        elif ph["first_short_circuit"] is None:
            unsure.append("the open breaker was not observable: every request after the threshold came after the "
                          "cool-down (send requests faster, or declare the breaker's cooldown_s)")
        trials = ph["trials"]
        before = ph["closed"]
        summary = (f"calls stopped after {before} dependency attempt(s) (≤ {max_dependency_calls}), "
                   f"{len(trials)} half-open trial(s) in {requests} requests")
        if heal and not unsure and not problems:
            resumed = _resume(obs, proxy, configuration, resume_within_s, timeout_s, cooldown_s, evidence)
            if isinstance(resumed, str):
                problems.append(resumed)
            else:
                summary += f"; resumed {resumed:.2f} s after healing"
        elif heal:
            evidence["healed"] = toxiproxy_actions.heal.__wrapped__(proxy, configuration=configuration)["healed"]  # type: ignore[attr-defined]
            evidence["resume"] = "not checked: the breaker did not open as expected"
    if unsure and (why or not problems):
        return result("circuit_breaker", "inconclusive", "; ".join(unsure), evidence)
    if problems:
        return result("circuit_breaker", False, "; ".join(problems), evidence)
    return result("circuit_breaker", True, summary, evidence)


def _last_failure(obs: Observer, proxy: str) -> float | None:
    """When the dependency last saw a failed attempt (any caller, last two minutes): a breaker's cool-down runs from there."""
    stats = fetch_stats(obs.api, proxy, since=time.time() - 120)
    times = [float(e["ts"]) for e in (stats.get("http") or {}).get("events") or [] if failed_attempt(e)]
    times += [float(r["ts"]) for r in stats.get("conn_events") or []
              if not r.get("requests") and r.get("outcome") in FAILED_CONN_OUTCOMES]
    mine = [float(a["ts"]) for c in obs.calls for a in c.attempts if failed_attempt(a)]
    return max(times + mine, default=None)


def _resume(obs: Observer, proxy: str, configuration: dict | None, within_s: float, timeout_s: float,
            cooldown_s: float, evidence: dict[str, Any]) -> float | str:
    """Heal `proxy`, then wait for a request that succeeds through the dependency; seconds after the heal, or the problem."""
    last_failed = _last_failure(obs, proxy)
    healed = toxiproxy_actions.heal.__wrapped__(proxy, configuration=configuration)  # type: ignore[attr-defined]
    healed_at = time.time()
    evidence["healed"] = healed["healed"]
    deadline = time.monotonic() + within_s
    while time.monotonic() < deadline:
        call = obs.call(timeout_s)
        obs.attribute(since=healed_at - 0.001)
        good = [e for e in call.attempts if not failed_attempt(e)]
        if call.sample.ok and good:
            at = float(good[0]["ts"])
            evidence["resumed_with"] = event_brief(good[0])
            evidence["resumed_after_s"] = round(call.end - healed_at, 3)
            since_failure = at - last_failed if last_failed is not None else None
            evidence["resume_after_last_failure_s"] = round(since_failure, 4) if since_failure is not None else None
            floor = max(RESUME_FLOOR_S, cooldown_s * COOLDOWN_TOLERANCE)
            if since_failure is not None and since_failure < floor:
                return (f"calls resumed {since_failure:.3f} s after the last failed attempt, sooner than a breaker's "
                        f"cool-down ({cooldown_s:g} s): the calls were never stopped by a breaker")
            return round(call.end - healed_at, 3)
        failed = [float(e["ts"]) for e in call.attempts if failed_attempt(e)]
        last_failed = max([last_failed or 0.0, *failed]) or None
        time.sleep(min(0.2, max(0.0, deadline - time.monotonic())))
    evidence["resumed_after_s"] = None
    return f"calls to the dependency did not resume within {within_s} s of healing"
