"""The success ratio: drops beyond the margin fail, equal ratios pass, degenerate groups stay sensible."""

import numpy as np
import pytest
from stats_groups import group, rng_for

from squall.statistics import MIN_RATIO_REQUESTS, Sample, compare


def _ratio_only(control: Sample, experiment: Sample, **kwargs: float) -> object:
    return compare(control, experiment, max_increase_ms=None, **kwargs)


def _counted(n: int, successes: int, latency_ms: float = 100.0) -> Sample:
    return Sample(ok=[True] * successes + [False] * (n - successes), latency_ms=[latency_ms] * n)


def test_a_five_point_drop_fails_a_one_point_margin() -> None:
    rng = rng_for(0, 3)
    result = compare(group(rng, 5000, success=0.99), group(rng, 5000, success=0.94), max_drop=0.01,
                     max_increase_ms=None)
    (ratio,) = result.effects
    assert result.verdict == "failed"
    assert ratio.name == "success_ratio" and ratio.limit == -0.01
    assert ratio.high < -0.01 and -0.07 < ratio.difference < -0.03
    assert "success ratio" in result.sentence and result.sentence.startswith("Failed at 95% confidence")


def test_equal_ratios_pass() -> None:
    result = compare(_counted(5000, 4950), _counted(5000, 4950), max_drop=0.01, max_increase_ms=None)
    (ratio,) = result.effects
    assert result.verdict == "passed" and ratio.difference == 0.0
    assert -0.01 <= ratio.low < 0 < ratio.high
    assert result.needed_per_group is None


def test_a_higher_experiment_ratio_passes_even_with_no_margin() -> None:
    result = compare(_counted(2000, 1800), _counted(2000, 1990), max_drop=0.0, max_increase_ms=None)
    assert result.verdict == "passed" and result.effects[0].low > 0


def test_all_successes_in_both_groups_pass_once_the_interval_is_narrow_enough() -> None:
    small = compare(_counted(50, 50), _counted(50, 50), max_drop=0.01, max_increase_ms=None)
    large = compare(_counted(5000, 5000), _counted(5000, 5000), max_drop=0.01, max_increase_ms=None)
    # the score interval keeps a width at 100% (a Wald interval would be the single point 0)
    assert small.verdict == "inconclusive" and small.effects[0].low < -0.01
    assert small.needed_per_group is not None and small.needed_per_group > 50
    assert large.verdict == "passed" and large.effects[0].high > 0 > large.effects[0].low >= -0.01


def test_all_failures_in_the_experiment_group_fail() -> None:
    result = compare(_counted(100, 100), _counted(100, 0), max_drop=0.01, max_increase_ms=None)
    ratio = result.effects[0]
    assert result.verdict == "failed" and ratio.difference == -1.0 and -1.0 <= ratio.low <= ratio.high < -0.9


def test_all_failures_in_both_groups_are_no_drop() -> None:
    result = compare(_counted(3000, 0), _counted(3000, 0), max_drop=0.01, max_increase_ms=None)
    assert result.verdict == "passed" and result.effects[0].control == 0.0 == result.effects[0].experiment


def test_too_few_requests_are_inconclusive_even_when_the_drop_is_stark() -> None:
    n = MIN_RATIO_REQUESTS - 1
    result = compare(_counted(n, n), _counted(n, 0), max_drop=0.01, max_increase_ms=None)
    assert result.verdict == "inconclusive"
    assert result.needed_per_group is not None and result.needed_per_group >= MIN_RATIO_REQUESTS > n
    assert f"at least {MIN_RATIO_REQUESTS} requests per group" in result.sentence


def test_an_empty_group_is_inconclusive_with_numbers_as_null() -> None:
    empty = Sample(ok=[], latency_ms=[])
    result = compare(empty, group(rng_for(0, 4), 500))
    assert result.verdict == "inconclusive" and result.n_control == 0 and result.n_experiment == 500
    assert all(effect.verdict == "inconclusive" for effect in result.effects)
    assert result.mann_whitney_p is None
    assert result.needed_per_group is not None and result.needed_per_group >= 1000  # p99's minimum
    data = result.to_json()
    assert data["effects"][0]["control"] is None and data["effects"][0]["low"] is None


def test_the_interval_straddling_the_margin_is_inconclusive_and_says_how_many_would_settle_it() -> None:
    result = compare(_counted(400, 392), _counted(400, 390), max_drop=0.01, max_increase_ms=None)
    ratio = result.effects[0]
    assert result.verdict == "inconclusive" and ratio.low < -0.01 < ratio.high
    assert result.needed_per_group is not None and result.needed_per_group > 400
    assert f"about {result.needed_per_group:,} requests per group would settle it" in result.sentence
    # and at that size (same ratios) it does settle
    n = result.needed_per_group
    again = compare(_counted(n, round(n * 0.98)), _counted(n, round(n * 0.975)), max_drop=0.01,
                    max_increase_ms=None)
    assert again.verdict == "passed"


def test_numpy_arrays_are_accepted_as_well_as_lists() -> None:
    rng = rng_for(1, 4)
    control = group(rng, 300)
    as_lists = Sample(ok=[bool(v) for v in control.ok], latency_ms=[float(v) for v in control.latency_ms])
    assert compare(control, control).to_json() == compare(as_lists, as_lists).to_json()
    assert isinstance(control.ok, np.ndarray)


def test_the_interval_is_newcombes_published_example() -> None:
    # Newcombe (1998), Statistics in Medicine 17:873-890, example (a): 56/70 - 48/80,
    # method 10 (hybrid score, no continuity correction): 0.0524 to 0.3339
    result = compare(_counted(80, 48), _counted(70, 56), max_drop=0.01, max_increase_ms=None)
    ratio = result.effects[0]
    assert ratio.difference == pytest.approx(0.2)
    assert (round(ratio.low, 4), round(ratio.high, 4)) == (0.0524, 0.3339)
