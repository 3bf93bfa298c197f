"""A Prometheus server of squall's own for a run: the ``prometheus`` binary on a free loopback port.

``squall demo --prometheus`` and the tests start one with a generated configuration
(scrape every second, storage in a temporary folder), wait until it is ready and
stop it by its PID at the end, whatever happened in between.
"""

import contextlib
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import httpx

from squall.errors import ExperimentInvalid, PrometheusError

__all__ = ["HOW_TO_GET", "PrometheusServer", "config_text", "find_binary", "running"]

#: said when no ``prometheus`` binary is on PATH
HOW_TO_GET = ("no prometheus binary on PATH: install one with `apt-get install prometheus` (Debian, Ubuntu) "
              "or download it from https://prometheus.io/download/ and put it on PATH")
READY_TIMEOUT_S = 30.0
STOP_TIMEOUT_S = 10.0


@dataclass(frozen=True)
class PrometheusServer:
    """A running Prometheus: where its API answers, and its process id."""

    url: str
    pid: int
    config_path: Path


def find_binary(name: str = "prometheus") -> str:
    """The path of the ``prometheus`` binary on PATH, or ExperimentInvalid saying how to get one."""
    found = shutil.which(name)
    if found is None:
        raise ExperimentInvalid(HOW_TO_GET)
    return found


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _quote(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def config_text(jobs: Mapping[str, Sequence[str]], scrape_interval_s: float = 1.0) -> str:
    """A prometheus.yml scraping each job's ``host:port`` targets at ``/metrics`` every ``scrape_interval_s``."""
    interval = f"{int(scrape_interval_s * 1000)}ms"
    lines = ["global:", f"  scrape_interval: {interval}", f"  evaluation_interval: {interval}", "scrape_configs:"]
    for job, targets in jobs.items():
        lines += [f"  - job_name: {_quote(job)}", "    metrics_path: /metrics",
                  f"    scrape_timeout: {interval}", "    static_configs:",
                  "      - targets: [" + ", ".join(_quote(t) for t in targets) + "]"]
    return "\n".join(lines) + "\n"


def _wait_ready(url: str, proc: "subprocess.Popen[bytes]", log: Path) -> None:
    deadline = time.monotonic() + READY_TIMEOUT_S
    with httpx.Client(trust_env=False, timeout=2.0) as client:
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                tail = log.read_text(errors="replace")[-600:] if log.exists() else ""
                raise PrometheusError(f"prometheus exited with status {proc.returncode} before it was ready: {tail}")
            try:
                if client.get(url + "/-/ready").status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
    raise PrometheusError(f"prometheus at {url} was not ready within {READY_TIMEOUT_S:g} s (log: {log})")


def _wait_scraped(url: str, jobs: Mapping[str, Sequence[str]]) -> None:
    """Wait until every target was scraped once, successfully (Prometheus waits a while before its first scrape)."""
    want = sum(len(t) for t in jobs.values())
    deadline = time.monotonic() + READY_TIMEOUT_S
    health: list[str] = []
    with httpx.Client(trust_env=False, timeout=2.0) as client:
        while time.monotonic() < deadline:
            try:
                active = client.get(url + "/api/v1/targets").json()["data"]["activeTargets"]
                health = [f'{t.get("scrapeUrl")}: {t.get("health")} {t.get("lastError") or ""}'.strip() for t in active]
                if len(active) >= want and all(t.get("health") == "up" for t in active):
                    return
            except (httpx.HTTPError, ValueError, KeyError, TypeError):
                pass
            time.sleep(0.2)
    raise PrometheusError(f"prometheus at {url} could not scrape its targets within {READY_TIMEOUT_S:g} s: "
                          f"{'; '.join(health) or 'no target known'}")


def _stop(proc: "subprocess.Popen[bytes]") -> None:
    """Stop the process we started, by its PID: SIGTERM, then SIGKILL after a bounded wait."""
    if proc.poll() is not None:
        return
    proc.terminate()
    try:
        proc.wait(STOP_TIMEOUT_S)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(STOP_TIMEOUT_S)


@contextlib.contextmanager
def running(
    jobs: Mapping[str, Sequence[str]],
    binary: str | None = None,
    scrape_interval_s: float = 1.0,
    workdir: Path | None = None,
    wait_scraped: bool = True,
) -> Iterator[PrometheusServer]:
    """Run Prometheus on 127.0.0.1 scraping ``jobs`` ({job: ["host:port", ...]}) until the block ends.

    With ``wait_scraped`` it returns once every target was scraped successfully.
    """
    exe = binary or find_binary()
    with tempfile.TemporaryDirectory(prefix="squall-prometheus-", dir=workdir) as tmp:
        root = Path(tmp)
        config = root / "prometheus.yml"
        config.write_text(config_text(jobs, scrape_interval_s), encoding="utf-8")
        log = root / "prometheus.log"
        proc, url = _start(exe, config, root, log)
        try:
            if wait_scraped:
                _wait_scraped(url, jobs)
            yield PrometheusServer(url=url, pid=proc.pid, config_path=config)
        finally:
            _stop(proc)


def _start(exe: str, config: Path, root: Path, log: Path, attempts: int = 3) -> "tuple[subprocess.Popen[bytes], str]":
    """Start Prometheus on a free port and wait until it is ready; another port if that one was taken meanwhile."""
    for attempt in range(attempts):
        port = _free_port()
        url = f"http://127.0.0.1:{port}"
        cmd = [exe, f"--config.file={config}", f"--storage.tsdb.path={root / 'data'}",
               f"--web.listen-address=127.0.0.1:{port}", "--storage.tsdb.retention.time=1d"]
        with log.open("wb") as out:
            proc = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        try:
            _wait_ready(url, proc, log)
            return proc, url
        except PrometheusError:
            _stop(proc)
            taken = "address already in use" in log.read_text(errors="replace").lower()
            if not taken or attempt == attempts - 1:
                raise
    raise AssertionError("unreachable")  # the loop returns or raises
