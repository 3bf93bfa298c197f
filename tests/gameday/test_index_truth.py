"""The game-day index, history and CLI agree with each other and with the reports: real game days of real runs."""

import json
import re
from collections.abc import Callable
from pathlib import Path

import pytest

from squall.demo.gameday import SUITE_PATH
from squall.exitcodes import ExitCode
from squall.gameday.history import History
from squall.gameday.index import render_index
from squall.gameday.model import ExperimentResult, GameDayResult
from squall.gameday.runner import run_suite
from squall.gameday.suite import load_suite
from squall.outcome import Check
from squall.reporting.formatting import duration

from .conftest import experiment, probe, squall


def _cells(index_html: str, table_id: str) -> list[list[str]]:
    """The text of each row's cells of one table of the index page."""
    table = re.search(rf'<table id="{table_id}">(.*?)</table>', index_html, re.S)
    assert table is not None, table_id
    return [[" ".join(re.sub(r"<[^>]+>", " ", c).split()) for c in re.findall(r"<td[^>]*>(.*?)</td>", row, re.S)]
            for row in re.findall(r"<tr[^>]*>(.*?)</tr>", table[1], re.S)[1:]]


def test_fragile_runs_stay_out_of_the_baseline_and_the_trend_and_durations_agree(
    tmp_path: Path, write_experiment: Callable[..., Path], write_suite: Callable[..., Path],
) -> None:
    flag = tmp_path / "healthy"
    write_experiment("flaky.yaml", experiment("holds while the flag file exists", [probe("flag", str(flag))]))
    suite = write_suite({"name": "weekly", "experiments": [{"path": "flaky.yaml"}]})
    flag.touch()
    first = run_suite(suite, progress=False)
    flag.unlink()
    fragile = run_suite(suite, progress=False, env={"SQUALL_FRAGILE": "1"})  # what `squall demo --fragile` sets
    flag.touch()
    last = run_suite(suite, progress=False)
    assert [first.exit_code, fragile.exit_code, last.exit_code] == [ExitCode.PASSED, ExitCode.FAILED, ExitCode.PASSED]
    assert (first.fragile, fragile.fragile, last.fragile) == (False, True, False)

    # what changed since the last game day: the baseline is the last real one, never the fragile one
    (change,) = last.changes
    assert (change.verdict_before, change.verdict_now) == ("passed", "passed")
    assert not change.verdict_changed

    fragile_index = (fragile.run_dir / "index.html").read_text(encoding="utf-8")
    assert 'id="fragile">fragile</span>' in fragile_index and "(fragile)</title>" in fragile_index
    assert fragile.summary_md.splitlines()[0].endswith("— fragile")
    assert "Fragile run" in fragile.summary_md and "Fragile run" not in last.summary_md
    index = (last.run_dir / "index.html").read_text(encoding="utf-8")
    assert "fragile" not in index.split("<h2>Recent game days</h2>")[1]  # left out of the trend
    assert [row[0] for row in _cells(index, "history")] == [last.stamp, first.stamp]

    # one duration per run: the report's "took", the index's time and the history row are the same number
    (exp,) = last.experiments
    journal = json.loads((exp.report_dir / "journal.json").read_text())
    ext = next(e for e in journal["extensions"] if e.get("name") == "squall")
    took = duration(ext["ended"] - ext["started"])
    assert exp.duration_s == pytest.approx(ext["ended"] - ext["started"])
    assert f"took {took}" in " ".join(re.sub(r"<[^>]+>", " ", exp.report_paths["html"].read_text()).split())
    row = _cells(index, "experiments")[0]
    assert row[5] == took
    assert f"| flaky | ✅ passed | 100 | 1 | yes | {took} |" in last.summary_md  # the job page agrees
    # the required column matches the suite: no minimum score, nothing marked, so every experiment is required
    assert row[4] == "yes"

    out = squall("history", "--report-dir", str(tmp_path / "reports"), cwd=tmp_path, env={"COLUMNS": "200"})
    assert out.returncode == 0, out.stderr
    assert out.stdout.count("weekly") == 2 and "1 `squall demo --fragile` run(s) left out" in out.stdout
    out = squall("history", "--report-dir", str(tmp_path / "reports"), "--fragile", cwd=tmp_path,
                 env={"COLUMNS": "200"})
    assert out.stdout.count("weekly") == 3 and "(fragile)" in out.stdout


def _result(tmp_path: Path, min_score: float | None, required: dict[str, bool]) -> GameDayResult:
    exps = [ExperimentResult(
        name=name, path=tmp_path / f"{name}.yaml", verdict="failed", reason="verifier x failed", score=25.0,
        weight=1.0, required=marked, checks=(Check("x", "verifier", False, "x failed"),), report_paths={},
        journal_path=None, duration_s=0.8017, run_id=None, returncode=1, report_dir=tmp_path / name)
        for name, marked in required.items()]
    return GameDayResult(suite="s", stamp="20261202T000000Z", run_dir=tmp_path, started=0.0, duration_s=2.0,
                         exit_code=ExitCode.FAILED, verdict="failed", score=25.0, min_score=min_score,
                         reasons=[], experiments=exps)


@pytest.mark.parametrize(("min_score", "marked", "expected"), [
    (None, {"a": False, "b": False}, ["yes", "yes"]),  # nothing gates: every experiment is required
    (None, {"a": True, "b": False}, ["yes", "no"]),
    (80.0, {"a": False, "b": False}, ["no", "no"]),  # the score gates
])
def test_the_required_column_is_what_the_gate_requires(
    tmp_path: Path, min_score: float | None, marked: dict[str, bool], expected: list[str],
) -> None:
    html = render_index(_result(tmp_path, min_score, marked), History(tmp_path / "h.sqlite"), at=tmp_path / "i.html")
    rows = _cells(html, "experiments")
    assert [r[4] for r in rows] == expected
    assert [r[5] for r in rows] == ["801.7 ms", "801.7 ms"]  # the same duration text as the report's


def test_the_demo_suite_inside_the_package_writes_its_reports_under_the_current_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.chdir(tmp_path)
    suite = load_suite(SUITE_PATH)
    assert suite.reports_dir == tmp_path / "reports" / "demo"
    assert not suite.reports_dir.is_relative_to(SUITE_PATH.parent)
