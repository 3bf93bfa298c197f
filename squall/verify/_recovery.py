"""Verifier: after the fault is healed, the service's SLIs are back inside their objectives within T seconds."""

import time
from collections.abc import Sequence
from typing import Any, Literal

from squall import config, quiet
from squall.activity import activity
from squall.errors import ExperimentInvalid
from squall.ledger import Entry, Ledger
from squall.percentiles import nearest_rank
from squall.probes.sli import summarize
from squall.verify._common import check_count, check_seconds, result
from squall.verify._observe import Observer

__all__ = ["recovery"]

#: "the fault never hurt" needs at least this many of the control's samples during the fault
MIN_IMPACT_SAMPLES = 3


def _last_heal(configuration: dict | None) -> Entry | None:
    """This run's most recently removed fault (the heal), from the ledger."""
    struck = [e for e in Ledger(config.ledger_path(configuration)).entries(config.run_id())
              if e.struck_at is not None and e.outcome != "failed-to-apply"]
    return max(struck, key=lambda e: e.struck_at or 0.0, default=None)


def _inside(points: Sequence[quiet.SliPoint], min_success_rate: float, max_p95_ms: float | None) -> bool:
    """Whether SLI samples meet the objectives (success rate, p95)."""
    rate = sum(1 for p in points if p.ok) / len(points)
    p95 = nearest_rank(sorted(p.latency_ms for p in points), 95)
    return rate >= min_success_rate and (max_p95_ms is None or (p95 or 0) <= max_p95_ms)


def _impact(url: str, fault: Entry, min_success_rate: float, max_p95_ms: float | None) -> dict[str, Any]:
    """Did the fault push `url` outside the objectives? From the control's SLI samples during the fault window."""
    points = quiet.sli_points(url, fault.applied_at, fault.struck_at or time.time())
    if points is None:
        return {"hurt": None, "why": "the squall control does not sample this URL, so the fault's effect is unknown"}
    if len(points) < MIN_IMPACT_SAMPLES:
        return {"hurt": None, "samples_during_fault": len(points),
                "why": f"the control took fewer than {MIN_IMPACT_SAMPLES} samples of this URL during the fault"}
    hurt = not _inside(points, min_success_rate, max_p95_ms)
    return {"hurt": hurt, "samples_during_fault": len(points),
            "failed_during_fault": sum(1 for p in points if not p.ok)}


@activity(role="verify")
def recovery(
    url: str,
    within_s: float = 10.0,
    min_success_rate: float = 0.99,
    max_p95_ms: float | None = None,
    window: int = 10,
    timeout_s: float = 2.0,
    headers: dict | None = None,
    configuration: dict | None = None,
    measure_from: Literal["heal", "check"] = "heal",
    expect_impact: bool = True,
) -> dict:
    """Check that after healing `url` is back inside its objectives within `within_s` seconds; report the time to recover.

    Sends windows of `window` requests until one meets `min_success_rate`
    (and `max_p95_ms` if given). Time is measured from this run's latest heal
    in the fault ledger (`measure_from: check` measures from the start of this
    check instead, for faults squall does not heal, such as a killed process).
    No heal recorded: inconclusive (there is no moment to measure from). The
    heal longer ago than `within_s`: failed (recovery within it can no longer be
    measured; put the check right after the heal). `expect_impact`: when the
    squall control sampled `url` during the fault (at least 3 samples) and it
    stayed inside the objectives, nothing had to recover: inconclusive (set it
    false when a fallback is meant to keep the SLIs inside, to check only that
    they are).
    """
    check_seconds("within_s", within_s, 3600)
    check_count("window", window, 1, 500)
    check_seconds("timeout_s", timeout_s)
    if isinstance(min_success_rate, bool) or not isinstance(min_success_rate, (int, float)) or not 0 <= min_success_rate <= 1:
        raise ExperimentInvalid(f"min_success_rate={min_success_rate!r} (expected a fraction from 0 to 1)")
    if measure_from not in ("heal", "check"):
        raise ExperimentInvalid(f'measure_from={measure_from!r} (expected "heal" or "check")')
    start = time.time()
    evidence: dict[str, Any] = {"within_s": within_s, "min_success_rate": min_success_rate, "max_p95_ms": max_p95_ms}
    heal = _last_heal(configuration) if measure_from == "heal" else None
    if measure_from == "heal":
        if heal is None or heal.struck_at is None:
            evidence["measured_from"] = None
            return result("recovery", "inconclusive", "no heal of this run is recorded in the fault ledger, so there "
                          "is no moment to measure recovery from (measure_from: check measures from this check)", evidence)
        origin, measured_from = heal.struck_at, f'the heal of "{heal.description}"'
        evidence.update(measured_from="the latest heal in the ledger", heal={"fault": heal.description, "at": origin})
        ago = start - origin
        if ago > within_s:
            evidence["heal_ago_s"] = round(ago, 3)
            return result("recovery", False, f"the heal was {ago:.1f} s ago, longer than within_s={within_s:g} s; "
                          "recovery can no longer be measured (check right after the heal)", evidence)
        impact = _impact(url, heal, min_success_rate, max_p95_ms)
        evidence["impact"] = impact
        if impact["hurt"] is False and expect_impact:
            return result("recovery", "inconclusive", f"the fault never pushed {url} outside its objectives "
                          f"({impact['samples_during_fault']} samples by the control during it): nothing had to recover "
                          "(expect_impact: false checks only that it is inside them)", evidence)
    else:
        origin, measured_from = start, "the start of the check"
        evidence["measured_from"] = measured_from
    windows = []
    recovered_at = None
    with Observer("recovery", url, configuration, headers=headers) as obs:
        while time.time() - origin <= within_s:
            samples = [obs.call(timeout_s).sample for _ in range(window)]
            s = summarize(samples)
            meets = s["success_rate"] >= min_success_rate and (max_p95_ms is None or (s["p95_ms"] or 0) <= max_p95_ms)
            windows.append({"t": round(samples[0].t - origin, 3), "success_rate": s["success_rate"],
                            "p95_ms": s["p95_ms"], "meets": meets})
            if meets:
                recovered_at = samples[0].t
                break
    evidence["windows"] = windows[-30:]
    if recovered_at is None:
        return result("recovery", False, f"not back inside objectives within {within_s:g} s of {measured_from}", evidence)
    ttr = round(max(0.0, recovered_at - origin), 3)
    evidence["time_to_recover_s"] = ttr
    if heal is not None and evidence.get("impact", {}).get("hurt") is False:
        return result("recovery", True, f"inside objectives throughout: the fault never pushed them out "
                      f"(checked {ttr:.2f} s after {measured_from})", evidence)
    return result("recovery", True, f"back inside objectives {ttr:.2f} s after {measured_from}", evidence)
