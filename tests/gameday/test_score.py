"""The resilience score formula, as documented in docs/gameday.md and squall.outcome.score."""

import pytest

from squall.outcome import Check, points_lost, suite_score
from squall.outcome import score as experiment_score

HELD, BROKE = Check("slo", "steady-state-after", True), Check("retries", "verifier", False)


def test_experiment_scores_by_verdict() -> None:
    assert experiment_score("passed", [HELD]) == 100
    assert experiment_score("failed", [HELD, HELD, HELD, BROKE]) == pytest.approx(37.5)
    assert experiment_score("failed", [BROKE]) == 0
    assert experiment_score("failed", []) == 0
    assert experiment_score("aborted", [HELD]) == 0
    assert experiment_score("inconclusive", [HELD]) is None


def test_suite_score_is_the_weighted_mean_of_scored_experiments() -> None:
    assert suite_score([(3, 100.0), (1, 37.5)]) == pytest.approx(84.375)
    assert suite_score([(3, 100.0), (5, None)]) == 100  # inconclusive: not scored
    assert suite_score([(1, None)]) is None
    assert suite_score([(0, 80.0), (0, 40.0)]) == 60  # all weights zero: plain mean


def test_points_lost_name_the_checks_that_cost_them() -> None:
    lost = points_lost("inventory", "failed", [HELD, HELD, HELD, BROKE], weight=1, total_weight=4)
    assert [(p.what, round(p.points, 3)) for p in lost] == [("retries (verifier)", 15.625)]
    aborted = points_lost("pay", "aborted", [HELD], weight=1, total_weight=2)
    assert [(p.what, p.points) for p in aborted] == [("verdict aborted", 50.0)]
    assert points_lost("pay", "passed", [HELD], 1, 1) == []
    assert points_lost("pay", "inconclusive", [BROKE], 1, 1) == []
