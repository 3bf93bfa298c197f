"""Start and stop the whole demo system on 127.0.0.1, in dependency order, and stop it again cleanly.

    client ──> checkout ──> fault proxy ── payments ───> payments        (thread)
                                       ├── inventory-1 ─> inventory-1    (own OS process)
                                       └── inventory-2 ─> inventory-2    (own OS process)

``running(...)`` is a context manager: everything it started is stopped
when the block ends, whatever happened inside it. A small supervisor restarts
an inventory replica that dies (after ``restart_delay_s``, on the same port),
the way a Kubernetes ReplicaSet replaces a killed pod.
"""

import contextlib
import os
import select
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from aiohttp import web

from squall import config
from squall.background import BackgroundLoop, start_app
from squall.demo.checkout import CheckoutConfig, checkout_app
from squall.demo.resilience import Mechanisms
from squall.demo.services import payments_app
from squall.errors import SquallError
from squall.toxiproxy_client import ToxiproxyClient

PROXY_NAMES = ("payments", "inventory-1", "inventory-2")
REPLICAS = ("inventory-1", "inventory-2")
#: where `squall demo up` keeps the replicas' pid files (the bundled experiments' default)
DEMO_UP_STATE_DIR = Path("~/.local/state/squall/demo").expanduser()


@dataclass(frozen=True)
class DemoOptions:
    """What to start: ports (0 = any free port), mechanisms, where pid files go, how fast replicas come back."""

    checkout_port: int = 8080
    admin_port: int = 8474
    mechanisms: Mechanisms = field(default_factory=Mechanisms)
    state_dir: Path = DEMO_UP_STATE_DIR
    restart_delay_s: float = 2.0


@dataclass
class DemoSystem:
    """Addresses of a running demo system."""

    checkout_url: str  # base, e.g. http://127.0.0.1:8080
    toxiproxy_url: str
    proxies: dict[str, str]  # proxy name -> listen address
    pid_files: dict[str, Path]  # replica name -> pid file
    replicas: "dict[str, Replica]"
    fragile: bool = False  # checkout's resilience mechanisms are switched off

    def environment(self) -> dict[str, str]:
        """The variables the bundled experiments read their configuration from."""
        env = {
            "SQUALL_DEMO_CHECKOUT_URL": f"{self.checkout_url}/checkout",
            "SQUALL_DEMO_METRICS_URL": f"{self.checkout_url}/metrics",
            "SQUALL_DEMO_HEALTH_URL": f"{self.checkout_url}/healthz",
            "SQUALL_DEMO_TOXIPROXY_URL": self.toxiproxy_url,
        }
        for name, path in self.pid_files.items():
            env[f"SQUALL_DEMO_{name.upper().replace('-', '_')}_PIDFILE"] = str(path)
        if self.fragile:
            env[config.FRAGILE_ENV] = "1"  # the control marks these runs fragile
        return env


class Replica:
    """One inventory replica process, restarted on the same port if it dies while the demo runs."""

    def __init__(self, name: str, pid_file: Path, restart_delay_s: float) -> None:
        self.name = name
        self.pid_file = pid_file
        self.port = 0
        self.restarts = 0
        self.restart_delay_s = restart_delay_s
        self.process: subprocess.Popen[bytes] | None = None
        self._died_at: float | None = None

    def start(self, timeout_s: float = 15.0) -> None:
        """Start the process and wait until it listens (learning its port the first time)."""
        self.spawn()
        self.wait_ready(timeout_s)

    def spawn(self) -> None:
        """Start the process without waiting for it (``wait_ready`` does)."""
        cmd = [sys.executable, "-m", "squall.demo.replica", "--name", self.name,
               "--port", str(self.port), "--pid-file", str(self.pid_file)]
        # A new session: Ctrl-C in the terminal reaches `squall demo up`, which stops replicas itself.
        self.process = subprocess.Popen(cmd, stdout=subprocess.PIPE, start_new_session=True)

    def wait_ready(self, timeout_s: float = 15.0) -> None:
        """Wait for the ``listening <port>`` line; stop the process and raise if it does not come."""
        assert self.process is not None and self.process.stdout is not None
        ready, _, _ = select.select([self.process.stdout], [], [], timeout_s)
        line = self.process.stdout.readline().decode().strip() if ready else ""
        if not line.startswith("listening "):
            self.stop()
            raise SquallError(f"inventory replica {self.name} did not start (port {self.port}): {line or 'no answer'}")
        self.port = int(line.split()[1])

    def check(self) -> None:
        """Restart the replica if its process has died and the restart delay has passed."""
        if self.process is None or self.process.poll() is None:
            return
        now = time.monotonic()
        if self._died_at is None:
            self._died_at = now
        if now - self._died_at >= self.restart_delay_s:
            try:
                self.start()
            except SquallError:
                return  # port still busy; try again on the next check
            self._died_at = None
            self.restarts += 1

    def stop(self, timeout_s: float = 5.0) -> None:
        """SIGTERM (SIGCONT first, in case an experiment froze it), then SIGKILL if it does not exit."""
        proc = self.process
        if proc is None or proc.poll() is not None:
            self.pid_file.unlink(missing_ok=True)  # a killed replica could not remove its own
            return
        for sig in (signal.SIGCONT, signal.SIGTERM):
            with contextlib.suppress(ProcessLookupError):
                proc.send_signal(sig)
        try:
            proc.wait(timeout_s)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout_s)
        if proc.stdout:
            proc.stdout.close()
        self.pid_file.unlink(missing_ok=True)


