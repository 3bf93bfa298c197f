"""`squall demo up` as a user runs it: in the foreground, answering, and gone without a trace after Ctrl-C."""

import os
import queue
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx

from squall.demo.topology import pid_alive

#: the `squall` command, run by this interpreter
SQUALL = [sys.executable, "-c", "from squall.cli import main; main()"]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class LineReader:
    """Collects a child's stdout lines in a thread, so waiting for a line is bounded in time."""

    def __init__(self, proc: subprocess.Popen[str]) -> None:
        assert proc.stdout is not None
        stdout = proc.stdout
        self.lines: queue.Queue[str] = queue.Queue()
        self.seen = ""
        threading.Thread(target=lambda: [self.lines.put(ln) for ln in iter(stdout.readline, "")], daemon=True).start()

    def until(self, marker: str, timeout_s: float) -> str:
        """Everything read so far, once a line contains `marker`; AssertionError after `timeout_s`."""
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            try:
                line = self.lines.get(timeout=0.2)
            except queue.Empty:
                continue
            self.seen += line
            if marker in line:
                return self.seen
        raise AssertionError(f"no {marker!r} within {timeout_s} s; output so far:\n{self.seen}")


def test_demo_up_serves_until_sigint_and_leaves_no_process_behind(tmp_path: Path) -> None:
    port, admin = free_port(), free_port()
    env = {**os.environ, "HOME": str(tmp_path), "NO_PROXY": "127.0.0.1"}  # pid files under a private home
    proc = subprocess.Popen(
        [*SQUALL, "demo", "up", "--port", str(port), "--admin-port", str(admin)],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env,
    )
    try:
        output = LineReader(proc)
        banner = output.until("then, in another terminal", 30)
        assert f"http://127.0.0.1:{port}/checkout" in banner
        assert f"http://127.0.0.1:{admin}" in banner
        with httpx.Client(trust_env=False, timeout=5) as http:
            answer = http.get(f"http://127.0.0.1:{port}/checkout")
            assert answer.status_code == 200 and answer.json()["payment"] == "captured"
            proxies = http.get(f"http://127.0.0.1:{admin}/proxies").json()
            assert set(proxies) == {"payments", "inventory-1", "inventory-2"}
        state = tmp_path / ".local" / "state" / "squall" / f"demo-{port}"
        replica_pids = [int((state / f"inventory-{n}.pid").read_text()) for n in (1, 2)]
        assert all(pid_alive(p) for p in replica_pids)

        proc.send_signal(signal.SIGINT)
        assert proc.wait(timeout=20) == 0
        assert "stopped." in output.until("stopped.", 5)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(10)
    # Nothing is left: replicas gone, their pid files removed, ports free again.
    assert not any(pid_alive(p) for p in replica_pids)
    assert not list(state.glob("*.pid"))
    for p in (port, admin):
        with socket.socket() as s:
            assert s.connect_ex(("127.0.0.1", p)) != 0, f"port {p} still answers"


def test_demo_up_names_a_busy_port(tmp_path: Path) -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        env = {**os.environ, "HOME": str(tmp_path)}
        proc = subprocess.run(
            [*SQUALL, "demo", "up", "--port", str(port), "--admin-port", str(free_port())],
            check=False, capture_output=True, text=True, env=env, timeout=60,
        )
    assert proc.returncode == 5, proc.stdout + proc.stderr
    assert "could not run the demo system" in proc.stdout
    assert str(port) in proc.stdout


def test_bundled_experiments_and_suite_are_valid() -> None:
    from click.testing import CliRunner

    from squall.cli import main
    from squall.demo.gameday import EXPERIMENTS_DIR

    files = sorted(str(p) for p in EXPERIMENTS_DIR.glob("*.yaml"))
    assert len(files) == 9  # six lessons, the suite, the load lesson and its suite
    result = CliRunner().invoke(main, ["validate", "--offline", *files])
    assert result.exit_code == 0, result.output
    assert result.output.count(": valid") == 9
