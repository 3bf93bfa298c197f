"""The continuous SLI timeline: one background thread per target, one request in flight each.

Bounded so that sampling never distorts what it measures: a request's timeout
never exceeds its target's interval, ticks missed while a request hung are
skipped (never replayed in a burst), and the whole run keeps at most
``max_samples`` rows, after which sampling stops and the timeline says so.

While a verifier holds sampling (``squall.quiet.hold``: it attributes
dependency calls by time and must not see the sampler's), ticks are skipped
and counted in ``held_ticks``; the holds themselves are the run's pauses. The
timeline registers itself as ``squall.quiet``'s SLI source while it runs, so a
verifier can read what was measured (e.g. whether a fault hurt the service).

A ``source: prometheus`` target sends nothing to the service: each interval it
asks Prometheus for the target's success ratio (and latency) PromQL, and keeps a
row ``[t, target, ok, None, latency_ms, None, success_ratio]`` (ok: the ratio
met the target's ``objective``). Verifiers' holds do not pause it. A query that
fails or gives no number is a **missing** sample (``missing``: ``[t, target,
reason]``), never a row: it can neither pass nor fail the SLI.
"""

import logging
import threading
import time
from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager, nullcontext
from typing import Any

import httpx

from squall import quiet
from squall.control.settings import SliTarget
from squall.errors import SquallError
from squall.probes import prometheus
from squall.probes.sli import make_client, probe_once

logger = logging.getLogger("chaostoolkit.squall")

#: a row: [t, target, ok (1/0), status or None, latency_ms, error or None] (+ success_ratio for Prometheus)
Row = list[Any]
#: missing Prometheus samples kept per run (counted beyond that)
MAX_MISSING = 1000


