"""One proxied connection: two endpoints and one toxic chain per direction.

With no byte-touching toxic on a direction, ``data_received`` writes straight to
the other transport (the fast path). Otherwise chunks queue (bounded: reading
pauses above ``HIGH_WATER``) and one task runs them through the chain in order,
so adding, changing or removing a toxic affects open connections and never
drops or reorders bytes. Toxicity is drawn once per connection per toxic.
"""

import asyncio
import logging
import random
import socket
import struct
from collections import deque
from collections.abc import Callable
from time import monotonic
from typing import TYPE_CHECKING, Any

from squall.proxy import splice
from squall.proxy.http import HttpObserver, looks_like_http
from squall.proxy.toxics import Chunk, HttpError, ToxicSpec

if TYPE_CHECKING:
    from squall.proxy.proxy import Proxy

log = logging.getLogger("squall.proxy")

HIGH_WATER = 1 << 20  # queued bytes per direction before reading pauses
LOW_WATER = 1 << 18
WRITE_HIGH_WATER = 1 << 20  # a transport's write buffer before the other side's reading pauses
DIAL_TIMEOUT_S = 10.0
MAX_SLEEP_S = 365 * 86400.0  # longer sleeps and timers mean "never"


class _Closed(Exception):
    """The connection closed while a chunk was in the chain."""


class Endpoint(asyncio.Protocol):
    """One socket of a connection (the client's or the upstream server's)."""

    def __init__(self, conn: "Connection", is_client: bool) -> None:
        self.conn = conn
        self.is_client = is_client
        self.transport: asyncio.Transport | None = None
        self.pipe_in: Pipe | None = None  # the pipe this endpoint feeds

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # asyncio and uvloop both set TCP_NODELAY on TCP transports already.
        self.transport = transport  # type: ignore[assignment]  # uvloop's transports are not subclasses
        transport.set_write_buffer_limits(high=WRITE_HIGH_WATER)  # type: ignore[attr-defined]
        if self.is_client:
            self.conn.accepted()

    def data_received(self, data: bytes) -> None:
        if self.pipe_in is not None:
            self.pipe_in.feed(data)

    def eof_received(self) -> bool:
        if self.pipe_in is not None:
            self.pipe_in.feed_eof()
        return True  # keep the other direction open (half-close)

    def connection_lost(self, exc: Exception | None) -> None:
        if not self.conn.closed:
            reason = "reset" if isinstance(exc, ConnectionResetError) else "closed"
            self.conn.close(reason)

    def pause_writing(self) -> None:
        self.conn.pipe_to(self).dst_paused(True)

    def resume_writing(self) -> None:
        self.conn.pipe_to(self).dst_paused(False)


class ToxicContext:
    """A toxic acting on one direction of one connection (its state, timers and sleeps)."""

    def __init__(self, pipe: "Pipe", spec: ToxicSpec, active: bool) -> None:
        self.pipe = pipe
        self.spec = spec
        self.active = active
        self.state: dict[str, Any] = {}
        self.current = True
        self._timers: list[asyncio.TimerHandle] = []

    def now(self) -> float:
        return monotonic()

    async def sleep_until(self, deadline: float) -> bool:
        """Sleep until ``deadline`` (time.monotonic); False if the toxic was removed or changed first."""
        # time.monotonic, not loop.time(): uvloop's clock is cached per iteration in whole ms.
        loop = self.pipe.loop
        while True:
            if not self.current or self.pipe.conn.closed:
                return False
            remaining = deadline - monotonic()
            if remaining <= 0.0:
                return True
            fut: asyncio.Future[None] = loop.create_future()
            self.pipe.waiters.add(fut)
            handle = loop.call_later(remaining, _wake, fut) if remaining < MAX_SLEEP_S else None
            try:
                await fut
            finally:
                self.pipe.waiters.discard(fut)
                if handle is not None:
                    handle.cancel()

    def call_later(self, delay_s: float, fn: Callable[[], None]) -> None:
        if delay_s < MAX_SLEEP_S:  # longer than a year: never, in practice
            self._timers.append(self.pipe.loop.call_later(delay_s, fn))

    def close_connection(self, reason: str) -> None:
        self.pipe.conn.close(reason)

    def reset_connection(self) -> None:
        self.pipe.conn.close("reset", reset=True)

    def stop(self) -> None:
        self.current = False
        for t in self._timers:
            t.cancel()


