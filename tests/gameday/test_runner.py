"""A game day of real experiments (each a `chaos run` subprocess): score, index page, history, webhook."""

import json
import os
import re
import socket
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web

from squall.background import serve_app
from squall.exitcodes import ExitCode
from squall.gameday.history import History
from squall.gameday.runner import run_suite

from .conftest import experiment, probe, squall


@pytest.fixture
def webhook() -> Iterator[tuple[str, list[Any]]]:
    """A real HTTP server on 127.0.0.1 that records the JSON it is sent."""
    received: list[Any] = []

    async def hook(request: web.Request) -> web.Response:
        received.append(await request.json())
        return web.Response(status=204)

    def app() -> web.Application:
        a = web.Application()
        a.router.add_post("/hook/secret-token", hook)
        return a

    with serve_app(app) as base:
        yield f"{base}/hook/secret-token", received


def test_game_day_scores_links_records_and_notifies(
    tmp_path: Path, passing: Path, failing: Path, write_suite: Callable[..., Path],
    webhook: tuple[str, list[Any]],
) -> None:
    url, received = webhook
    suite = write_suite({
        "name": "payments-weekly",
        "experiments": [{"path": "passing.yaml", "weight": 3, "required": True}, {"path": "failing.yaml"}],
        "gate": {"min_score": 50},
        "notify": {"webhook": url},
    })
    result = run_suite(suite, progress=False)

    assert result.exit_code == ExitCode.PASSED, result.reasons
    by_name = {e.name: e for e in result.experiments}
    assert by_name["passing"].verdict == "passed" and by_name["passing"].score == 100
    # failing: 3 of its 4 checks held -> 50 x 3/4
    assert by_name["failing"].verdict == "failed" and by_name["failing"].score == pytest.approx(37.5)
    assert result.score == pytest.approx((3 * 100 + 1 * 37.5) / 4)
    assert [c.name for c in by_name["failing"].checks if not c.ok] == ["missing-file"]

    # the combined index page: verdicts, score, working links, what cost points
    html = result.index_path.read_text()
    assert result.index_path == result.run_dir / "index.html"
    assert "84.4" in html and "missing-file" in html
    assert "first recorded game day" in html
    for href in re.findall(r'href="([^"]+)"', html):
        assert (result.index_path.parent / href).exists(), href
    assert 'href="failing/journal.json"' in html
    assert 'href="passing/report.html"' in html  # the control's own report, linked
    assert (tmp_path / "reports" / "index.html").exists()

    # history: a row per experiment and one per suite run
    history = History.in_folder(tmp_path / "reports")
    assert {(r.experiment, r.verdict) for r in history.rows(kind="experiment")} == {
        ("passing", "passed"), ("failing", "failed")}
    (suite_row,) = history.rows(kind="suite")
    assert suite_row.score == pytest.approx(84.375) and suite_row.verdict == "passed"

    # the webhook got the JSON summary; the summary and JUnit are on disk
    (sent,) = received
    assert sent["suite"] == "payments-weekly" and sent["exit_code"] == 0
    assert sent["experiments"][1]["failed_checks"] == ["missing-file"]
    assert "missing-file" in result.summary_path.read_text()
    assert b'name="failing"' in result.junit_path.read_bytes()

    # next game day: the failing check is fixed; the index says what changed
    (tmp_path / "no-such-file").write_text("now it exists")
    second = run_suite(suite, progress=False)
    assert second.score == 100
    html = second.index_path.read_text()
    change = re.search(r'<tr data-experiment="failing"><td>failing</td>(.*?)</tr>', html, re.DOTALL)
    assert change is not None
    assert "failed" in change.group(1) and "passed" in change.group(1) and "+62.5" in change.group(1)
    assert len(history.rows(kind="suite")) == 2
    assert len(received) == 2


def test_a_crashing_experiment_costs_only_itself(
    tmp_path: Path, passing: Path, write_experiment: Callable[..., Path], write_suite: Callable[..., Path]
) -> None:
    # os._exit kills the chaos process on the spot: no journal, no report
    crash = {"type": "action", "name": "crash", "provider": {"type": "python", "module": "os", "func": "_exit",
                                                             "arguments": {"status": 7}}}
    write_experiment("crash.yaml", experiment("crashes", [probe("root", "/")], method=[crash]))
    suite = write_suite({"name": "crashy", "experiments": ["crash.yaml", "passing.yaml"]})
    result = run_suite(suite, progress=False)
    crashed, passed = result.experiments
    assert crashed.verdict == "inconclusive" and crashed.returncode == 7
    assert "exited with code 7 without writing a journal" in crashed.reason
    assert passed.verdict == "passed"
    assert result.exit_code == ExitCode.INCONCLUSIVE
    assert result.score == 100  # the inconclusive one is not scored


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_an_unreachable_webhook_is_logged_not_fatal_and_its_token_not_shown(
    tmp_path: Path, passing: Path, write_suite: Callable[..., Path], capsys: pytest.CaptureFixture[str]
) -> None:
    hook = f"http://127.0.0.1:{_closed_port()}/hooks/T0KEN-SECRET"
    suite = write_suite({"name": "quiet", "experiments": ["passing.yaml"], "notify": {"webhook": hook, "timeout_s": 2}})
    result = run_suite(suite)
    assert result.exit_code == ExitCode.PASSED
    err = capsys.readouterr().err
    assert "webhook http://127.0.0.1" in err and "T0KEN-SECRET" not in err
    assert "T0KEN-SECRET" not in json.dumps([str(p) for p in result.run_dir.rglob("*.md")])


