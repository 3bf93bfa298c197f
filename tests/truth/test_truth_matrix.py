"""Squall's verifiers against a system it was not written for: every verdict must be the truth.

The fast form runs every cell once; the long form (``-m truth_long``) runs
each cell ``SQUALL_TRUTH_RUNS`` times (default 5). Both print the matrix.
"""

import json
import os
from dataclasses import asdict
from typing import Any

import pytest
from truth_cells import BY_NAME
from truth_runner import OUTCOME_KEY, Outcome, run_cell

NAMES = sorted(BY_NAME)


def _runs() -> int:
    value = os.environ.get("SQUALL_TRUTH_RUNS", "5")
    if not value.isdigit() or not 1 <= int(value) <= 100:
        raise pytest.UsageError(f"SQUALL_TRUTH_RUNS={value!r} (expected a whole number of runs from 1 to 100)")
    return int(value)


def _record(record_property: Any, outcome: Outcome) -> None:
    record_property(OUTCOME_KEY, json.dumps(asdict(outcome)))


def _explain(wrong: list[Outcome]) -> str:
    return "; ".join(f"truth {o.truth}, verifier said {o.verdict} ({o.judgement}): {o.summary}" for o in wrong)


@pytest.mark.parametrize("name", NAMES)
def test_the_verifier_tells_the_truth(name: str, record_property: Any) -> None:
    outcome = run_cell(BY_NAME[name])
    _record(record_property, outcome)
    assert outcome.allowed, f"{name}: {BY_NAME[name].why}; {_explain([outcome])}"


@pytest.mark.truth_long
@pytest.mark.timeout(60 + 20 * 100)
@pytest.mark.parametrize("name", NAMES)
def test_the_verifier_tells_the_truth_every_time(name: str, record_property: Any) -> None:
    outcomes = []
    for _ in range(_runs()):
        outcome = run_cell(BY_NAME[name])
        _record(record_property, outcome)
        outcomes.append(outcome)
    wrong = [o for o in outcomes if not o.allowed]
    assert not wrong, f"{name}: {len(wrong)} of {len(outcomes)} runs wrong; {BY_NAME[name].why}; {_explain(wrong)}"