def _wake(fut: "asyncio.Future[None]") -> None:
    if not fut.done():
        fut.set_result(None)


class Pipe:
    """One direction of a connection: source endpoint -> toxic chain -> destination endpoint."""

    def __init__(self, conn: "Connection", upstream: bool, src: Endpoint, dst: Endpoint) -> None:
        self.conn = conn
        self.loop = conn.loop
        self.upstream = upstream
        self.src, self.dst = src, dst
        src.pipe_in = self
        self.contexts: dict[int, ToxicContext] = {}
        self.stages: list[ToxicContext] = []
        self.queue: deque[Chunk | None] = deque()
        self.queued = 0
        self.task: asyncio.Task[None] | None = None
        self.waiters: set[asyncio.Future[None]] = set()
        self.eof_done = False
        self._paused_reasons: set[str] = set()
        self._drain: asyncio.Future[None] | None = None
        self._dst_paused = False
        self.early: list[bytes | None] = []
        self.splicer: splice.Splicer | None = None

    def connected(self) -> None:
        """The destination is connected: pass on what arrived meanwhile, then read on."""
        early, self.early = self.early, []
        for item in early:
            if item is None:
                self.feed_eof()
            else:
                self.feed(item)
        self._resume("dial")

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
        for fut in list(self.waiters):
            _wake(fut)
        if self.queue and self.task is None and not self.conn.closed:
            self.task = self.loop.create_task(self._run())

    def http_error(self) -> HttpError | None:
        """The first active http_error toxic on this direction, if any."""
        for ctx in self.contexts.values():
            if ctx.active and ctx.current and isinstance(ctx.spec.toxic, HttpError):
                return ctx.spec.toxic
        return None

    # -- data --------------------------------------------------------------
    def feed(self, data: bytes) -> None:
        """Data arrived from the source side."""
        if self.conn.closed:
            return
        if self.dst.transport is None:  # still dialling the upstream: hold it (reading pauses)
            self.early.append(data)
            self._pause("dial")
            return
        if self.upstream and not self.conn.http_decided:
            self.conn.detect_http(data)
        http = self.conn.http
        if http is not None and self.upstream:  # requests: seen as they arrive (http_error acts here)
            data = http.request_bytes(data)
            if not data:
                return
        if not self.stages and self.task is None:
            self.write(data)
            if len(data) >= splice.SPLICE_AFTER and splice.AVAILABLE:
                self._start_splice()
            return
        self.queue.append(Chunk(data, monotonic()))
        self.queued += len(data)
        if self.queued > HIGH_WATER:
            self._pause("queue")
        if self.task is None:
            self.task = self.loop.create_task(self._run())

    def feed_eof(self) -> None:
        """The source side closed its writing half."""
        if self.conn.closed:
            return
        if self.dst.transport is None:
            self.early.append(None)
            return
        if not self.stages and self.task is None:
            self._propagate_eof()
            return
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
        self._pause("splice")

    def _stop_splice(self) -> None:
        """Back to the normal path (a toxic arrived); bytes in the kernel pipe are forwarded first."""
        if self.splicer is not None:
            left, self.splicer = self.splicer.stop(), None
            if left:
                self.write(left)
            self._resume("splice")

    def splice_ended(self, left: bytes, how: str) -> None:
        """The splicer stopped on its own: the source closed (``eof``) or failed."""
        self.splicer = None
        if left:
            self.write(left)
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
                await self._emit(chunk, 0, list(self.stages))
        except _Closed:
            pass
        except Exception:  # a broken toxic must not hang the connection or the proxy
            log.exception("proxy %s: toxic chain failed; closing the connection", self.conn.proxy.name)
            self.conn.close("closed")
        finally:
            self.task = None

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
        if self.conn.http is not None and not self.upstream:
            self.conn.http.response_eof()
        transport = self.dst.transport
        if transport is not None and not transport.is_closing() and transport.can_write_eof():
            transport.write_eof()
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
        if not self._paused_reasons and self.src.transport is not None:
            self.src.transport.pause_reading()
        self._paused_reasons.add(reason)

    def _resume(self, reason: str) -> None:
        if reason in self._paused_reasons:
            self._paused_reasons.discard(reason)
            transport = self.src.transport
            if not self._paused_reasons and transport is not None and not transport.is_closing():
                transport.resume_reading()

    def shutdown(self) -> None:
        """Stop timers, splicing and the chain task (the connection is closing)."""
        if self.splicer is not None:
            self.splicer.stop()
            self.splicer = None
        for ctx in self.contexts.values():
            ctx.stop()
        for fut in list(self.waiters):
            _wake(fut)
        if self._drain is not None and not self._drain.done():
            self._drain.set_result(None)
        if self.task is not None and self.task is not asyncio.current_task():
            self.task.cancel()


