"""The continuous SLI timeline: one background thread per target, one request in flight each.

Bounded so that sampling never distorts what it measures: a request's timeout
never exceeds its target's interval, ticks missed while a request hung are
skipped (never replayed in a burst), and the whole run keeps at most
``max_samples`` rows, after which sampling stops and the timeline says so.
"""

import logging
import threading
import time
from collections.abc import Callable, Sequence
from typing import Any

from squall.controlling.settings import SliTarget
from squall.probes.sli import make_client, probe_once

logger = logging.getLogger("chaostoolkit.squall")

#: a row: [t, target, ok (1/0), status or None, latency_ms, error or None]
Row = list[Any]


class Timeline:
    """Samples every SLI target in the background from ``start()`` until ``stop()``."""

    def __init__(
        self,
        targets: Sequence[SliTarget],
        max_samples: int,
        on_sample: Callable[[], None] | None = None,
    ) -> None:
        self.targets = tuple(targets)
        self.max_samples = max_samples
        self.rows: list[Row] = []
        self.skipped_ticks = 0
        self.truncated = False
        self._on_sample = on_sample
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []

    @property
    def interval_s(self) -> float | None:
        """The shortest sampling interval of the targets (None without targets)."""
        return min((t.interval_s for t in self.targets), default=None)

    def start(self) -> None:
        """Start one daemon sampling thread per target."""
        for target in self.targets:
            thread = threading.Thread(target=self._loop, args=(target,), name=f"squall-sli-{target.name}", daemon=True)
            self._threads.append(thread)
            thread.start()

    def stop(self) -> None:
        """Stop sampling and wait (bounded by the longest request timeout) for the threads."""
        self._stop.set()
        deadline = time.monotonic() + max((t.timeout_s for t in self.targets), default=0.0) + 1.0
        for thread in self._threads:
            thread.join(max(0.0, deadline - time.monotonic()))

    def snapshot(self) -> list[Row]:
        """A copy of the rows so far, oldest first by request start."""
        with self._lock:
            rows = [list(r) for r in self.rows]
        rows.sort(key=lambda r: r[0])
        return rows

    def recent(self, since: float, target: str | None = None) -> list[Row]:
        """Rows whose request started at or after ``since`` (optionally of one target)."""
        with self._lock:
            out = []
            # rows are appended when a request ends, so scan back past the longest timeout
            horizon = since - 60.0
            for row in reversed(self.rows):
                if row[0] < horizon:
                    break
                if row[0] >= since and (target is None or row[1] == target):
                    out.append(row)
        out.reverse()
        return out

    def _append(self, row: Row) -> bool:
        with self._lock:
            if len(self.rows) >= self.max_samples:
                if not self.truncated:
                    logger.warning("squall: SLI timeline reached max_samples=%d; sampling stops", self.max_samples)
                self.truncated = True
                return False
            self.rows.append(row)
            return True

    def _loop(self, target: SliTarget) -> None:
        client = make_client()
        next_tick = time.monotonic()
        try:
            while not self._stop.is_set():
                sample = probe_once(
                    client,
                    target.url,
                    method=target.method,
                    timeout_s=target.timeout_s,
                    headers=target.headers,
                    expect_status=target.expect_status,
                )
                row = [round(sample.t, 3), target.name, int(sample.ok), sample.status, sample.latency_ms, sample.error]
                if not self._append(row):
                    return
                if self._on_sample is not None:
                    try:
                        self._on_sample()
                    except Exception:  # a stop-condition bug must not end the timeline silently
                        logger.exception("squall: evaluating stop conditions failed")
                next_tick += target.interval_s
                now = time.monotonic()
                if next_tick < now:  # the request outlived its tick: skip, never burst
                    missed = int((now - next_tick) // target.interval_s) + 1
                    with self._lock:
                        self.skipped_ticks += missed
                    next_tick += missed * target.interval_s
                self._stop.wait(next_tick - now)
        finally:
            client.close()
