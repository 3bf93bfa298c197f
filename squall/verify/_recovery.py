"""Verifier: after the fault is healed, the service's SLIs are back inside their objectives within T seconds."""

import time

from squall import config
from squall.activity import activity
from squall.errors import ExperimentInvalid
from squall.ledger import Ledger
from squall.probes.sli import summarize
from squall.verify._observe import Observer, check_count, check_seconds, result

__all__ = ["recovery"]


def _last_heal(configuration: dict | None, now: float, within_s: float) -> float | None:
    """When this run's most recent fault was removed, if that was recent enough to measure from."""
    struck = [e.struck_at for e in Ledger(config.ledger_path(configuration)).entries(config.run_id())
              if e.struck_at is not None and e.outcome != "failed-to-apply"]
    latest = max(struck, default=None)
    if latest is not None and now - within_s <= latest <= now:
        return latest
    return None


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
) -> dict:
    """Check that after healing `url` is back inside its objectives within `within_s` seconds; report the time to recover.

    Sends windows of `window` requests until one meets `min_success_rate`
    (and `max_p95_ms` if given). Time is measured from this run's latest
    removed fault in the ledger (the heal), else from when the check started.
    """
    check_seconds("within_s", within_s, 3600)
    check_count("window", window, 1, 500)
    check_seconds("timeout_s", timeout_s)
    if isinstance(min_success_rate, bool) or not isinstance(min_success_rate, (int, float)) or not 0 <= min_success_rate <= 1:
        raise ExperimentInvalid(f"min_success_rate={min_success_rate!r} (expected a fraction from 0 to 1)")
    start = time.time()
    reference = _last_heal(configuration, start, within_s)
    origin = reference if reference is not None else start
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
    measured_from = "the latest heal in the ledger" if reference is not None else "the start of the check"
    evidence = {"within_s": within_s, "measured_from": measured_from, "windows": windows[-30:],
                "min_success_rate": min_success_rate, "max_p95_ms": max_p95_ms}
    if recovered_at is None:
        return result("recovery", False, f"not back inside objectives within {within_s} s of {measured_from}", evidence)
    ttr = round(max(0.0, recovered_at - origin), 3)
    evidence["time_to_recover_s"] = ttr
    return result("recovery", True, f"back inside objectives {ttr:.2f} s after {measured_from}", evidence)
