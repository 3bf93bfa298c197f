"""Running the load: Locust in its own process (or a master and N workers), started and stopped by PID.

Lifecycle (``LoadRun``): ``start`` opens the collector and starts the
process(es) with a run-time bound (they stop by themselves even if squall is
killed); ``wait_until`` waits, bounded, for the warm-up; ``stop`` sends SIGTERM
to each process squall started (the master first), waits, then SIGKILL; it is
idempotent and also runs at interpreter exit. Locust is never imported here.
"""

import atexit
import importlib.util
import json
import logging
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

from squall import config
from squall.errors import SquallError
from squall.load import registry
from squall.load.collector import Collector, LoadSample, free_port
from squall.load.spec import LoadSpec

logger = logging.getLogger("chaostoolkit.squall")

LOCUSTFILE = str(Path(__file__).with_name("locustfile.py"))
STOP_WAIT_S = 5.0
#: set by `squall gameday manifest --load-workers N` in the game day's pod: N workers run elsewhere (a Deployment)
EXTERNAL_WORKERS_ENV = "SQUALL_LOAD_EXTERNAL_WORKERS"
BIND_ENV = "SQUALL_LOAD_BIND"  # the address the master and the collector listen on (default 127.0.0.1)
MASTER_PORT_ENV = "SQUALL_LOAD_MASTER_PORT"
COLLECTOR_PORT_ENV = "SQUALL_LOAD_COLLECTOR_PORT"
START_TIMEOUT_S = 30.0


def _env_int(name: str, default: int) -> int:
    value = os.environ.get(name)
    if not value:
        return default
    if not value.isdigit():
        raise LoadError(f"${name}={value!r} is not valid (expected a whole number)")
    return int(value)


class LoadError(SquallError):
    """The load could not start (Locust missing, a bad locustfile, no sample in time)."""


