"""One group's interval, for bands: the Wilson interval of a ratio and the order-statistic interval of a quantile."""

import math

import numpy as np
import pytest
from stats_groups import LATENCY, rng_for

from squall.statistics import quantile_interval, ratio_interval


def test_the_ratio_interval_is_wilsons() -> None:
    # 90 of 100 at 95%: Wilson gives 0.8256 to 0.9448 (by hand: centre 0.8852, half-width 0.0596)
    low, high = ratio_interval(90, 100) or (math.nan, math.nan)
    assert low == pytest.approx(0.8256, abs=1e-4) and high == pytest.approx(0.9448, abs=1e-4)
    all_ok = ratio_interval(20, 20)
    assert all_ok is not None and all_ok[1] == pytest.approx(1.0) and all_ok[0] < 0.9
    assert ratio_interval(0, 0) is None


def test_the_quantile_interval_covers_the_true_p95_about_95_percent_of_the_time() -> None:
    true_p95 = float(LATENCY.ppf(0.95))
    covered = 0
    for seed in range(200):
        values = rng_for(seed, 12).lognormal(np.log(100), 0.5, 400)
        interval = quantile_interval(values, 0.95)
        assert interval is not None and interval[0] is not None and interval[1] is not None
        covered += interval[0] <= true_p95 <= interval[1]
    assert 180 <= covered <= 200  # exact intervals are at least 95%, a little more from the order statistics' steps


def test_a_quantile_too_far_out_for_the_values_has_no_upper_bound() -> None:
    interval = quantile_interval(list(rng_for(0, 13).lognormal(np.log(100), 0.5, 50)), 0.99)
    assert interval is not None and interval[0] is not None and interval[1] is None
    assert quantile_interval([], 0.95) is None


@pytest.mark.parametrize(("call", "named"), [
    (lambda: ratio_interval(5, 3), r"successes \(5\) must not exceed n \(3\)"),
    (lambda: ratio_interval(-1, 3), "successes must be a whole number >= 0"),
    (lambda: ratio_interval(1, 3, confidence=95), "confidence must be a number strictly between 0 and 1"),
    (lambda: quantile_interval([1.0, math.nan], 0.95), "latency_ms must hold finite numbers"),
    (lambda: quantile_interval([1.0], 95), "q must be a number strictly between 0 and 1"),
])
def test_bad_arguments_are_named(call: object, named: str) -> None:
    with pytest.raises(ValueError, match=named):
        call()  # type: ignore[operator]