_LINGER_ZERO = struct.pack("ii", 1, 0)


class Connection:
    """A client connection and its upstream connection."""

    def __init__(self, proxy: "Proxy", conn_id: int) -> None:
        self.proxy = proxy
        self.id = conn_id
        self.loop = asyncio.get_running_loop()
        self.client = Endpoint(self, is_client=True)
        self.server = Endpoint(self, is_client=False)
        self.up = Pipe(self, True, self.client, self.server)
        self.down = Pipe(self, False, self.server, self.client)
        self.http: HttpObserver | None = None
        self.http_decided = False
        self.closed = False

    def detect_http(self, first: bytes) -> None:
        """Parse HTTP/1.x only when the first bytes look like a request line; raw TCP stays raw."""
        self.http_decided = True
        if looks_like_http(first):
            self.http = HttpObserver(self)

    def pipe_to(self, endpoint: Endpoint) -> Pipe:
        """The pipe writing to ``endpoint``."""
        return self.down if endpoint.is_client else self.up

    def pipe_other(self, pipe: Pipe) -> Pipe:
        return self.down if pipe is self.up else self.up

    def accepted(self) -> None:
        """The client connected: pause it, dial the upstream, then let bytes flow."""
        assert self.client.transport is not None
        self.client.transport.pause_reading()
        self.proxy.register(self)
        self.loop.create_task(self._dial())

    async def _dial(self) -> None:
        host, _, port = self.proxy.upstream.rpartition(":")
        task = asyncio.current_task()
        assert task is not None
        give_up = self.loop.call_later(DIAL_TIMEOUT_S, task.cancel)
        try:
            await self.loop.create_connection(lambda: self.server, host.strip("[]"), int(port))
        except (OSError, ValueError, asyncio.CancelledError):
            self.proxy.stats.refused += 1
            self.close("closed")
            return
        finally:
            give_up.cancel()
        if self.closed:
            if self.server.transport is not None:
                self.server.transport.close()
            return
        self.refresh_toxics()
        self.up.connected()
        assert self.client.transport is not None
        if not self.client.transport.is_closing() and not self.up._paused_reasons:
            self.client.transport.resume_reading()

    def refresh_toxics(self) -> None:
        """Re-apply the proxy's toxic chains (after a toxic was added, changed or removed)."""
        self.up.set_chain(self.proxy.chain(upstream=True))
        self.down.set_chain(self.proxy.chain(upstream=False))

    def http_error(self) -> HttpError | None:
        """The http_error toxic acting on this connection, if any (either stream)."""
        return self.up.http_error() or self.down.http_error()

    def close(self, reason: str, reset: bool = False) -> None:
        """Close both sides (``reset``: with a TCP RST); idempotent."""
        if self.closed:
            return
        self.closed = True
        self.up.shutdown()
        self.down.shutdown()
        for ep in (self.client, self.server):
            if ep.transport is None:
                continue
            if reset:
                sock = ep.transport.get_extra_info("socket")
                try:
                    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, _LINGER_ZERO)
                except (OSError, AttributeError):
                    pass
                ep.transport.abort()
            else:
                ep.transport.close()
        if self.http is not None:
            self.http.finish(reason)
        self.proxy.unregister(self)
