"""Stop conditions over the SLI timeline: a success-rate floor and an error-budget burn rate."""

from collections.abc import Callable

from squall.control.sampling import Row
from squall.control.settings import StopCondition


def evaluate(
    condition: StopCondition,
    recent: Callable[[float, str | None], list[Row]],
    now: float,
    armed_at: float,
) -> str | None:
    """The reason the condition holds now, or None.

    A condition is judged only on samples taken since it was armed (the method
    started) and only once it has watched a whole window, so one early error
    cannot fire a "for 10 s" condition.
    """
    window_start = now - condition.window_s
    if armed_at > window_start:
        return None
    rows = recent(max(window_start, armed_at), condition.target)
    if condition.window_s == 0:
        rows = rows[-condition.min_samples :]
    if len(rows) < condition.min_samples:
        return None
    ok = sum(int(r[2]) for r in rows)
    rate = ok / len(rows)
    scope = f" on {condition.target}" if condition.target else ""
    if condition.kind == "success_rate_below":
        if rate < condition.threshold:
            return (
                f"success rate{scope} {rate:.0%} < {condition.threshold:.0%} "
                f"for {condition.window_s:g} s ({len(rows) - ok} of {len(rows)} samples failed)"
            )
        return None
    assert condition.slo is not None
    error_rate = 1.0 - rate
    burn = error_rate / (1.0 - condition.slo)
    if burn > condition.threshold:
        return (
            f"error-budget burn rate{scope} {burn:.1f}x > {condition.threshold:g}x over {condition.window_s:g} s "
            f"(error rate {error_rate:.1%} against an SLO of {condition.slo:.2%})"
        )
    return None