class LoadRun:
    """One run's load: the collector, the Locust process(es) and what they reported."""

    def __init__(self, spec: LoadSpec, run_id: str | None = None) -> None:
        self.spec = spec
        self.run_id = run_id or config.run_id()
        self.external_workers = _env_int(EXTERNAL_WORKERS_ENV, 0)
        self.bind = os.environ.get(BIND_ENV) or "127.0.0.1"
        self.collector = Collector(spec.max_samples, self.bind, _env_int(COLLECTOR_PORT_ENV, 0))
        self.processes: list[subprocess.Popen[bytes]] = []
        self.logs: list[Path] = []
        self.started_pids: list[int] = []  # every process ever started, for the record
        self.started_at: float | None = None
        self.stopped_at: float | None = None
        self._logdir: tempfile.TemporaryDirectory[str] | None = None
        self._lock = threading.Lock()

    # -- lifecycle -------------------------------------------------------------
    def start(self) -> None:
        """Open the collector, start Locust (and workers); raise LoadError if it cannot run."""
        if importlib.util.find_spec("locust") is None:  # looked up, never imported (gevent)
            raise LoadError("Locust is not installed (expected it for the control's `load`: pip install 'squall[load]')")
        self.collector.start()
        self._logdir = tempfile.TemporaryDirectory(prefix="squall-load-")
        # absolute paths: Locust runs in an empty directory of its own (see _spawn)
        files = LOCUSTFILE + (f",{Path(self.spec.locustfile).resolve()}" if self.spec.locustfile else "")
        common = ["-f", files, "--loglevel", "WARNING"]
        bound = f"{max(1, int(self.spec.run_time_s))}s"
        users = ["--headless", "-u", str(self.spec.users), "-r", f"{self.spec.spawn_rate:g}", "--run-time", bound,
                 "--stop-timeout", "2", "--only-summary"]
        atexit.register(self.stop)
        registry.register(self)
        self.started_at = time.time()
        workers = self.external_workers or self.spec.workers
        if workers == 0:
            self._spawn("locust", [*common, *users], 0)
        else:
            port = _env_int(MASTER_PORT_ENV, 0) or free_port()
            self._spawn("master", [*common, *users, "--master", "--master-bind-host", self.bind,
                                   "--master-bind-port", str(port), "--expect-workers", str(workers),
                                   "--expect-workers-max-wait", str(int(START_TIMEOUT_S))], 0)
            for index in range(1, 0 if self.external_workers else workers + 1):
                self._spawn(f"worker-{index}", [*common, "--worker", "--master-host", "127.0.0.1",
                                                "--master-port", str(port)], index)

    def _spawn(self, role: str, args: list[str], index: int) -> None:
        assert self._logdir is not None
        log = Path(self._logdir.name) / f"{role}.log"
        # Locust also reads its options from LOCUST_* variables and from locust.conf / pyproject.toml in its
        # working directory: none of the user's may change what squall asked for, so neither reaches it
        env = {k: v for k, v in os.environ.items() if not k.upper().startswith("LOCUST_")}
        env.update({
            "SQUALL_LOAD_CONFIG": json.dumps({
                "collector": self.collector.address, "run_id": self.run_id,
                "targets": [t.to_json() for t in self.spec.targets], "experiment_share": self.spec.experiment_share,
                "wait_s": self.spec.wait_s, "seed": self.spec.seed, "locustfile": bool(self.spec.locustfile),
            }),
            "SQUALL_LOAD_INDEX": str(index),
            config.RUN_ID_ENV: self.run_id,
        })
        with log.open("wb") as out:
            proc = subprocess.Popen([sys.executable, "-m", "locust", *args], stdin=subprocess.DEVNULL, stdout=out,
                                    stderr=subprocess.STDOUT, env=env, start_new_session=True,
                                    cwd=self._logdir.name)
        with self._lock:
            self.processes.append(proc)
            self.started_pids.append(proc.pid)
            self.logs.append(log)
        logger.info("squall load: started Locust %s (pid %d)", role, proc.pid)

    def wait_until(self, seconds_of_load: float, timeout_s: float | None = None) -> None:
        """Wait (bounded) until the load has run for `seconds_of_load` since its first request; LoadError if it never ran."""
        deadline = time.monotonic() + (timeout_s if timeout_s is not None else START_TIMEOUT_S + seconds_of_load)
        while time.monotonic() < deadline:
            first = self.collector.first_sample_at()
            if first is not None and time.time() - first >= seconds_of_load:
                return
            dead = [p for p in self.processes if p.poll() is not None]
            if dead and first is None:
                raise LoadError(f"Locust exited with status {dead[0].returncode} before sending a request: {self.log_tail()}")
            time.sleep(0.05)
        if self.collector.first_sample_at() is None:
            raise LoadError(f"the load sent no request within {START_TIMEOUT_S:g} s: {self.log_tail()}")

    def stop(self) -> None:
        """Stop every process squall started, by PID (SIGTERM, then SIGKILL after a bounded wait); idempotent."""
        with self._lock:
            processes, self.processes = self.processes, []
        if self.stopped_at is None and self.started_at is not None:
            self.stopped_at = time.time()
        for proc in processes:  # the master first: it tells its workers to quit
            if proc.poll() is None:
                try:
                    proc.send_signal(signal.SIGTERM)
                except ProcessLookupError:
                    pass
        deadline = time.monotonic() + STOP_WAIT_S
        for proc in processes:
            try:
                proc.wait(max(0.0, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(STOP_WAIT_S)
        if processes:
            time.sleep(0.3)  # the last batch of samples travels after the processes flush at exit
        self.collector.close()
        registry.unregister(self)
        atexit.unregister(self.stop)
        if self._logdir is not None:
            self._logdir.cleanup()
            self._logdir = None

    # -- reading -----------------------------------------------------------------
    @property
    def pids(self) -> list[int]:
        """PIDs of the processes squall started and has not stopped yet."""
        with self._lock:
            return [p.pid for p in self.processes]

    def samples(self, since: float, until: float, group: str | None = None) -> list[LoadSample]:
        """The requests that started in [since, until] (optionally of one group)."""
        return self.collector.window(since, until, group)

    def log_tail(self, chars: int = 1500) -> str:
        """The end of the processes' output, for an error message."""
        parts = []
        for log in self.logs:
            try:
                text = log.read_text(errors="replace").strip()
            except OSError:
                continue
            if text:
                parts.append(f"[{log.stem}] {text[-chars:]}")
        return " | ".join(parts) or "(no output)"

    def record(self) -> dict[str, Any]:
        """The load as written into the run record's timeline (per-second aggregates, not the raw samples)."""
        return {
            "settings": self.spec.describe(),
            "started": self.started_at,
            "ended": self.stopped_at,
            "pids": list(self.started_pids),  # Locust processes squall started (and stopped)
            "processes": len(self.collector.pids),
            "requests": self.collector.count(),
            "kept_samples": len(self.collector.samples),
            "dropped": self.collector.dropped,
            # [second, group, requests, successes, p50_ms, p95_ms, p99_ms]
            "seconds": self.collector.seconds(),
        }