def test_the_index_escapes_what_experiments_report(
    tmp_path: Path, write_experiment: Callable[..., Path], write_suite: Callable[..., Path]
) -> None:
    write_experiment("xss.yaml", experiment(
        "<script>alert(1)</script>", [probe("<img src=x onerror=alert(2)>", str(tmp_path / "missing"))]))
    suite = write_suite({"name": "esc", "experiments": ["xss.yaml"]})
    result = run_suite(suite, progress=False)
    html = result.index_path.read_text()
    assert result.exit_code == ExitCode.FAILED
    assert "<script>alert" not in html and "<img src=x" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "<script" not in html and "http://" not in html and "https://" not in html  # self-contained


def test_history_command_lists_game_days_and_experiment_runs(
    tmp_path: Path, passing: Path, write_suite: Callable[..., Path]
) -> None:
    suite = write_suite({"name": "hist", "experiments": ["passing.yaml"]})
    run_suite(suite, progress=False)
    run_suite(suite, progress=False)
    proc = squall("history", "--report-dir", ".", cwd=tmp_path, env={"COLUMNS": "200"})
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.count("hist") >= 2 and "passed" in proc.stdout and " 100 " in proc.stdout  # scores print one way everywhere (squall.outcome.shown)
    proc = squall("history", "--report-dir", ".", "--experiments", "--suite", "nope", cwd=tmp_path)
    assert "passing" not in proc.stdout
    proc = squall("history", "--report-dir", "elsewhere", cwd=tmp_path)
    assert "no game-day history under elsewhere" in proc.stderr


def test_old_game_days_are_pruned_but_history_stays(
    tmp_path: Path, passing: Path, write_suite: Callable[..., Path]
) -> None:
    suite = write_suite({"name": "prune", "experiments": ["passing.yaml"], "reports": {"dir": "r", "keep_days": 1}})
    first = run_suite(suite, progress=False)
    old = time.time() - 3 * 86400
    os.utime(first.run_dir, (old, old))
    second = run_suite(suite, progress=False)
    assert not first.run_dir.exists() and second.run_dir.exists()
    assert len(History.in_folder(tmp_path / "r").rows(kind="suite")) == 2


def test_an_invalid_suite_runs_nothing_and_still_writes_its_reports(
    tmp_path: Path, write_experiment: Callable[..., Path], passing: Path, write_suite: Callable[..., Path]
) -> None:
    bad = {"type": "action", "name": "x", "provider": {"type": "python", "module": "no_such_module_xyz", "func": "f"}}
    write_experiment("bad.yaml", experiment("bad", [probe("root", "/")], method=[bad]))
    suite = write_suite({"name": "invalid", "experiments": ["passing.yaml", "bad.yaml"]})
    result = run_suite(suite, progress=False)
    assert result.exit_code == ExitCode.INVALID and result.experiments == []
    assert any("no_such_module_xyz" in p for p in result.problems)
    assert "no_such_module_xyz" in result.index_path.read_text()
    assert "no_such_module_xyz" in result.summary_path.read_text()
    assert not list(tmp_path.glob("reports/**/journal.json"))


def test_suite_vars_reach_the_experiment_configuration(
    tmp_path: Path, write_experiment: Callable[..., Path], write_suite: Callable[..., Path]
) -> None:
    doc = experiment("configurable", [probe("target-exists", "${target}")], configuration={"target": "/no/such/path"})
    write_experiment("conf.yaml", doc)
    suite = write_suite({"name": "vars", "experiments": [
        {"path": "conf.yaml", "name": "default"},
        {"path": "conf.yaml", "name": "overridden", "vars": {"target": str(tmp_path)}},
    ]})
    result = run_suite(suite, progress=False)
    assert [(e.name, e.verdict) for e in result.experiments] == [("default", "failed"), ("overridden", "passed")]
