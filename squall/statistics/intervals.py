"""One group's interval, for drawing bands: a success ratio (Wilson) and a latency quantile (order statistics).

``compare`` judges differences between groups; a report that draws each group
per second with its band needs the interval of one group's figure. Both come
from scipy.stats: ``binomtest(...).proportion_ci(method="wilson")`` and
``quantile_test(...).confidence_interval`` (an exact, distribution-free
interval between two order statistics).
"""

import math
from collections.abc import Sequence

import numpy as np
from scipy import stats


def ratio_interval(successes: int, n: int, *, confidence: float = 0.95) -> tuple[float, float] | None:
    """The Wilson score interval of ``successes`` out of ``n`` requests at ``confidence``; None for no requests."""
    _check_confidence(confidence)
    for name, value in (("successes", successes), ("n", n)):
        if not isinstance(value, int | np.integer) or isinstance(value, bool) or value < 0:
            raise ValueError(f"ratio_interval: {name} must be a whole number >= 0, got {value!r}")
    if successes > n:
        raise ValueError(f"ratio_interval: successes ({successes}) must not exceed n ({n})")
    if n == 0:
        return None
    interval = stats.binomtest(int(successes), int(n)).proportion_ci(confidence_level=confidence, method="wilson")
    return float(interval.low), float(interval.high)


def quantile_interval(latency_ms: Sequence[float], q: float, *,
                      confidence: float = 0.95) -> tuple[float | None, float | None] | None:
    """The interval of one group's quantile ``q`` (0.95 for p95) at ``confidence``; None for no values.

    Distribution-free: its bounds are two of the values themselves. A bound is
    None when there are too few values to reach it (p99 of 50 requests has no
    upper bound: the largest value could be below the true p99).
    """
    _check_confidence(confidence)
    if not (isinstance(q, int | float) and not isinstance(q, bool) and 0 < q < 1):
        raise ValueError(f"quantile_interval: q must be a number strictly between 0 and 1 (0.95 for p95), got {q!r}")
    values = np.asarray(latency_ms, dtype=np.float64)
    if values.ndim != 1:
        raise ValueError("quantile_interval: latency_ms must be a flat sequence of milliseconds")
    if values.size and not bool(np.all(np.isfinite(values) & (values >= 0))):
        raise ValueError("quantile_interval: latency_ms must hold finite numbers of milliseconds >= 0")
    if values.size == 0:
        return None
    interval = stats.quantile_test(values, q=0, p=q).confidence_interval(confidence_level=confidence)
    low, high = float(interval.low), float(interval.high)
    return (low if math.isfinite(low) else None), (high if math.isfinite(high) else None)


def _check_confidence(confidence: float) -> None:
    if not (isinstance(confidence, int | float) and not isinstance(confidence, bool) and 0 < confidence < 1):
        raise ValueError(f"confidence must be a number strictly between 0 and 1 (e.g. 0.95), got {confidence!r}")
