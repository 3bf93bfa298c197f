"""Local process faults: kill, stop (freeze) and continue a process found by pid file or name pattern.

The demo's stand-in for a pod kill. A stopped process is a fault recorded in
the fault ledger (kind ``process.stopped``) *before* SIGSTOP is sent, so the
control, rollbacks and ``squall cleanup`` resume it (SIGCONT) even after a
crash. Killing cannot be undone; it is reported in the activity's output.

Processes are found on Linux through ``/proc``. squall never signals itself
or its parent, and refuses to touch more processes than ``max_processes``.
"""

import logging
import os
import re
import signal
import time
from pathlib import Path
from typing import Any, Literal

from squall import config
from squall.activity import activity
from squall.errors import ExperimentInvalid, SquallError
from squall.ledger import Entry, Ledger

__all__ = ["continue_process", "kill_process", "stop_process"]

logger = logging.getLogger("squall.actions.process")

KillSignal = Literal["SIGTERM", "SIGKILL", "SIGINT", "SIGHUP", "SIGQUIT"]
KILL_SIGNALS: tuple[str, ...] = ("SIGTERM", "SIGKILL", "SIGINT", "SIGHUP", "SIGQUIT")
PROC = Path("/proc")
MAX_STOP_S = 3600.0


def _start_time(pid: int) -> str | None:
    """The kernel's start time of a pid (field 22 of /proc/PID/stat), to detect pid reuse."""
    try:
        stat = (PROC / str(pid) / "stat").read_text()
    except OSError:
        return None
    # the command name (field 2) may hold spaces and parentheses: split after the last ")"
    fields = stat.rsplit(")", 1)[-1].split()
    return fields[19] if len(fields) > 19 else None


def _cmdline(pid: int) -> str:
    try:
        raw = (PROC / str(pid) / "cmdline").read_bytes()
    except OSError:
        return ""
    return raw.replace(b"\0", b" ").decode("utf-8", "replace").strip()


def _read_pid_file(pid_file: str) -> int:
    path = Path(pid_file).expanduser()
    try:
        text = path.read_text().strip()
    except OSError as exc:
        raise ExperimentInvalid(f'cannot read pid file "{path}": {exc.strerror}') from exc
    if not text.isdigit() or int(text) <= 0:
        raise ExperimentInvalid(f'pid file "{path}" holds "{text[:40]}" (expected a positive process id)')
    return int(text)


def _find(pid_file: str | None, name_pattern: str | None, max_processes: int) -> list[int]:
    """Resolve the target processes; raise ExperimentInvalid for bad arguments or no match."""
    if (pid_file is None) == (name_pattern is None):
        raise ExperimentInvalid("give exactly one of pid_file or name_pattern (expected e.g. pid_file: /run/app.pid)")
    if not isinstance(max_processes, int) or max_processes < 1:
        raise ExperimentInvalid(f"max_processes {max_processes!r} is not valid (expected an integer >= 1)")
    protected = {os.getpid(), os.getppid(), 1}
    if pid_file is not None:
        pid = _read_pid_file(pid_file)
        if pid in protected:
            raise ExperimentInvalid(f"pid file {pid_file} names pid {pid}, which squall refuses to signal (itself, its parent or init)")
        if _start_time(pid) is None:
            raise SquallError(f"no process with pid {pid} (from pid file {pid_file})")
        return [pid]
    try:
        regex = re.compile(str(name_pattern))
    except re.error as exc:
        raise ExperimentInvalid(f'name_pattern "{name_pattern}" is not a valid regular expression ({exc})') from exc
    pids = sorted(
        int(p.name)
        for p in PROC.iterdir()
        if p.name.isdigit() and int(p.name) not in protected and regex.search(_cmdline(int(p.name)))
    )
    if not pids:
        raise SquallError(f'no process matches name_pattern "{name_pattern}"')
    if len(pids) > max_processes:
        raise ExperimentInvalid(
            f'name_pattern "{name_pattern}" matches {len(pids)} processes {pids[:10]} '
            f"(expected at most max_processes={max_processes}; narrow the pattern or raise the cap)"
        )
    return pids


def _state(pid: int) -> str | None:
    """The process state letter (R, S, T, Z, ...) from /proc, None if gone."""
    try:
        stat = (PROC / str(pid) / "stat").read_text()
    except OSError:
        return None
    fields = stat.rsplit(")", 1)[-1].split()
    return fields[0] if fields else None


