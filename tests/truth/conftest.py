"""The verdict-truth matrix: collect each run's outcome (also from xdist workers) and print the matrix at the end."""

import json
from typing import Any

import pytest
from truth_runner import OUTCOME_KEY, Outcome, render

_outcomes: list[Outcome] = []


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """The long form runs only when asked for: ``-m truth_long``."""
    if "truth_long" in (config.option.markexpr or ""):
        return
    skip = pytest.mark.skip(reason="the long form runs with -m truth_long (SQUALL_TRUTH_RUNS runs per cell, default 5)")
    for item in items:
        if item.get_closest_marker("truth_long") is not None:
            item.add_marker(skip)


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    """Keep the outcomes a matrix test recorded (xdist sends user_properties to the controller)."""
    if report.when != "call":
        return
    for key, value in report.user_properties:
        if key == OUTCOME_KEY:
            data: dict[str, Any] = json.loads(str(value))
            data["dropped"] = tuple(data.get("dropped") or ())
            _outcomes.append(Outcome(**data))


def pytest_terminal_summary(terminalreporter: Any) -> None:
    """Print the matrix: per cell, runs, correct, false pass, false fail, inconclusive, error."""
    if _outcomes and not hasattr(terminalreporter.config, "workerinput"):
        terminalreporter.write_sep("=", "verdict-truth matrix")
        terminalreporter.write_line(render(_outcomes))
