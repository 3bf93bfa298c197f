"""Game days: suites of experiments run in order, scored, gated, scheduled and recorded."""

from squall.gameday.model import ExperimentResult, GameDayResult
from squall.gameday.runner import run_suite
from squall.gameday.suite import Suite, load_suite, validate_suite

__all__ = ["ExperimentResult", "GameDayResult", "Suite", "load_suite", "run_suite", "validate_suite"]