def _wait_stopped(pid: int, timeout_s: float = 2.0) -> bool:
    """Wait (bounded) until the kernel shows the process stopped: SIGSTOP is delivered asynchronously."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if _state(pid) in ("T", "t", None):
            return True
        time.sleep(0.005)
    return False


def _describe(pid: int) -> dict[str, Any]:
    return {"pid": pid, "cmdline": _cmdline(pid)[:200]}


@activity(role="inject")
def kill_process(
    pid_file: str | None = None,
    name_pattern: str | None = None,
    signal_name: KillSignal = "SIGTERM",
    max_processes: int = 1,
) -> dict[str, Any]:
    """Send a terminating signal (default SIGTERM) to a local process found by pid file or command-line regex; not undoable."""
    if signal_name not in KILL_SIGNALS:
        raise ExperimentInvalid(f'unknown signal "{signal_name}" (expected one of: {", ".join(KILL_SIGNALS)})')
    pids = _find(pid_file, name_pattern, max_processes)
    targets = [_describe(pid) for pid in pids]
    sig = getattr(signal, signal_name)
    killed = []
    for pid in pids:
        try:
            os.kill(pid, sig)
            killed.append(pid)
        except ProcessLookupError:
            logger.info("process %s was already gone", pid)
        except PermissionError as exc:
            raise SquallError(f"not allowed to send {signal_name} to pid {pid}: {exc.strerror}") from exc
    return {"signal": signal_name, "processes": targets, "killed": killed}


@activity(role="inject")
def stop_process(
    pid_file: str | None = None,
    name_pattern: str | None = None,
    duration_s: float = 0.0,
    max_processes: int = 1,
    configuration: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Freeze a local process (SIGSTOP), recorded in the fault ledger; with duration_s > 0 resume it (SIGCONT) after that many seconds."""
    if not isinstance(duration_s, (int, float)) or not 0 <= duration_s <= MAX_STOP_S:
        raise ExperimentInvalid(f"duration_s {duration_s!r} is not valid (expected a number of seconds from 0 to {MAX_STOP_S:g})")
    pids = _find(pid_file, name_pattern, max_processes)
    ledger = Ledger(config.ledger_path(configuration))
    entries: list[Entry] = []
    try:
        for pid in pids:
            entry = ledger.apply(
                "process.stopped",
                target=_describe(pid),
                undo={"pid": pid, "start_time": _start_time(pid)},
                description=f"process {pid} stopped (SIGSTOP)",
            )
            try:
                os.kill(pid, signal.SIGSTOP)
            except OSError as exc:
                ledger.strike(entry.id, outcome="failed-to-apply")
                raise SquallError(f"cannot stop pid {pid}: {exc.strerror}") from exc
            entries.append(entry)
            if not _wait_stopped(pid):
                logger.warning("process %s did not show as stopped within 2 s", pid)
        if duration_s > 0:
            time.sleep(duration_s)
    finally:
        if duration_s > 0:
            for entry in entries:
                undo_entry(entry)
                ledger.strike(entry.id, outcome="removed")
    return {"stopped": pids, "resumed": pids if duration_s > 0 else [], "ledger_ids": [e.id for e in entries]}


@activity(role="heal")
def continue_process(
    pid_file: str | None = None,
    name_pattern: str | None = None,
    max_processes: int = 1,
    configuration: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Resume a stopped local process (SIGCONT) and strike its fault off the ledger."""
    pids = _find(pid_file, name_pattern, max_processes)
    ledger = Ledger(config.ledger_path(configuration))
    for pid in pids:
        try:
            os.kill(pid, signal.SIGCONT)
        except ProcessLookupError:
            continue
    struck = []
    for entry in ledger.open_entries():
        if entry.kind == "process.stopped" and entry.undo.get("pid") in pids:
            ledger.strike(entry.id, outcome="removed")
            struck.append(entry.id)
    return {"resumed": pids, "ledger_ids": struck}


def undo_entry(entry: Entry) -> str:
    """Resume the process of a ``process.stopped`` ledger entry; a process that is gone counts as removed."""
    pid = int(entry.undo["pid"])
    recorded = entry.undo.get("start_time")
    if recorded is not None and _start_time(pid) not in (None, recorded):
        return f"pid {pid} now belongs to another process; left alone"
    try:
        os.kill(pid, signal.SIGCONT)
    except ProcessLookupError:
        return f"process {pid} is gone"
    except PermissionError as exc:
        raise SquallError(f"not allowed to resume pid {pid}: {exc.strerror}") from exc
    return f"resumed process {pid} (SIGCONT)"