class Timeline:
    """Samples every SLI target in the background from ``start()`` until ``stop()``."""

    def __init__(
        self,
        targets: Sequence[SliTarget],
        max_samples: int,
        on_sample: Callable[[], None] | None = None,
        around: Callable[[SliTarget], AbstractContextManager[Any]] | None = None,
    ) -> None:
        self.targets = tuple(targets)
        #: what each sampling thread runs inside (a tracing span, current in the thread); nothing by default
        self._around = around
        self.max_samples = max_samples
        self.rows: list[Row] = []
        self.skipped_ticks = 0
        self.held_ticks = 0
        self.truncated = False
        self.missing: list[list[Any]] = []  # [t, target, reason] of Prometheus samples that gave no number
        self.missing_count: dict[str, int] = {}
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
        quiet.register_sli_source(self.points)
        for target in self.targets:
            loop = self._prometheus_loop if target.source == "prometheus" else self._loop
            thread = threading.Thread(target=loop, args=(target,), name=f"squall-sli-{target.name}", daemon=True)
            self._threads.append(thread)
            thread.start()

    def stop(self) -> None:
        """Stop sampling and wait (bounded by the longest request timeout) for the threads."""
        self._stop.set()
        quiet.unregister_sli_source(self.points)
        deadline = time.monotonic() + max((t.timeout_s * (2 if t.latency_ms else 1) for t in self.targets),
                                          default=0.0) + 1.0
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

    def points(self, url: str, since: float, until: float) -> list[quiet.SliPoint] | None:
        """The samples of the target(s) sampling `url` taken in [since, until]; None when no target samples it."""
        names = {t.name for t in self.targets if t.url == url and t.source == "http"}
        if not names:
            return None
        with self._lock:
            return [quiet.SliPoint(r[0], bool(r[2]), r[4]) for r in self.rows if r[1] in names and since <= r[0] <= until]

    def _append(self, row: Row) -> bool:
        with self._lock:
            if len(self.rows) >= self.max_samples:
                if not self.truncated:
                    logger.warning("squall: SLI timeline reached max_samples=%d; sampling stops", self.max_samples)
                self.truncated = True
                return False
            self.rows.append(row)
            return True

    def gaps(self, since: float, until: float) -> list[str]:
        """Why a Prometheus target's samples in [since, until] cannot be trusted: more than half of them missing."""
        out = []
        with self._lock:
            for target in (t for t in self.targets if t.source == "prometheus"):
                got = sum(1 for r in self.rows if r[1] == target.name and since <= r[0] <= until)
                lost = [m for m in self.missing if m[1] == target.name and since <= m[0] <= until]
                if lost and len(lost) >= got:
                    out.append(f'Prometheus SLI "{target.name}" gave no value for {len(lost)} of {len(lost) + got} '
                               f"samples while the method ran ({lost[0][2]})")
        return out

    def _missed(self, t: float, target: str, reason: str) -> None:
        with self._lock:
            self.missing_count[target] = self.missing_count.get(target, 0) + 1
            if len(self.missing) < MAX_MISSING:
                self.missing.append([round(t, 3), target, reason])
            first = self.missing_count[target] == 1
        # said once per target: before Prometheus has a window of data every query gives none
        (logger.warning if first else logger.debug)("squall: Prometheus SLI %s: no sample at %.3f: %s", target, t, reason)

    def _prometheus_sample(self, client: httpx.Client, target: SliTarget) -> Row | str:
        """One row from the target's PromQL, or why there is none."""
        t = time.time()
        assert target.success_ratio is not None
        try:
            ratio = prometheus.single_value(target.url, target.promql(target.success_ratio), target.timeout_s, client)
            if ratio is None:
                return "success_ratio gave no data (no series, or NaN)"
            latency = None
            if target.latency_ms:
                latency = prometheus.single_value(target.url, target.promql(target.latency_ms), target.timeout_s, client)
        except SquallError as exc:
            return str(exc)
        return [round(t, 3), target.name, int(ratio >= target.objective), None,
                round(latency, 3) if latency is not None else None, None, ratio]

    def _prometheus_loop(self, target: SliTarget) -> None:
        client = httpx.Client(trust_env=False, timeout=target.timeout_s)
        next_tick = time.monotonic()
        try:
            while not self._stop.is_set():
                t = time.time()
                sample = self._prometheus_sample(client, target)
                if isinstance(sample, str):
                    self._missed(t, target.name, sample)
                else:
                    if not self._append(sample):
                        return
                    self._sampled()
                next_tick = self._wait_for_tick(next_tick, target.interval_s)  # the queries may outlive it
        finally:
            client.close()

    def _loop(self, target: SliTarget) -> None:
        try:
            scope = self._around(target) if self._around is not None else nullcontext()
        except Exception:  # tracing never costs a sample
            logger.exception("squall: the sampler's span could not start")
            scope = nullcontext()
        with scope:
            self._sample(target)

    def _sample(self, target: SliTarget) -> None:
        client = make_client()
        next_tick = time.monotonic()
        try:
            while not self._stop.is_set():
                with quiet.sample_slot() as allowed:  # a verifier's hold: skip this tick
                    sample = probe_once(
                        client,
                        target.url,
                        method=target.method,
                        timeout_s=target.timeout_s,
                        headers=target.headers,
                        expect_status=target.expect_status,
                    ) if allowed else None
                    if sample is not None:  # kept before the slot ends, so a hold sees every finished sample
                        row = [round(sample.t, 3), target.name, int(sample.ok), sample.status, sample.latency_ms,
                               sample.error]
                        if not self._append(row):
                            return
                if sample is None:
                    with self._lock:
                        self.held_ticks += 1
                if sample is not None:
                    self._sampled()
                next_tick = self._wait_for_tick(next_tick, target.interval_s)  # the request may outlive it
        finally:
            client.close()

    def _sampled(self) -> None:
        """After a sample was kept: let the stop conditions look at the timeline."""
        if self._on_sample is None:
            return
        try:
            self._on_sample()
        except Exception:  # a stop-condition bug must not end the timeline silently
            logger.exception("squall: evaluating stop conditions failed")

    def _wait_for_tick(self, next_tick: float, interval_s: float) -> float:
        """Wait (or be stopped) until the tick after `next_tick`; ticks already past are skipped, never burst."""
        next_tick += interval_s
        now = time.monotonic()
        if next_tick < now:
            missed = int((now - next_tick) // interval_s) + 1
            with self._lock:
                self.skipped_ticks += missed
            next_tick += missed * interval_s
        self._stop.wait(next_tick - now)
        return next_tick
