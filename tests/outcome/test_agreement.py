"""Every consumer of a run's outcome agrees: the report, JUnit, Markdown, the game day, history and the gate.

Fed the same journal — squall's, a plain Chaos Toolkit one, a crashed one, a hostile
mutation — they must give the same verdict, score and reason, because each reads it
through squall.outcome and none decides on its own.
"""

import copy
import json
import os
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import pytest
import report_journals as J
from hypothesis import HealthCheck, given, settings
from report_mutations import BASES, Recipe, apply, nested

from squall.exitcodes import ExitCode
from squall.gameday.decide import decide as gate
from squall.gameday.history import History, Row
from squall.gameday.runner import experiment_result
from squall.gameday.suite import Suite, SuiteExperiment
from squall.outcome import Verdict, from_journal, shown
from squall.reporting import render
from squall.reporting.model import build

EXAMPLES = int(os.environ.get("SQUALL_HYPOTHESIS_EXAMPLES", "40"))


def _plain(**changes: Any) -> dict[str, Any]:
    """A plain Chaos Toolkit journal (no squall control) built from the passed run."""
    journal = J.passed_run()
    journal.pop("extensions")
    journal.update(changes)
    return journal


def _plain_failed_inject() -> dict[str, Any]:
    """The case the game day and the report used to disagree on: an inject action failed, no extension."""
    journal = _plain(status="failed", deviated=False)
    action = next(r for r in journal["run"] if r["activity"]["type"] == "action")
    action.update(status="failed", exception=["Traceback", "ActivityFailed: proxy not found"])
    return journal


CORPUS: dict[str, Any] = {
    **BASES,
    "plain-passed": _plain(),
    "plain-deviated": _plain(deviated=True),
    "plain-interrupted": _plain(status="interrupted"),
    "plain-failed-inject": _plain_failed_inject(),
    "plain-odd-status": _plain(status="exploded"),
    "no-journal": None,
}


def _consumers(journal: Any, tmp: Path) -> dict[str, tuple[str, float | None, str]]:
    """(verdict, score, reason) as each consumer sees the journal."""
    seen: dict[str, tuple[str, float | None, str]] = {}
    record = from_journal(journal, returncode=0)
    seen["record"] = (record.verdict.value, record.score, record.reason)
    if journal is not None:
        report = build(journal)
        seen["report model"] = (report.verdict.value, report.score, report.reason)
        paths = render(journal, tmp / "report")
        props = {p.get("name"): p.get("value") for p in ET.parse(paths["junit"]).getroot().iter("property")}
        # JUnit carries the score as every page prints it (squall.outcome.shown)
        assert props.get("score") in ((None, "") if record.score is None else (shown(record.score),))
        seen["junit"] = (str(props.get("verdict")), record.score, record.reason)
        md = paths["markdown"].read_text(encoding="utf-8")
        seen["markdown"] = (next(v.value for v in Verdict if v.value.upper() in md.splitlines()[0]),
                            record.score, record.reason)
    exp = SuiteExperiment(path=tmp / "x.yaml", name="x", required=True)
    result = experiment_result(exp, journal, returncode=0, timed_out=False, duration_s=1.0, run_id="r",
                               out_dir=tmp, journal_path=tmp / "journal.json", reports={})
    seen["game day"] = (result.verdict.value, result.score, result.reason)
    history = History(tmp / "history.sqlite")
    history.append([Row("s1", 0.0, "experiment", "suite", "x", result.verdict, result.score, 1.0, None)])
    row = history.rows(suite="suite")[0]
    seen["history"] = (row.verdict, row.score, result.reason)
    return seen


_GATE = {Verdict.PASSED: ExitCode.PASSED, Verdict.FAILED: ExitCode.FAILED,
         Verdict.ABORTED: ExitCode.ABORTED, Verdict.INCONCLUSIVE: ExitCode.INCONCLUSIVE}


def _agree(journal: Any, tmp: Path) -> str:
    seen = _consumers(journal, tmp)
    first = seen["record"]
    for name, view in seen.items():
        assert view[0] == first[0], f"{name} says {view[0]}, the record says {first[0]}: {seen}"
        assert view[1] == pytest.approx(first[1]) if first[1] is not None else view[1] is None, (name, seen)
    # reasons: the report masks its text, the rest carry the record's sentence as it is
    assert seen["game day"][2] == first[2] and seen["history"][2] == first[2]
    exp = SuiteExperiment(path=tmp / "x.yaml", name="x", required=True)
    result = experiment_result(exp, journal, returncode=0, timed_out=False, duration_s=1.0, run_id="r",
                               out_dir=tmp, journal_path=tmp / "journal.json", reports={})
    code, verdict, _ = gate(Suite(name="s", path=tmp / "s.yaml", experiments=(exp,)), [result], result.score)
    assert code == _GATE[Verdict(first[0])] and verdict == first[0], (code, verdict, first)
    return first[0]


@pytest.mark.parametrize("name", sorted(CORPUS))
def test_every_consumer_agrees_on_every_journal(name: str, tmp_path: Path) -> None:
    _agree(json.loads(json.dumps(CORPUS[name])) if CORPUS[name] is not None else None, tmp_path)


def test_the_case_that_used_to_split_them_is_inconclusive_everywhere(tmp_path: Path) -> None:
    # A plain journal whose inject action failed: the fault may never have been injected.
    assert _agree(_plain_failed_inject(), tmp_path) == "inconclusive"


@settings(max_examples=EXAMPLES, deadline=None, database=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture,
                                 HealthCheck.data_too_large])
@given(recipe=Recipe)
def test_consumers_agree_on_hostile_journals(recipe: Any, tmp_path_factory: pytest.TempPathFactory) -> None:
    _agree(apply(recipe), tmp_path_factory.mktemp("agree"))


def test_a_score_prints_one_way_on_every_page() -> None:
    from squall.outcome import shown

    assert [shown(v) for v in (None, 100.0, 37.5, 68.75, 0.0, 62.04)] == ["n/a", "100", "37.5", "68.8", "0", "62"]


@pytest.mark.parametrize("field", ["name", "summary", "verifier"])
def test_a_check_field_nested_thousands_deep_is_read_not_a_crash(
    field: str, tmp_path_factory: pytest.TempPathFactory
) -> None:
    """Found by a random run of the property test above: str() of such a value raised RecursionError."""
    journal = copy.deepcopy(BASES["control_run_journal"])
    [ext] = [e for e in journal["extensions"] if e.get("name") == "squall"]
    ext["checks"][0][field] = nested(5_000)
    if field == "name":
        ext["checks"][0].pop("verifier", None)
    _agree(journal, tmp_path_factory.mktemp("agree"))
