"""report.html and the game-day index in a real headless Chromium: they render, show the verdict, log no console
error, fetch nothing. Screenshots of a passed report, a failed one and an index are kept in $SQUALL_SCREENSHOTS
(when set) for a person to look at."""

import os
import shutil
import struct
import subprocess
from pathlib import Path

import pytest
import report_journals as J

from squall.exitcodes import ExitCode
from squall.gameday.history import History
from squall.gameday.index import render_index
from squall.gameday.model import GameDayResult
from squall.gameday.runner import experiment_result
from squall.gameday.suite import SuiteExperiment
from squall.outcome import suite_score
from squall.reporting import render

CHROMIUM = shutil.which("chromium")

pytestmark = [
    pytest.mark.chromium,
    pytest.mark.skipif(CHROMIUM is None, reason="the chromium binary is not installed (CI installs it via apt)"),
]


def chromium(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    assert CHROMIUM is not None
    return subprocess.run(
        [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync", "--disable-quic",
         "--host-resolver-rules=MAP * ~NOTFOUND",  # any network fetch would fail loudly in the console
         "--enable-logging=stderr", "--v=0", f"--user-data-dir={tmp_path / 'profile'}", *args],
        capture_output=True, text=True, timeout=90, check=False,
    )


def _console_errors(stderr: str) -> list[str]:
    return [line for line in stderr.splitlines()
            if "CONSOLE" in line or "Uncaught" in line or "net::ERR" in line or "Failed to load" in line]


def test_report_renders_in_headless_chromium_without_console_errors(tmp_path: Path) -> None:
    journal = J.aborted_run()
    journal["run"][0]["activity"]["name"] = "<script>console.error('injected')</script>latency"
    html = render(journal, tmp_path / "out")["html"]
    url = html.resolve().as_uri()

    dom = chromium(tmp_path, "--dump-dom", url)
    assert dom.returncode == 0, dom.stderr[-2000:]
    assert 'class="verdict-word">Aborted<' in dom.stdout
    assert "&lt;script&gt;console.error('injected')&lt;/script&gt;latency" in dom.stdout
    assert _console_errors(dom.stderr) == []

    png = tmp_path / "report.png"
    shot = chromium(tmp_path, f"--screenshot={png}", "--window-size=1280,2000", url)
    assert shot.returncode == 0, shot.stderr[-2000:]
    assert _console_errors(shot.stderr) == []
    data = png.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    width, height = struct.unpack(">II", data[16:24])
    assert (width, height) == (1280, 2000)
    assert len(data) > 40_000  # a blank page compresses to a few kB; charts and tables do not


def _index(tmp_path: Path) -> Path:
    """A game-day index linking a passed and a failed experiment's real reports."""
    run_dir = tmp_path / "run"
    exps = []
    for name, journal in (("payments-latency", J.passed_run()), ("payments-retries", J.failed_verifier_run())):
        paths = render(journal, run_dir / name)
        # the game day's own step from journal to result, so the index and the reports show one score
        exps.append(experiment_result(
            SuiteExperiment(path=tmp_path / f"{name}.yaml", name=name), journal, returncode=0, timed_out=False,
            duration_s=42.0, run_id="ab12cd34ef56", out_dir=run_dir / name, journal_path=run_dir / name / "journal.json",
            reports=paths))
    result = GameDayResult(
        suite="payments-weekly", stamp="20251128T032000Z", run_dir=run_dir, started=J.T0, duration_s=90.0,
        exit_code=ExitCode.FAILED, verdict="failed", score=suite_score([(1.0, e.score) for e in exps]),
        experiments=exps,
        reasons=["payments-retries: required experiment failed — " + exps[1].reason])
    page = run_dir / "index.html"
    page.write_text(render_index(result, History(tmp_path / "history.sqlite"), at=page), encoding="utf-8")
    return page


@pytest.mark.parametrize(("page", "expect"), [
    ("passed", 'class="verdict-word">Passed<'),
    ("failed", 'class="verdict-word">Failed<'),
    ("index", '<span class="verdict failed">failed</span>'),
    ("load", "Statistical verdict:</strong> Failed at 95% confidence"),  # both groups per second, with intervals
])
def test_pages_render_and_screenshot_in_headless_chromium(tmp_path: Path, page: str, expect: str) -> None:
    if page == "index":
        html = _index(tmp_path)
    elif page == "load":
        from test_report_load import _with_load

        html = render(_with_load(), tmp_path / "out")["html"]
    else:
        html = render(J.passed_run() if page == "passed" else J.failed_verifier_run(), tmp_path / "out")["html"]
    url = html.resolve().as_uri()
    dom = chromium(tmp_path, "--dump-dom", url)
    assert dom.returncode == 0, dom.stderr[-2000:]
    assert expect in dom.stdout
    assert _console_errors(dom.stderr) == []
    png = tmp_path / f"{page}.png"
    shot = chromium(tmp_path, f"--screenshot={png}", "--window-size=1280,1600", url)
    assert shot.returncode == 0, shot.stderr[-2000:]
    assert _console_errors(shot.stderr) == []
    data = png.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and struct.unpack(">II", data[16:24]) == (1280, 1600)
    assert len(data) > 40_000  # a blank page compresses to a few kB
    keep = os.environ.get("SQUALL_SCREENSHOTS")
    if keep:
        Path(keep).mkdir(parents=True, exist_ok=True)
        shutil.copy(png, Path(keep) / png.name)
