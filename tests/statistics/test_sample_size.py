"""The sample-size rule: the textbook numbers, and what it answers at its edges."""

import pytest

from squall.statistics import MAX_PER_GROUP, ratio_variance, sample_size


def test_the_textbook_number_for_a_two_proportion_non_inferiority_design() -> None:
    # 99% vs 99% success, margin 1 point, 95% two-sided interval, 80% power:
    # (1.96 + 0.8416)^2 * (2 * 0.99 * 0.01) / 0.01^2 = 1,554.4 -> 1,555 per group
    assert sample_size(0.0, -0.01, 2 * 0.99 * 0.01) == 1555


def test_more_confidence_power_or_variance_need_more_requests_and_a_wider_gap_fewer() -> None:
    base = sample_size(20.0, 10.0, 100_000.0)
    assert base is not None
    for more in (sample_size(20.0, 10.0, 100_000.0, confidence=0.99), sample_size(20.0, 10.0, 100_000.0, power=0.9),
                 sample_size(20.0, 10.0, 200_000.0)):
        assert more is not None and more > base
    fewer = sample_size(30.0, 10.0, 100_000.0)
    assert fewer is not None and fewer == pytest.approx(base / 4, rel=0.01)


def test_a_difference_on_the_margin_has_no_practical_number() -> None:
    assert sample_size(10.0, 10.0, 1000.0) is None
    assert sample_size(10.0 + 1e-9, 10.0, 1000.0) is None  # more than MAX_PER_GROUP
    assert MAX_PER_GROUP == 10_000_000


def test_no_variance_settles_at_once() -> None:
    assert sample_size(5.0, 10.0, 0.0) == 1


def test_a_group_with_all_successes_still_plans_for_some_variance() -> None:
    assert ratio_variance(100, 100, 100, 100) > 0
    assert ratio_variance(0, 100, 100, 100) == pytest.approx(2 * (1 / 102) * (101 / 102))
