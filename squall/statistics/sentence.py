"""The one plain sentence a report shows for a comparison."""

import math
from collections.abc import Sequence

from squall.statistics.model import Effect


def sentence(verdict: str, effects: Sequence[Effect], n_control: int, n_experiment: int, confidence: float,
             needed: int | None) -> str:
    """State the statistical verdict, the figures that decided it and the sample sizes, in one sentence."""
    at = f"at {confidence * 100:g}% confidence"
    sizes = f"{n_control:,} control and {n_experiment:,} experiment requests"
    if verdict == "failed":
        failed = "; ".join(describe(e) for e in effects if e.verdict == "failed")
        return f"Failed {at}: the experiment group is worse than the margin allows over the whole interval: " \
               f"{failed} ({sizes})."
    if verdict == "inconclusive":
        open_ = "; ".join(_open(e, n_control, n_experiment) for e in effects if e.verdict == "inconclusive")
        settle = f"about {needed:,} requests per group would settle it" if needed is not None else \
            "no practical number of requests settles it, the estimate sits on the margin"
        return f"Inconclusive {at}: {open_}; {settle} ({sizes})."
    within = "; ".join(describe(e) for e in effects)
    return f"Passed {at}: the experiment group stays within the margins over the whole interval: {within} ({sizes})."


def describe(effect: Effect) -> str:
    """``p95 latency +21.3 ms (interval +14.2 to +28.9 ms; allowed up to +10 ms)``."""
    if effect.name == "success_ratio":
        return f"success ratio {_points(effect.difference)} (interval {_points(effect.low, False)} to " \
               f"{_points(effect.high)}; allowed down to {_points(effect.limit)})"
    label = effect.name.removesuffix("_ms")
    return f"{label} latency {_ms(effect.difference)} (interval {_ms(effect.low, False)} to {_ms(effect.high)}; " \
           f"allowed up to {_ms(effect.limit)})"


def _open(effect: Effect, n_control: int, n_experiment: int) -> str:
    label = "the success ratio" if effect.name == "success_ratio" else effect.name.removesuffix("_ms") + " latency"
    if min(n_control, n_experiment) < effect.minimum_per_group:
        return f"{label} needs at least {effect.minimum_per_group:,} requests per group to be judged"
    return f"the interval of {describe(effect)} straddles the margin"


def _points(share: float, unit: bool = True) -> str:
    if not math.isfinite(share):
        return "unknown"
    text = f"{share * 100:+.2f}"
    return f"{text} points" if unit else text


def _ms(value: float, unit: bool = True) -> str:
    if not math.isfinite(value):
        return "unknown"
    text = f"{value:+.1f}"
    return f"{text} ms" if unit else text
