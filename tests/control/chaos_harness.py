"""Fixtures for the control tests: a real upstream process, the embedded proxy, and `chaos run` as a subprocess."""

import json
import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from services.processes import stop

from squall.proxy import run_in_thread
from squall.toxiproxy_client import ToxiproxyClient

HERE = Path(__file__).parent
CHAOS = str(Path(sys.executable).parent / "chaos")
SQUALL = str(Path(sys.executable).parent / "squall")
PROXY = "svc"


def wait_for(predicate: Callable[[], Any], timeout: float = 15.0, step: float = 0.05) -> Any:
    """Poll until predicate() is truthy (bounded in time); return its value or fail."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(step)
    raise AssertionError(f"condition not met within {timeout} s")


@dataclass
class Upstream:
    """A plain HTTP server in its own process (so a test can freeze it)."""

    url: str
    host_port: str
    pid: int
    pid_file: Path

    def state(self) -> str:
        """The process state letter from /proc (T = stopped)."""
        stat = Path(f"/proc/{self.pid}/stat").read_text()
        return stat.rsplit(")", 1)[1].split()[0]


@pytest.fixture
def upstream(tmp_path: Path) -> Iterator[Upstream]:
    root = tmp_path / "www"
    root.mkdir()
    (root / "index.html").write_text("ok\n")
    proc = subprocess.Popen(
        [sys.executable, "-u", "-m", "http.server", "0", "--bind", "127.0.0.1", "--directory", str(root)],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    assert proc.stdout is not None
    line = proc.stdout.readline()
    match = re.search(r"port (\d+)", line)
    assert match, f"http.server did not announce its port: {line!r}"
    port = int(match.group(1))
    pid_file = tmp_path / "upstream.pid"
    pid_file.write_text(str(proc.pid))
    try:
        yield Upstream(f"http://127.0.0.1:{port}/", f"127.0.0.1:{port}", proc.pid, pid_file)
    finally:
        os.kill(proc.pid, signal.SIGCONT)
        stop(proc)


@dataclass
class Proxied:
    """The embedded proxy with one proxy "svc" in front of the upstream."""

    api: str
    url: str  # the upstream through the proxy
    client: ToxiproxyClient

    def assert_clean(self) -> None:
        """No toxic left on any proxy, and every proxy enabled."""
        for name, proxy in self.client.proxies().items():
            assert proxy["enabled"], f"proxy {name} left disabled"
            assert self.client.toxics(name) == [], f"toxics left on {name}: {self.client.toxics(name)}"


@pytest.fixture
def proxied(upstream: Upstream) -> Iterator[Proxied]:
    with run_in_thread(host="127.0.0.1", port=0) as proxy, ToxiproxyClient(proxy.url) as client:
        created = client.create_proxy(PROXY, "127.0.0.1:0", upstream.host_port)
        port = created["listen"].rsplit(":", 1)[1]
        yield Proxied(proxy.url, f"http://127.0.0.1:{port}/", client)


@dataclass
class ChaosRun:
    """A `chaos run` subprocess and where its journal goes."""

    proc: subprocess.Popen[str]
    journal_path: Path
    log_path: Path
    started: float = field(default_factory=time.monotonic)

    def wait(self, timeout: float = 60.0) -> int:
        """Wait for the run to end (bounded); return its exit code."""
        return self.proc.wait(timeout=timeout)

    @property
    def output(self) -> str:
        """What chaos printed so far."""
        return self.log_path.read_text(errors="replace")

    def journal(self) -> dict[str, Any]:
        """The journal chaos wrote."""
        return json.loads(self.journal_path.read_text())

    def squall(self) -> dict[str, Any]:
        """The squall entry of the journal's extensions."""
        entries = [e for e in self.journal().get("extensions", []) if e.get("name") == "squall"]
        assert len(entries) == 1, self.output[-3000:]
        return entries[0]


def experiment(
    method: list[dict[str, Any]],
    arguments: dict[str, Any] | None = None,
    hypothesis: list[dict[str, Any]] | None = None,
    rollbacks: list[dict[str, Any]] | None = None,
    configuration: dict[str, Any] | None = None,
    secrets: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """A Chaos Toolkit experiment with the squall control."""
    exp: dict[str, Any] = {
        "title": "squall control test",
        "description": "written by tests/control",
        "controls": [
            {"name": "squall", "provider": {"type": "python", "module": "squall.control", "arguments": arguments or {}}}
        ],
        "method": method,
        "rollbacks": rollbacks or [],
    }
    if hypothesis:
        exp["steady-state-hypothesis"] = {"title": "healthy", "probes": hypothesis}
    if configuration:
        exp["configuration"] = configuration
    if secrets:
        exp["secrets"] = secrets
    return exp


def action(name: str, module: str, func: str, **arguments: Any) -> dict[str, Any]:
    """A python action."""
    return {"type": "action", "name": name, "provider": {"type": "python", "module": module, "func": func, "arguments": arguments}}


def probe(name: str, module: str, func: str, tolerance: Any = None, **arguments: Any) -> dict[str, Any]:
    """A python probe (with a tolerance when it sits in the steady state)."""
    out: dict[str, Any] = {"type": "probe", "name": name, "provider": {"type": "python", "module": module, "func": func, "arguments": arguments}}
    if tolerance is not None:
        out["tolerance"] = tolerance
    return out


def wait_action(seconds: float, stubborn: bool = False) -> dict[str, Any]:
    """Hold for a while (a stubborn hold swallows interrupts)."""
    return action("hold", "ctl_helpers", "stubborn_wait" if stubborn else "wait", seconds=seconds)


@pytest.fixture
def start_chaos(tmp_path: Path) -> Iterator[Callable[..., ChaosRun]]:
    runs: list[ChaosRun] = []

    def start(exp: dict[str, Any], *args: str, env: dict[str, str] | None = None, settings: dict[str, Any] | None = None,
              unset: list[str] | None = None) -> ChaosRun:
        path = tmp_path / f"experiment-{len(runs)}.json"
        path.write_text(json.dumps(exp))
        journal = tmp_path / f"journal-{len(runs)}.json"
        full_env = {**os.environ, "PYTHONPATH": str(HERE), "SQUALL_REPORT_DIR": str(tmp_path / "report"), **(env or {})}
        for name in unset or []:
            full_env.pop(name, None)
        log = tmp_path / f"chaos-{len(runs)}.log"
        settings_path = tmp_path / f"settings-{len(runs)}.yaml"
        if settings is not None:
            settings_path.write_text(json.dumps(settings))  # JSON is YAML
        with open(log, "w") as out:
            proc = subprocess.Popen(
                [CHAOS, "--no-log-file", "--no-version-check", "--settings", str(settings_path),
                 "run", "--journal-path", str(journal), *args, str(path)],
                cwd=tmp_path,
                env=full_env,
                stdout=out,
                stderr=subprocess.STDOUT,
                text=True,
            )
        run = ChaosRun(proc, journal, log)
        runs.append(run)
        return run

    yield start
    for run in runs:  # never leave a chaos process behind
        if run.proc.poll() is None:
            run.proc.kill()
            run.proc.wait(timeout=10)
