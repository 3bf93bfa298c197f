"""squall.actions.process against real child processes: stop/continue through the ledger, kill, guardrails."""

import os
import signal
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from chaos_harness import ChaosRun, Upstream, action, experiment, wait_action, wait_for
from chaoslib.exceptions import ActivityFailed

from squall.actions.process import continue_process, kill_process, stop_process
from squall.cleanup import cleanup
from squall.ledger import Ledger


def _state(pid: int) -> str:
    return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]


@pytest.fixture
def sleeper(tmp_path: Path) -> Iterator[tuple[subprocess.Popen, Path, str]]:
    marker = f"squall-test-sleeper-{uuid.uuid4().hex[:8]}"
    proc = subprocess.Popen([sys.executable, "-c", "import time, sys; time.sleep(60)", marker])
    # the kernel fills /proc/PID/cmdline a moment after exec returns to the parent
    wait_for(lambda: marker.encode() in Path(f"/proc/{proc.pid}/cmdline").read_bytes(), timeout=10)
    pid_file = tmp_path / "sleeper.pid"
    pid_file.write_text(f"{proc.pid}\n")
    yield proc, pid_file, marker
    if proc.poll() is None:
        os.kill(proc.pid, signal.SIGCONT)
        proc.kill()
        proc.wait(10)


def test_stop_is_in_the_ledger_before_and_cleanup_resumes_it(sleeper) -> None:
    proc, pid_file, _ = sleeper
    out = stop_process(pid_file=str(pid_file))
    assert out["stopped"] == [proc.pid]
    assert _state(proc.pid) == "T"
    ledger = Ledger(os.environ["SQUALL_LEDGER"])
    (entry,) = ledger.open_entries()
    assert entry.kind == "process.stopped" and entry.undo["pid"] == proc.pid
    (result,) = cleanup(ledger)
    assert result.removed and "resumed" in result.message
    assert _state(proc.pid) != "T"
    assert ledger.open_entries() == []


def test_stop_for_a_duration_resumes_by_itself(sleeper) -> None:
    proc, _, marker = sleeper
    out = stop_process(name_pattern=marker, duration_s=0.2)
    assert out["resumed"] == [proc.pid]
    assert _state(proc.pid) != "T"
    (entry,) = Ledger(os.environ["SQUALL_LEDGER"]).entries()
    assert entry.outcome == "removed"


def test_continue_resumes_and_strikes_the_fault(sleeper) -> None:
    proc, pid_file, _ = sleeper
    stop_process(pid_file=str(pid_file))
    out = continue_process(pid_file=str(pid_file))
    assert out["resumed"] == [proc.pid] and len(out["ledger_ids"]) == 1
    assert _state(proc.pid) != "T"
    assert Ledger(os.environ["SQUALL_LEDGER"]).open_entries() == []


def test_kill_sends_the_signal_and_is_reported(sleeper) -> None:
    proc, _, marker = sleeper
    out = kill_process(name_pattern=marker, signal_name="SIGKILL")
    assert out["killed"] == [proc.pid] and marker in out["processes"][0]["cmdline"]
    assert proc.wait(10) == -signal.SIGKILL
    assert Ledger(os.environ["SQUALL_LEDGER"]).entries() == []  # not undoable, so not a ledger fault


def test_guardrails_name_the_bad_value(sleeper, tmp_path: Path) -> None:
    proc, pid_file, marker = sleeper
    twin = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)", marker])
    try:
        wait_for(lambda: marker.encode() in Path(f"/proc/{twin.pid}/cmdline").read_bytes(), timeout=10)
        with pytest.raises(ActivityFailed, match=r"matches 2 processes .* max_processes=1"):
            stop_process(name_pattern=marker)
        assert _state(proc.pid) != "T" and _state(twin.pid) != "T"
    finally:
        twin.kill()
        twin.wait(10)
    with pytest.raises(ActivityFailed, match='unknown signal "SIGFOO"'):
        kill_process(pid_file=str(pid_file), signal_name="SIGFOO")  # type: ignore[arg-type]
    with pytest.raises(ActivityFailed, match="cannot read pid file"):
        stop_process(pid_file=str(tmp_path / "missing.pid"))
    (tmp_path / "self.pid").write_text(str(os.getpid()))
    with pytest.raises(ActivityFailed, match="refuses to signal"):
        kill_process(pid_file=str(tmp_path / "self.pid"))
    assert Ledger(os.environ["SQUALL_LEDGER"]).entries() == []


def _accept_queue(host_port: str) -> int:
    """Connections waiting in the accept queue of the process listening on `host_port` (IPv4, from /proc/net/tcp)."""
    port = int(host_port.rsplit(":", 1)[1])
    for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
        fields = line.split()
        if int(fields[1].split(":")[1], 16) == port and fields[3] == "0A":  # LISTEN: rx_queue is the accept queue
            return int(fields[4].split(":")[1], 16)
    return 0


def test_sigterm_during_a_chaos_run_resumes_the_stopped_process(upstream: Upstream, start_chaos) -> None:
    exp = experiment(
        method=[action("freeze upstream", "squall.actions.process", "stop_process", pid_file=str(upstream.pid_file)), wait_action(30)],
        arguments={"sli": [{"name": "up", "url": upstream.url, "interval_s": 0.1, "timeout_s": 0.3}], "report": False},
    )
    run: ChaosRun = start_chaos(exp)
    wait_for(lambda: upstream.state() == "T" and "Action: hold" in run.output, timeout=30)
    # let the SLI meet the frozen upstream: it sends one request at a time, each on a new connection the frozen
    # server never accepts, and records a request's timeout before it sends the next. So two connections waiting
    # mean a failed sample was recorded (a fixed sleep could SIGTERM before the first timeout: SIGCONT then answers it)
    wait_for(lambda: _accept_queue(upstream.host_port) >= 2, timeout=30, step=0.02)
    run.proc.send_signal(signal.SIGTERM)
    wait_for(lambda: upstream.state() != "T", timeout=10, step=0.02)
    assert run.wait(30) != 0
    ext = run.squall()
    assert ext["verdict"] == "inconclusive" and "SIGTERM" in ext["reason"]
    assert [w["kind"] for w in ext["fault_windows"]] == ["process.stopped"]
    assert any(r[2] == 0 for r in ext["timeline"]["samples"])  # the frozen upstream showed in the SLI
