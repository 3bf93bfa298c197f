"""Latency quantiles: the bootstrap interval, its agreement with scipy's bootstrap, and degenerate groups."""

import time

import numpy as np
import pytest
from scipy import stats
from stats_groups import group, rng_for

from squall.statistics import Sample, compare, minimum_requests


def _all_ok(latency_ms: np.ndarray) -> Sample:
    return Sample(ok=np.ones(latency_ms.size, dtype=bool), latency_ms=latency_ms)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_the_interval_matches_scipy_bootstrap_resampling_every_request(seed: int) -> None:
    rng = rng_for(seed, 5)
    control = rng.lognormal(np.log(100), 0.5, 400)
    experiment = rng.lognormal(np.log(100), 0.5, 400) + 5

    def p95_difference(c: np.ndarray, e: np.ndarray, axis: int) -> np.ndarray:
        result: np.ndarray = np.quantile(e, 0.95, axis=axis, method="inverted_cdf") \
            - np.quantile(c, 0.95, axis=axis, method="inverted_cdf")
        return result

    reference = stats.bootstrap((control, experiment), p95_difference, n_resamples=5000, method="percentile",
                                rng=np.random.default_rng(seed)).confidence_interval
    effect = compare(_all_ok(control), _all_ok(experiment), max_drop=None, quantiles=(0.95,), resamples=5000,
                     seed=seed).effects[0]
    width = reference.high - reference.low
    assert effect.name == "p95_ms"
    assert effect.difference == pytest.approx(p95_difference(control, experiment, axis=-1))
    # the same distribution, sampled two ways: the bounds agree up to resampling noise
    assert abs(effect.low - reference.low) < 0.08 * width
    assert abs(effect.high - reference.high) < 0.08 * width


def test_p95_and_p99_are_nearest_rank_percentiles() -> None:
    values = np.arange(1.0, 1001.0)  # 1..1000 ms
    result = compare(_all_ok(values), _all_ok(values + 30.0), max_drop=None)
    p95, p99 = result.effects
    assert (p95.name, p95.control, p95.experiment) == ("p95_ms", 950.0, 980.0)
    assert (p99.name, p99.control, p99.experiment) == ("p99_ms", 990.0, 1020.0)


def test_zero_variance_latencies_give_a_point_interval() -> None:
    same = _all_ok(np.full(2000, 40.0))
    slower = _all_ok(np.full(2000, 100.0))
    passed = compare(same, same)
    latency = passed.effects[1:]
    assert passed.verdict == "passed" and all(e.low == e.high == e.difference == 0.0 for e in latency)
    assert passed.mann_whitney_p == 1.0
    failed = compare(same, slower, max_increase_ms=50.0)
    assert failed.verdict == "failed" and failed.effects[1].low == failed.effects[1].high == 60.0


def test_too_few_requests_for_p99_are_inconclusive_and_say_how_many_are_needed() -> None:
    rng = rng_for(0, 6)
    n = 300  # enough for p95 (200), not for p99 (1,000)
    result = compare(group(rng, n), group(rng, n), max_increase_ms=50.0)
    p95, p99 = result.effects[1:]
    assert minimum_requests(0.95) == 200 and minimum_requests(0.99) == 1000
    assert p95.verdict != "inconclusive" or p95.low < 50.0 < p95.high
    assert p99.verdict == "inconclusive" and p99.minimum_per_group == 1000
    assert result.verdict == "inconclusive"
    assert result.needed_per_group is not None and result.needed_per_group >= 1000 > n
    assert "p99 latency needs at least 1,000 requests per group to be judged" in result.sentence


def test_a_pilot_too_small_for_a_shift_is_inconclusive_and_asks_for_more() -> None:
    rng = rng_for(3, 7)
    result = compare(group(rng, 300), group(rng, 300, shift_ms=20.0), max_increase_ms=10.0, quantiles=(0.95,))
    assert result.verdict == "inconclusive"
    assert result.needed_per_group is not None and result.needed_per_group > 300


def test_the_same_seed_gives_the_same_comparison_and_another_seed_moves_the_interval() -> None:
    rng = rng_for(4, 8)
    control, experiment = group(rng, 3000), group(rng, 3000, shift_ms=5.0)
    first = compare(control, experiment, seed=7)
    assert first.to_json() == compare(control, experiment, seed=7).to_json()
    other = compare(control, experiment, seed=8)
    assert other.effects[1].difference == first.effects[1].difference
    assert other.effects[1].low != first.effects[1].low


def test_mann_whitney_sees_a_shifted_distribution_and_not_a_copy() -> None:
    rng = rng_for(5, 9)
    control = group(rng, 2000)
    shifted = compare(control, group(rng, 2000, shift_ms=30.0)).mann_whitney_p
    same = compare(control, group(rng, 2000)).mann_whitney_p
    assert shifted is not None and shifted < 1e-6
    assert same is not None and same > 1e-3


def test_two_groups_of_20000_compare_well_under_a_second() -> None:
    rng = rng_for(6, 10)
    control, experiment = group(rng, 20_000), group(rng, 20_000, shift_ms=20.0)
    compare(control, experiment)  # warm up imports and caches
    started = time.perf_counter()
    result = compare(control, experiment, max_increase_ms=10.0)
    elapsed = time.perf_counter() - started
    assert result.verdict == "failed"
    # about 0.03 s on an idle 2-core machine; the bound leaves room for a loaded one
    assert elapsed < 1.0