@contextlib.contextmanager
def running(options: DemoOptions) -> Iterator[DemoSystem]:
    """Start payments, both inventory replicas, the fault proxy and checkout; stop all of them on exit."""
    from squall.proxy import run_in_thread  # the embedded fault proxy

    options.state_dir.mkdir(parents=True, exist_ok=True)
    replicas = {name: Replica(name, options.state_dir / f"{name}.pid", options.restart_delay_s) for name in REPLICAS}
    stop_supervisor = threading.Event()
    with contextlib.ExitStack() as stack:
        stack.callback(_stop_all, replicas)
        for replica in replicas.values():
            replica.spawn()  # both start in parallel: interpreter start-up is most of the time
        for replica in replicas.values():
            replica.wait_ready()
        loop = stack.enter_context(BackgroundLoop("squall-demo"))
        payments_runner, payments_port = loop.run(start_app(payments_app()))
        stack.callback(lambda: loop.run(payments_runner.cleanup()))

        proxy = stack.enter_context(run_in_thread(host="127.0.0.1", port=options.admin_port))
        upstreams = {"payments": payments_port, **{n: r.port for n, r in replicas.items()}}
        with ToxiproxyClient(proxy.url) as client:
            created = client.populate([
                {"name": name, "listen": "127.0.0.1:0", "upstream": f"127.0.0.1:{upstreams[name]}", "enabled": True}
                for name in PROXY_NAMES
            ])
        listen = {p["name"]: str(p["listen"]) for p in created}
        missing = [n for n in PROXY_NAMES if n not in listen]
        if missing:
            raise SquallError(f"the fault proxy did not create {missing} (it answered {created})")

        config = CheckoutConfig(
            inventory={n: f"http://{listen[n]}" for n in REPLICAS},
            payments={"payments": f"http://{listen['payments']}"},
            mechanisms=options.mechanisms,
        )
        checkout_runner, checkout_port = loop.run(_start_checkout(config, options.checkout_port))
        stack.callback(lambda: loop.run(checkout_runner.cleanup()))

        supervisor = threading.Thread(
            target=_supervise, args=(replicas, stop_supervisor), name="squall-demo-supervisor", daemon=True
        )
        supervisor.start()
        stack.callback(supervisor.join, 5.0)
        stack.callback(stop_supervisor.set)
        yield DemoSystem(
            checkout_url=f"http://127.0.0.1:{checkout_port}",
            toxiproxy_url=proxy.url,
            proxies=listen,
            pid_files={n: r.pid_file for n, r in replicas.items()},
            replicas=replicas,
            fragile=bool(options.mechanisms.switched_off()),
        )


async def _start_checkout(config: CheckoutConfig, port: int) -> tuple[web.AppRunner, int]:
    return await start_app(checkout_app(config), "127.0.0.1", port)


def _stop_all(replicas: dict[str, Replica]) -> None:
    for replica in replicas.values():
        replica.stop()


def _supervise(replicas: dict[str, Replica], stop: threading.Event) -> None:
    while not stop.wait(0.2):
        for replica in replicas.values():
            replica.check()


def replica_pids(system: DemoSystem) -> list[int]:
    """Pids of the replica processes that are alive right now."""
    return [r.process.pid for r in system.replicas.values() if r.process and r.process.poll() is None]


def pid_alive(pid: int) -> bool:
    """True if a process with this pid exists (and is not a zombie we already reaped)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
