"""The success ratio: the interval of the experiment-minus-control difference (Newcombe's score interval)."""

import math

import numpy as np
from scipy import stats

from squall.statistics.model import Effect, Verdict
from squall.statistics.power import ratio_variance, sample_size

#: below this many requests in either group the success ratio is not judged (inconclusive)
MIN_RATIO_REQUESTS = 20

METHOD = "Newcombe score interval (Wilson intervals of each group, scipy.stats.binomtest)"


def ratio_effect(ok_control: np.ndarray, ok_experiment: np.ndarray, *, max_drop: float, confidence: float,
                 power: float) -> Effect:
    """The success ratio's effect: passed when the ratio cannot have dropped by more than ``max_drop``.

    The interval of ``p_e - p_c`` is Newcombe's hybrid score interval (his
    method 10): each group's Wilson score interval at ``confidence``, combined
    as ``d - sqrt((p_e - l_e)^2 + (u_c - p_c)^2)`` to
    ``d + sqrt((u_e - p_e)^2 + (p_c - l_c)^2)``. It stays inside [-1, 1] and
    keeps its width when a group has all successes or all failures, where the
    plain Wald interval collapses to a point.
    """
    limit = -max_drop
    n_c, n_e = int(ok_control.size), int(ok_experiment.size)
    if n_c == 0 or n_e == 0:
        return Effect("success_ratio", math.nan, math.nan, math.nan, -math.inf, math.inf, limit, "inconclusive",
                      METHOD, MIN_RATIO_REQUESTS, MIN_RATIO_REQUESTS)
    k_c, k_e = int(np.count_nonzero(ok_control)), int(np.count_nonzero(ok_experiment))
    p_c, p_e = k_c / n_c, k_e / n_e
    l_c, u_c = _wilson(k_c, n_c, confidence)
    l_e, u_e = _wilson(k_e, n_e, confidence)
    difference = p_e - p_c
    low = difference - math.sqrt((p_e - l_e) ** 2 + (u_c - p_c) ** 2)
    high = difference + math.sqrt((u_e - p_e) ** 2 + (p_c - l_c) ** 2)
    verdict: Verdict
    if min(n_c, n_e) < MIN_RATIO_REQUESTS:
        verdict = "inconclusive"
    elif low >= limit:
        verdict = "passed"
    elif high < limit:
        verdict = "failed"
    else:
        verdict = "inconclusive"
    needed = None
    if verdict == "inconclusive":
        planned = sample_size(difference, limit, ratio_variance(k_c, n_c, k_e, n_e), confidence=confidence,
                              power=power)
        needed = None if planned is None else max(planned, MIN_RATIO_REQUESTS, min(n_c, n_e) + 1)
    return Effect("success_ratio", p_c, p_e, difference, max(low, -1.0), min(high, 1.0), limit, verdict, METHOD,
                  MIN_RATIO_REQUESTS, needed)


def _wilson(successes: int, n: int, confidence: float) -> tuple[float, float]:
    interval = stats.binomtest(successes, n).proportion_ci(confidence_level=confidence, method="wilson")
    return float(interval.low), float(interval.high)
