"""The scheduler fires on a cron due within seconds, one game day at a time, and SIGTERM stops it cleanly."""

import itertools
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import pytest

from squall.gameday.history import History
from squall.gameday.schedule import next_fire
from squall.gameday.suite import Schedule

from .conftest import squall


def test_next_fire_follows_the_time_zone() -> None:
    after = datetime(2026, 3, 24, 8, 30, tzinfo=UTC)  # a Tuesday, 09:30 in Berlin (CET)
    fire = next_fire(Schedule("0 10 * * TUE", "Europe/Berlin"), after)
    assert fire.isoformat() == "2026-03-24T10:00:00+01:00"
    # after the switch to summer time the same cron is still 10:00 local
    fire = next_fire(Schedule("0 10 * * TUE", "Europe/Berlin"), fire)
    assert fire.isoformat() == "2026-03-31T10:00:00+02:00"
    every_2s = next_fire(Schedule("* * * * * */2"), after)
    assert every_2s == datetime(2026, 3, 24, 8, 30, 2, tzinfo=UTC)


def test_once_runs_the_next_occurrence_and_exits_with_its_code(
    tmp_path: Path, failing: Path, write_suite: Callable[..., Path]
) -> None:
    suite = write_suite({"name": "soon", "schedule": {"cron": "* * * * * */2", "timezone": "UTC"},
                         "experiments": ["failing.yaml"]})
    proc = squall("gameday", "schedule", str(suite), "--once", cwd=tmp_path, timeout=90)
    assert proc.returncode == 1, proc.stderr
    assert "next game day of soon at" in proc.stderr
    (row,) = History.in_folder(tmp_path / "reports").rows(kind="suite")
    assert row.verdict == "failed"


def test_a_suite_without_a_schedule_is_refused(tmp_path: Path, passing: Path, write_suite: Callable[..., Path]) -> None:
    suite = write_suite({"name": "never", "experiments": ["passing.yaml"]})
    proc = squall("gameday", "schedule", str(suite), "--once", cwd=tmp_path)
    assert proc.returncode == 4 and "schedule: missing" in proc.stderr


@pytest.mark.slow
def test_the_loop_fires_repeatedly_never_overlaps_and_stops_on_sigterm(
    tmp_path: Path, passing: Path, failing: Path, write_suite: Callable[..., Path]
) -> None:
    suite = write_suite({"name": "loop", "schedule": {"cron": "* * * * * */2", "timezone": "UTC"},
                         "experiments": ["passing.yaml", "failing.yaml"]})
    proc = subprocess.Popen(
        [sys.executable, "-c", "from squall.cli import main; main()", "gameday", "schedule", str(suite)],
        cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    history = History.in_folder(tmp_path / "reports")
    try:
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline and len(history.rows(kind="suite")) < 2:
            assert proc.poll() is None, proc.communicate()
            time.sleep(0.2)
        runs = history.rows(kind="suite")
        assert len(runs) >= 2
    finally:
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=60)
    assert proc.returncode == 0, err
    assert "stopped by signal" in err
    runs = sorted(history.rows(kind="suite"), key=lambda r: r.started)
    for earlier, later in itertools.pairwise(runs):
        assert later.started >= earlier.started + earlier.duration_s - 0.01  # never two at once
    # a failing experiment fails each game day but does not stop the schedule
    assert [r.verdict for r in runs[:2]] == ["failed", "failed"]
    assert all(r.verdict == "failed" for r in runs[2:-1])
    assert runs[-1].verdict in ("failed", "interrupted")  # SIGTERM may land during a game day
    assert sum(1 for r in history.rows(kind="experiment") if r.experiment == "passing" and r.verdict == "passed") >= 2
