"""One direction of a proxied connection: source -> toxic chain -> destination.

With no byte-touching toxic on a direction, ``data_received`` writes straight to
the other transport (the fast path; bulk raw TCP moves on to ``os.splice``).
Otherwise chunks queue (bounded: reading pauses above ``HIGH_WATER``) and one
task runs them through the chain in order, so adding, changing or removing a
toxic affects open connections and never drops or reorders bytes. Toxicity is
drawn once per connection per toxic.
"""

import asyncio
import logging
import random
from collections import deque
from time import monotonic
from typing import TYPE_CHECKING

from squall.proxy import splice
from squall.proxy.context import ToxicContext, wake
from squall.proxy.spec import ToxicSpec
from squall.proxy.toxics import Chunk

if TYPE_CHECKING:
    from squall.proxy.connection import Connection, Endpoint

log = logging.getLogger("squall.proxy")

HIGH_WATER = 1 << 20  # queued bytes per direction before reading pauses
LOW_WATER = 1 << 18


#: why a pipe stopped reading its source (reading resumes when no reason is left)
_PAUSE = {"dial": 1, "queue": 2, "dst": 4, "splice": 8}


class _Closed(Exception):
    """The connection closed while a chunk was in the chain."""


class Pipe:
    """One direction of a connection: source endpoint -> toxic chain -> destination endpoint."""

    __slots__ = (
        "_drain",
        "_dst_paused",
        "_paused",
        "conn",
        "contexts",
        "dst",
        "early",
        "eof_done",
        "fast",
        "loop",
        "queue",
        "queued",
        "splicer",
        "src",
        "stages",
        "stats",
        "task",
        "upstream",
        "waiters",
    )

    def __init__(self, conn: "Connection", upstream: bool, src: "Endpoint", dst: "Endpoint") -> None:
        self.conn = conn
        self.loop = conn.loop
        self.upstream = upstream
        self.src, self.dst = src, dst
        src.pipe_in = self
        self.stats = conn.proxy.stats
        # the destination transport while nothing needs to see the bytes (see ``route``), else None
        self.fast: asyncio.Transport | None = None
        self.contexts: dict[int, ToxicContext] = {}
        self.stages: list[ToxicContext] = []
        self.queue: deque[Chunk | None] | None = None  # created on first use: most pipes never queue
        self.queued = 0
        self.task: asyncio.Task[None] | None = None
        self.waiters: set[asyncio.Future[None]] | None = None  # sleeping toxics, woken on changes
        self.eof_done = False
        self._paused = 0  # bit set of _PAUSE reasons
        self._drain: asyncio.Future[None] | None = None
        self._dst_paused = False
        # the client's bytes while the upstream is dialled (until ``connected``); None once connected
        self.early: list[bytes | None] | None = [] if upstream else None
        self.splicer: splice.Splicer | None = None

    def connected(self) -> None:
        """The destination is connected: pass on what arrived meanwhile, in order, then read on."""
        early, self.early = self.early or [], None
        for item in early:
            if item is None:
                self.feed_eof()
            else:
                self.feed(item)
        self.route()
        self._resume("dial")

    def route(self) -> None:
        """Choose the next bytes' route: straight to the destination if no toxic, queue, parser or splice needs them.

        Called wherever one of those conditions changes (toxics set, the chain task ends,
        HTTP detected, splicing started or stopped, EOF, close), always before the next
        byte can arrive: a toxic added through the API is on the slow route before it answers.
        """
        dst = self.dst.transport
        conn = self.conn
        self.fast = dst if (
            dst is not None and not self.stages and self.task is None and self.early is None
            and self.splicer is None and conn.http_decided and conn.http is None and not conn.closed
            and not self.eof_done
        ) else None

    # -- toxics ------------------------------------------------------------
    def set_chain(self, specs: list[ToxicSpec]) -> None:
        """Apply the proxy's current toxics for this direction to this connection."""
        keep = {id(s) for s in specs}
        for key in [k for k in self.contexts if k not in keep]:
            self.contexts.pop(key).stop()
        for spec in specs:
            if id(spec) not in self.contexts:
                ctx = ToxicContext(self, spec, active=random.random() < spec.toxicity)
                self.contexts[id(spec)] = ctx
                if ctx.active and not self.conn.closed:
                    spec.toxic.start(ctx)
        self.stages = [
            self.contexts[id(s)] for s in specs if self.contexts[id(s)].active and s.toxic.touches_bytes
        ]
        if self.stages:
            self._stop_splice()
        for fut in list(self.waiters or ()):
            wake(fut)
        if self.queue and self.task is None and not self.conn.closed:
            self.task = self.loop.create_task(self._run())
        self.route()

    # -- data --------------------------------------------------------------
    def feed(self, data: bytes) -> None:
        """Data arrived from the source side."""
        fast = self.fast
        if fast is not None and not fast.is_closing():  # the shortest route: no task hop, no Chunk, no stamp
            fast.write(data)
            if self.upstream:
                self.stats.bytes_up += len(data)
            else:
                self.stats.bytes_down += len(data)
            if len(data) >= splice.SPLICE_AFTER and splice.AVAILABLE:
                self._start_splice()
            return
        if self.conn.closed:
            return
        if self.early is not None:  # still dialling the upstream: hold it (reading pauses)
            self.early.append(data)
            self._pause("dial")
            return
        if self.upstream and not self.conn.http_decided:
            self.conn.detect_http(data)
        http = self.conn.http
        if http is not None and self.upstream:  # requests: seen as they arrive (the HTTP toxics act here)
            data = http.request_bytes(data)
            if not data:
                for chunk in http.take_segments() if http.segments else ():
                    self._enqueue(chunk)  # held requests: through the queue, in order
                return
        if not self.stages and self.task is None:
            self.write(data)
            if len(data) >= splice.SPLICE_AFTER and splice.AVAILABLE:
                self._start_splice()
            return
        self._enqueue(Chunk(data, monotonic()))

    def _enqueue(self, chunk: Chunk) -> None:
        if self.queue is None:
            self.queue = deque()
        self.queue.append(chunk)
        self.queued += len(chunk.data)
        if self.queued > HIGH_WATER:
            self._pause("queue")
        if self.task is None:
            self.task = self.loop.create_task(self._run())

    def feed_eof(self) -> None:
        """The source side closed its writing half."""
        if self.conn.closed:
            return
        if self.early is not None:
            self.early.append(None)
            return
        if not self.stages and self.task is None:
            self._propagate_eof()
            return
        if self.queue is None:
            self.queue = deque()
        self.queue.append(None)
        if self.task is None:
            self.task = self.loop.create_task(self._run())

    def count(self, n: int) -> None:
        """Count ``n`` bytes forwarded in this direction."""
        if self.upstream:
            self.conn.proxy.stats.bytes_up += n
        else:
            self.conn.proxy.stats.bytes_down += n

    # -- zero-copy ------------------------------------------------------------
    def _start_splice(self) -> None:
        conn, dst = self.conn, self.dst.transport
        if conn.http is not None or not conn.http_decided or conn.closed or self.splicer is not None:
            return
        if dst is None or dst.get_write_buffer_size() > 0:
            return
        try:
            self.splicer = splice.Splicer(self)
        except OSError:
            return  # too many open files, no socket object: stay on the normal path
        self.fast = None
        self._pause("splice")

    def _stop_splice(self) -> None:
        """Back to the normal path (a toxic arrived); bytes in the kernel pipe are forwarded first."""
        if self.splicer is not None:
            left, self.splicer = self.splicer.stop(), None
            if left:
                self.write(left)
            self.route()
            self._resume("splice")

    def splice_ended(self, left: bytes, how: str) -> None:
        """The splicer stopped on its own: the source closed (``eof``) or failed."""
        self.splicer = None
        if left:
            self.write(left)
        self.route()
        if how == "eof":
            self.feed_eof()  # the source transport stays paused: it has nothing more to read
        else:
            self.conn.close(how)

    def write(self, data: bytes) -> None:
        """Write to the destination and count the bytes."""
        transport = self.dst.transport
        if transport is None or transport.is_closing():
            return
        transport.write(data)
        stats = self.conn.proxy.stats
        if self.upstream:
            stats.bytes_up += len(data)
        else:
            stats.bytes_down += len(data)
            if self.conn.http is not None:  # responses: seen as the client gets them (after toxics)
                self.conn.http.response_bytes(data)

    async def _write_async(self, chunk: Chunk) -> None:
        if self.conn.closed:
            raise _Closed
        self.write(chunk.data)
        if self._dst_paused:
            self._drain = self.loop.create_future()
            await self._drain

    async def _run(self) -> None:
        try:
            while self.queue and not self.conn.closed:
                chunk = self.queue.popleft()
                if chunk is None:
                    for ctx in list(self.stages):
                        await ctx.spec.toxic.before_close(ctx)
                    self._propagate_eof()
                    continue
                self.queued -= len(chunk.data)
                if self.queued < LOW_WATER:
                    self._resume("queue")
                if chunk.hold is not None:  # an HTTP request held by squall.proxy.http
                    await chunk.hold()
                await self._emit(chunk, 0, list(self.stages))
        except _Closed:
            pass
        except Exception:  # a broken toxic must not hang the connection or the proxy
            log.exception("proxy %s: toxic chain failed; closing the connection", self.conn.proxy.name)
            self.conn.close("closed")
        finally:
            self.task = None
            self.route()

    async def _emit(self, chunk: Chunk, i: int, stages: list[ToxicContext]) -> None:
        if i >= len(stages):
            await self._write_async(chunk)
            return
        ctx = stages[i]
        if not ctx.current:  # removed while this chunk was on its way: skip it
            await self._emit(chunk, i + 1, stages)
            return
        await ctx.spec.toxic.pipe(chunk, lambda c: self._emit(c, i + 1, stages), ctx)
        if self.conn.closed:
            raise _Closed

    def _propagate_eof(self) -> None:
        self.eof_done = True
        self.fast = None
        if self.conn.http is not None and not self.upstream:
            self.conn.http.response_eof()
        transport = self.dst.transport
        if transport is not None and not transport.is_closing() and transport.can_write_eof():
            try:
                transport.write_eof()
            except OSError:  # the peer is already gone (ENOTCONN after a reset): nothing left to tell it
                self.conn.close("reset")
                return
        if self.conn.pipe_other(self).eof_done or transport is None or not transport.can_write_eof():
            self.conn.close("closed")

    # -- flow control --------------------------------------------------------
    def dst_paused(self, paused: bool) -> None:
        """The destination's write buffer filled up (or drained)."""
        self._dst_paused = paused
        if paused:
            self._pause("dst")
        else:
            self._resume("dst")
            if self._drain is not None and not self._drain.done():
                self._drain.set_result(None)

    def _pause(self, reason: str) -> None:
        bit = _PAUSE[reason]
        if not self._paused and self.src.transport is not None:
            self.src.transport.pause_reading()
        self._paused |= bit

    def _resume(self, reason: str) -> None:
        bit = _PAUSE[reason]
        if self._paused & bit:
            self._paused &= ~bit
            transport = self.src.transport
            if not self._paused and transport is not None and not transport.is_closing():
                transport.resume_reading()

    def shutdown(self) -> None:
        """Stop timers, splicing and the chain task (the connection is closing)."""
        self.fast = None
        if self.splicer is not None:
            self.splicer.stop()
            self.splicer = None
        for ctx in self.contexts.values():
            ctx.stop()
        for fut in list(self.waiters or ()):
            wake(fut)
        if self._drain is not None and not self._drain.done():
            self._drain.set_result(None)
        if self.task is not None and self.task is not asyncio.current_task():
            self.task.cancel()
