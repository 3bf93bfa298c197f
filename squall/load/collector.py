"""The control's side of the load: a loopback TCP port that Locust processes send their request samples to.

Each line is ``[start, group, ok, latency_ms, status, name, pid, trace_id]`` (or
``{"dropped": n}``). Memory is bounded: at most ``max_samples`` raw samples
are kept (for the statistics), and the per-second aggregates (requests,
successes, and the latency percentiles from up to ``PER_SECOND_KEEP``
latencies per second and group) are kept for every second of the run; a
second's latencies are summarised and dropped once samples ``SETTLE_S`` seconds
newer arrive (a request that started earlier and ends later still counts in
its second's requests and successes).
"""

import json
import logging
import math
import socket
import socketserver
import threading
from dataclasses import dataclass, field
from typing import Any

from squall.percentiles import nearest_rank

logger = logging.getLogger("chaostoolkit.squall")

PER_SECOND_KEEP = 2_000
SETTLE_S = 60
MAX_LINE = 4096


@dataclass(frozen=True)
class LoadSample:
    """One request of the load."""

    t: float  # when it started (unix seconds)
    group: str
    ok: bool
    latency_ms: float
    status: int | None
    name: str
    pid: int
    trace_id: str | None = None  # of its traceparent: the dependency's calls for it carry the same trace id


@dataclass
class _Second:
    n: int = 0
    ok: int = 0
    latencies: list[float] = field(default_factory=list)
    summary: list[float | None] | None = None  # [p50, p95, p99, p95_low, p95_high] once settled

    def figures(self) -> list[float | None]:
        """The percentiles of this second (settled, or from the latencies so far)."""
        if self.summary is not None:
            return self.summary
        data = sorted(self.latencies)
        return [*(_q(data, q) for q in (50, 95, 99)), *_quantile_interval(data, 0.95)]

    def settle(self) -> None:
        """Summarise the latencies and drop them (bounded memory for long runs)."""
        if self.summary is None:
            self.summary = self.figures()
            self.latencies = []


def _parse(line: bytes) -> LoadSample | int | None:
    """A sample, a count of samples the sender dropped, or None for a line that is not one."""
    try:
        value = json.loads(line)
    except ValueError:
        return None
    if isinstance(value, dict):
        dropped = value.get("dropped")
        return dropped if isinstance(dropped, int) and dropped > 0 else None
    if not isinstance(value, list) or len(value) not in (7, 8):
        return None
    t, group, ok, latency, status, name, pid = value[:7]
    trace = value[7] if len(value) == 8 and isinstance(value[7], str) and len(value[7]) == 32 else None
    if not (isinstance(t, (int, float)) and isinstance(group, str) and ok in (0, 1)
            and isinstance(latency, (int, float)) and latency >= 0 and isinstance(pid, int)):
        return None
    return LoadSample(float(t), group[:32], bool(ok), float(latency), status if isinstance(status, int) else None,
                      str(name)[:200], pid, trace)


class Collector:
    """Receives the load's samples on 127.0.0.1 (an ephemeral port; in a cluster, the address the manifest sets) until closed."""

    def __init__(self, max_samples: int, host: str = "127.0.0.1", port: int = 0) -> None:
        self.max_samples = max_samples
        self.samples: list[LoadSample] = []
        self.dropped = 0  # samples lost: over max_samples, or dropped by a sender
        self.bad_lines = 0
        self.pids: set[int] = set()
        self._seconds: dict[tuple[int, str], _Second] = {}
        self._newest = 0  # the newest second seen
        self._settled_to = 0  # seconds before this one are settled
        self._lock = threading.Lock()
        collector = self

        class Handler(socketserver.StreamRequestHandler):
            def handle(self) -> None:
                while True:
                    line = self.rfile.readline(MAX_LINE)
                    if not line:
                        return
                    collector.add(_parse(line.strip()))

        class Server(socketserver.ThreadingTCPServer):
            daemon_threads = True
            allow_reuse_address = True

        self._server = Server((host, port), Handler)
        advertised = "127.0.0.1" if host in ("0.0.0.0", "::", "") else host
        self.address = f"{advertised}:{self._server.server_address[1]}"
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.1},
                                        name="squall-load-collector", daemon=True)

    def start(self) -> None:
        """Accept connections from now on."""
        self._thread.start()

    def close(self) -> None:
        """Stop accepting (bounded); what was received stays readable."""
        if self._thread.is_alive():
            self._server.shutdown()
            self._thread.join(2.0)
        self._server.server_close()

    def add(self, item: LoadSample | int | None) -> None:
        """Keep one parsed line."""
        with self._lock:
            if item is None:
                self.bad_lines += 1
                return
            if isinstance(item, int):
                self.dropped += item
                return
            self.pids.add(item.pid)
            sec = int(item.t)
            second = self._seconds.setdefault((sec, item.group), _Second())
            second.n += 1
            second.ok += item.ok
            if second.summary is None and len(second.latencies) < PER_SECOND_KEEP:
                second.latencies.append(item.latency_ms)
            if sec > self._newest:
                self._newest = sec
                if sec - SETTLE_S > self._settled_to + 10:  # settle in steps, not on every sample
                    self._settled_to = sec - SETTLE_S
                    for (old, _), entry in self._seconds.items():
                        if old < self._settled_to:
                            entry.settle()
            if len(self.samples) >= self.max_samples:
                self.dropped += 1
                return
            self.samples.append(item)

    def window(self, since: float, until: float, group: str | None = None) -> list[LoadSample]:
        """The samples that started in [since, until] (optionally of one group), oldest first."""
        with self._lock:
            found = [s for s in self.samples if since <= s.t <= until and (group is None or s.group == group)]
        found.sort(key=lambda s: s.t)
        return found

    def count(self) -> int:
        """How many samples arrived (kept or not)."""
        with self._lock:
            return sum(s.n for s in self._seconds.values())

    def first_sample_at(self) -> float | None:
        """When the earliest request received started."""
        with self._lock:
            return min((s.t for s in self.samples), default=None)

    def seconds(self) -> list[list[Any]]:
        """Per second and group: ``[second, group, requests, successes, p50, p95, p99, p95_low, p95_high]`` (ms).

        ``p95_low``/``p95_high``: a distribution-free 95% interval of that
        second's p95 (order statistics at binomial ranks), None under 20 requests.
        """
        with self._lock:
            return [[sec, group, s.n, s.ok, *s.figures()] for (sec, group), s in sorted(self._seconds.items())]


def _q(data: list[float], q: float) -> float | None:
    value = nearest_rank(data, q)
    return round(value, 3) if value is not None else None


def _quantile_interval(data: list[float], q: float, z: float = 1.96) -> tuple[float | None, float | None]:
    """The order statistics bracketing quantile `q` at about 95% (normal approximation of the binomial ranks)."""
    n = len(data)
    if n < 20:
        return None, None
    spread = z * math.sqrt(n * q * (1 - q))
    low = max(0, math.floor(n * q - spread) - 1)
    high = min(n - 1, math.ceil(n * q + spread))
    return round(data[low], 3), round(data[high], 3)


def free_port() -> int:
    """An ephemeral TCP port on 127.0.0.1 that was free a moment ago (for Locust's master)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])
