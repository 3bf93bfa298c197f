"""Run a suite on its cron schedule in the foreground: one game day at a time, SIGTERM stops cleanly.

The cron expression is read with croniter (5 fields, or 6 with seconds last,
e.g. ``"* * * * * */10"`` every ten seconds) in the suite's time zone
(zoneinfo), so "0 10 * * TUE" in Europe/Berlin stays at 10:00 local time
across daylight-saving changes. Sleeps are at most a second long so a signal
is honoured promptly. A game day that overruns the next occurrence makes the
scheduler skip the missed occurrences rather than start two at once; a lock
file in the report folder keeps a second scheduler of the same suite from
starting a game day while one is running.
"""

import fcntl
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from croniter import croniter
from rich.console import Console

from squall.errors import ExperimentInvalid
from squall.exitcodes import ExitCode
from squall.gameday.runner import Stopper, run_suite
from squall.gameday.suite import Schedule, load_suite

#: longest single sleep, so SIGTERM is honoured within about this long
TICK_S = 1.0


def next_fire(schedule: Schedule, after: datetime | None = None) -> datetime:
    """The next time the schedule fires after `after` (default now), in the schedule's time zone."""
    tz = ZoneInfo(schedule.timezone)
    start = (after or datetime.now(tz)).astimezone(tz)
    fire = croniter(schedule.cron, start).get_next(datetime)
    assert isinstance(fire, datetime)
    return fire


@contextmanager
def run_lock(folder: Path) -> Iterator[bool]:
    """Hold the suite's run lock if free; yields False when another game day of it is running."""
    folder.mkdir(parents=True, exist_ok=True)
    with open(folder / ".gameday.lock", "w") as fh:
        try:
            fcntl.flock(fh.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            yield False
            return
        try:
            yield True
        finally:
            fcntl.flock(fh.fileno(), fcntl.LOCK_UN)


def run_schedule(
    suite_path: Path,
    *,
    once: bool = False,
    report_dir: Path | None = None,
    console: Console | None = None,
    stopper: Stopper | None = None,
) -> ExitCode:
    """Run the suite at each cron occurrence until stopped (or once); the exit code of the last game day."""
    console = console or Console(stderr=True, soft_wrap=True)
    suite = load_suite(suite_path)
    if suite.schedule is None:
        raise ExperimentInvalid(f'{suite_path}: schedule: missing (expected {{cron: "0 10 * * TUE", timezone: UTC}})')
    own = stopper is None
    stopper = stopper or Stopper()
    if own:
        stopper.install()
    last = ExitCode.PASSED
    try:
        while not stopper.event.is_set():
            fire = next_fire(suite.schedule)
            _log(console, f"next game day of {suite.name} at {fire.isoformat()} ({suite.schedule.cron!r}, {suite.schedule.timezone})")
            if _sleep_until(fire, stopper):
                break
            try:
                suite = load_suite(suite_path)  # pick up edits between game days
            except ExperimentInvalid as exc:
                _log(console, f"[red]suite is invalid, skipping this game day:[/] {exc}")
                last = ExitCode.INVALID
                if once:
                    break
                continue
            with run_lock(report_dir or suite.reports_dir) as acquired:
                if not acquired:
                    _log(console, "[yellow]a game day of this suite is still running elsewhere; skipping this occurrence[/]")
                    continue
                _log(console, f"starting game day of {suite.name}")
                try:
                    result = run_suite(suite, report_dir=report_dir, console=console, stopper=stopper)
                except Exception as exc:  # noqa: BLE001 - one broken game day must not end the schedule
                    _log(console, f"[red]game day crashed:[/] {type(exc).__name__}: {exc}")
                    last = ExitCode.ERROR
                else:
                    last = result.exit_code
            if once:
                break
    finally:
        if own:
            stopper.restore()
    if stopper.signum is not None:
        _log(console, "stopped by signal; the scheduler exits")
    return last


def _sleep_until(when: datetime, stopper: Stopper) -> bool:
    """Sleep until `when` in ticks of at most TICK_S; True if a stop was requested first."""
    while True:
        remaining = when.timestamp() - time.time()
        if remaining <= 0:
            return stopper.event.is_set()
        if stopper.sleep(min(TICK_S, remaining)):
            return True


def _log(console: Console, message: str) -> None:
    console.print(f"[dim]{datetime.now().astimezone().isoformat(timespec='seconds')}[/] {message}", highlight=False)
