"""Stop conditions over the SLI timeline: a success-rate floor and an error-budget burn rate.

On a Prometheus target (``source: prometheus``) the success-rate floor averages the
samples' success ratios, and the burn rate is computed by Prometheus: the target's
``success_ratio`` PromQL with ``{window}`` set to the condition's ``window_s``.
"""

from collections.abc import Callable

from squall.control.sampling import Row
from squall.control.settings import StopCondition


def evaluate(
    condition: StopCondition,
    recent: Callable[[float, str | None], list[Row]],
    now: float,
    armed_at: float,
    ratio_over: Callable[[float], float | None] | None = None,
) -> str | None:
    """The reason the condition holds now, or None.

    A condition is judged only on samples taken since it was armed (the method
    started) and only once it has watched a whole window, so one early error
    cannot fire a "for 10 s" condition.

    ``ratio_over(window_s)``: the success ratio over the last ``window_s`` from PromQL (None: no value), for a
    burn rate on a Prometheus target.
    """
    window_start = now - condition.window_s
    if armed_at > window_start:
        return None
    scope = f" on {condition.target}" if condition.target else ""
    if condition.kind == "burn_rate_above" and ratio_over is not None:
        measured = ratio_over(condition.window_s)
        return None if measured is None else _burn(condition, 1.0 - measured, scope, " (PromQL)")
    rows = recent(max(window_start, armed_at), condition.target)
    if condition.window_s == 0:
        rows = rows[-condition.min_samples :]
    if len(rows) < condition.min_samples:
        return None
    ratios = [float(r[6]) for r in rows if len(r) > 6 and r[6] is not None]  # Prometheus samples
    if len(ratios) == len(rows):
        rate = sum(ratios) / len(rows)
        failed = f"mean success ratio of {len(rows)} Prometheus samples"
    else:
        ok = sum(int(r[2]) for r in rows)
        rate = ok / len(rows)
        failed = f"{len(rows) - ok} of {len(rows)} samples failed"
    if condition.kind == "success_rate_below":
        if rate < condition.threshold:
            return f"success rate{scope} {rate:.0%} < {condition.threshold:.0%} for {condition.window_s:g} s ({failed})"
        return None
    return _burn(condition, 1.0 - rate, scope, "")


def _burn(condition: StopCondition, error_rate: float, scope: str, how: str) -> str | None:
    assert condition.slo is not None
    burn = error_rate / (1.0 - condition.slo)
    if burn > condition.threshold:
        return (
            f"error-budget burn rate{scope} {burn:.1f}x > {condition.threshold:g}x over {condition.window_s:g} s{how} "
            f"(error rate {error_rate:.1%} against an SLO of {condition.slo:.2%})"
        )
    return None
