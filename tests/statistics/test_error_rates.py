"""How often the comparison is wrong on data whose truth is known.

A/A: both groups from one distribution, so every "failed" is a false failure.
Shifted: the experiment group's latencies are 20 ms slower, beyond a 10 ms margin,
so every run that is not "failed" missed a real regression. The fast form runs a
few hundred seeds; ``-m stats_long`` runs thousands.
"""

import math

import pytest
from stats_groups import LATENCY, group, rng_for

from squall.statistics import compare, quantile_variance, sample_size

FAST_SEEDS = 200
LONG_SEEDS = 3000


def _ceiling(rate: float, runs: int) -> int:
    """Failures allowed in ``runs`` runs when the true rate is ``rate``: the mean plus two standard deviations."""
    return math.floor(rate * runs + 2 * math.sqrt(runs * rate * (1 - rate)))


def _aa_failures(seeds: int, n: int, *, max_drop: float, max_increase_ms: float) -> tuple[int, dict[str, int]]:
    overall, by_figure = 0, {"success_ratio": 0, "p95_ms": 0, "p99_ms": 0}
    for seed in range(seeds):
        rng = rng_for(seed, 1)
        result = compare(group(rng, n), group(rng, n), max_drop=max_drop, max_increase_ms=max_increase_ms, seed=seed)
        overall += result.verdict == "failed"
        for effect in result.effects:
            by_figure[effect.name] += effect.verdict == "failed"
    return overall, by_figure


def test_aa_with_the_default_margins_fails_at_most_about_5_percent_of_runs() -> None:
    overall, _ = _aa_failures(FAST_SEEDS, 1000, max_drop=0.01, max_increase_ms=50.0)
    assert overall <= _ceiling(0.05, FAST_SEEDS)


def test_aa_with_no_margin_fails_each_figure_at_most_its_one_sided_rate() -> None:
    # With a zero margin, a figure fails when its whole 95% interval is above zero
    # (below, for the success ratio): 2.5% of A/A runs by design, per figure.
    overall, by_figure = _aa_failures(FAST_SEEDS, 1000, max_drop=0.0, max_increase_ms=0.0)
    for name, failures in by_figure.items():
        assert failures <= _ceiling(0.025, FAST_SEEDS), (name, failures)
    # three figures can each fail: at most their sum (the figures are correlated, so less)
    assert overall <= _ceiling(0.075, FAST_SEEDS)
    # and the intervals are not so wide that they never exclude zero
    assert sum(by_figure.values()) >= 1


def planned_per_group(shift_ms: float, max_increase_ms: float) -> int:
    """What ``sample_size`` says a p95 shift needs, from the latency distribution's density at its p95."""
    density = float(LATENCY.pdf(LATENCY.ppf(0.95)))
    planned = sample_size(shift_ms, max_increase_ms, 2 * quantile_variance(0.95, density))
    assert planned is not None
    return planned


def _shift_detected(seeds: int, n: int) -> int:
    detected = 0
    for seed in range(seeds):
        rng = rng_for(seed, 2)
        control, experiment = group(rng, n), group(rng, n, shift_ms=20.0)
        detected += compare(control, experiment, max_increase_ms=10.0, quantiles=(0.95,), seed=seed).verdict \
            == "failed"
    return detected


def test_a_20ms_p95_shift_fails_in_most_runs_at_the_planned_sample_size() -> None:
    n = planned_per_group(20.0, 10.0)
    assert 5_000 < n < 15_000  # about 9,000: plain arithmetic on the lognormal's p95 density
    seeds = 40
    # planned for 80% power; allow for the noise of 40 runs
    assert _shift_detected(seeds, n) >= 0.65 * seeds


def test_a_20ms_p95_shift_is_mostly_missed_at_a_tenth_of_the_planned_size() -> None:
    # the plan is not generous for nothing: far fewer requests rarely settle it
    n = planned_per_group(20.0, 10.0) // 10
    seeds = 40
    assert _shift_detected(seeds, n) <= 0.3 * seeds


@pytest.mark.stats_long
def test_long_aa_false_failures_over_many_seeds() -> None:
    overall, _ = _aa_failures(LONG_SEEDS, 2000, max_drop=0.01, max_increase_ms=10.0)
    assert overall <= _ceiling(0.05, LONG_SEEDS)
    overall, by_figure = _aa_failures(LONG_SEEDS, 2000, max_drop=0.0, max_increase_ms=0.0)
    for name, failures in by_figure.items():
        assert failures <= _ceiling(0.025, LONG_SEEDS), (name, failures)


@pytest.mark.stats_long
def test_long_power_at_the_planned_sample_size() -> None:
    seeds = 400
    detected = _shift_detected(seeds, planned_per_group(20.0, 10.0))
    assert 0.72 * seeds <= detected  # 80% planned
