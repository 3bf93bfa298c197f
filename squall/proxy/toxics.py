"""Toxics: one small pipeline stage per type, its attributes a frozen dataclass, registered by name.

A stage receives one chunk at a time and passes what it wants downstream by
awaiting ``out(chunk)``; it may sleep (interruptibly: removing or updating the
toxic wakes it), split chunks, or close the connection. Stages that act on time
rather than on data (``timeout``, ``reset_peer``) start timers in ``start``.
Attribute names, units and defaults are Toxiproxy's.
"""

import dataclasses
import random
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, ClassVar, Protocol

from squall.httpscope import Scope


@dataclass(slots=True)
class Chunk:
    """Bytes read from one side, stamped with the loop time they arrived.

    ``hold``: awaited before the chunk enters the chain (an ``http_latency`` delay, or a
    pipelined request waiting until an injected answer ahead of it is written).
    """

    data: bytes
    ts: float
    hold: Callable[[], Awaitable[object]] | None = None


Emit = Callable[[Chunk], Awaitable[None]]


class StageContext(Protocol):
    """What a toxic may do to the connection it runs on (implemented by ``link.Pipe``)."""

    state: dict[str, Any]

    def now(self) -> float: ...
    async def sleep_until(self, deadline: float) -> bool: ...
    def call_later(self, delay_s: float, fn: Callable[[], None]) -> None: ...
    def close_connection(self, reason: str) -> None: ...
    def reset_connection(self) -> None: ...


class Toxic:
    """Base stage: passes everything through (``noop``)."""

    type_name: ClassVar[str] = "noop"
    touches_bytes: ClassVar[bool] = True

    @dataclass(frozen=True)
    class Attributes:
        pass

    def __init__(self, attrs: Any) -> None:
        self.attrs = attrs

    def start(self, ctx: StageContext) -> None:
        """Called when the toxic starts acting on one direction of one connection."""

    async def pipe(self, chunk: Chunk, out: Emit, ctx: StageContext) -> None:
        """Pass ``chunk`` (possibly changed, delayed or split) downstream."""
        await out(chunk)

    async def before_close(self, ctx: StageContext) -> None:
        """Runs when the source side closed, before the close is passed on."""


class Latency(Toxic):
    """Delays each chunk by ``latency`` ms ± ``jitter`` ms, counted from when it arrived."""

    type_name = "latency"

    @dataclass(frozen=True)
    class Attributes:
        latency: int = 0
        jitter: int = 0

    async def pipe(self, chunk: Chunk, out: Emit, ctx: StageContext) -> None:
        delay = self.attrs.latency
        if self.attrs.jitter > 0:
            delay += random.randint(-self.attrs.jitter, self.attrs.jitter)
        if delay > 0:
            await ctx.sleep_until(chunk.ts + delay / 1000.0)
        await out(chunk)


class Bandwidth(Toxic):
    """Limits throughput to ``rate`` KB/s (1 KB = 1000 bytes); 0 or less means unlimited."""

    type_name = "bandwidth"

    @dataclass(frozen=True)
    class Attributes:
        rate: int = 0

    async def pipe(self, chunk: Chunk, out: Emit, ctx: StageContext) -> None:
        rate = self.attrs.rate * 1000.0
        if rate <= 0:
            await out(chunk)
            return
        step = max(1, int(rate / 10))  # at most 100 ms worth of bytes per write
        data = chunk.data
        for i in range(0, len(data), step):
            piece = data[i : i + step]
            free_at = max(ctx.now(), ctx.state.get("free_at", 0.0))
            if not await ctx.sleep_until(free_at):
                await out(Chunk(data[i:], chunk.ts))  # toxic removed: the rest goes at full speed
                return
            await out(Chunk(piece, chunk.ts))
            ctx.state["free_at"] = free_at + len(piece) / rate


class SlowClose(Toxic):
    """Delays passing on a close by ``delay`` ms."""

    type_name = "slow_close"

    @dataclass(frozen=True)
    class Attributes:
        delay: int = 0

    async def before_close(self, ctx: StageContext) -> None:
        if self.attrs.delay > 0:
            await ctx.sleep_until(ctx.now() + self.attrs.delay / 1000.0)


class Timeout(Toxic):
    """Stops all data; closes the connection after ``timeout`` ms (0 = hold until the toxic is removed)."""

    type_name = "timeout"

    @dataclass(frozen=True)
    class Attributes:
        timeout: int = 0

    def start(self, ctx: StageContext) -> None:
        if self.attrs.timeout > 0:
            ctx.call_later(self.attrs.timeout / 1000.0, lambda: ctx.close_connection("timeout"))

    async def pipe(self, chunk: Chunk, out: Emit, ctx: StageContext) -> None:
        await ctx.sleep_until(float("inf"))  # returns when the toxic is removed or changed
        await out(chunk)

    async def before_close(self, ctx: StageContext) -> None:
        await ctx.sleep_until(float("inf"))


class ResetPeer(Toxic):
    """Resets the connection (TCP RST) after ``timeout`` ms (0 = at once)."""

    type_name = "reset_peer"

    @dataclass(frozen=True)
    class Attributes:
        timeout: int = 0

    def start(self, ctx: StageContext) -> None:
        ctx.call_later(max(0, self.attrs.timeout) / 1000.0, ctx.reset_connection)


class Slicer(Toxic):
    """Splits data into pieces of ``average_size`` ± ``size_variation`` bytes, ``delay`` µs apart."""

    type_name = "slicer"

    @dataclass(frozen=True)
    class Attributes:
        average_size: int = 0
        size_variation: int = 0
        delay: int = 0

    async def pipe(self, chunk: Chunk, out: Emit, ctx: StageContext) -> None:
        avg = self.attrs.average_size
        if avg <= 0:
            await out(chunk)
            return
        var = max(0, min(self.attrs.size_variation, avg - 1))
        data, i = chunk.data, 0
        while i < len(data):
            size = avg + random.randint(-var, var) if var else avg
            await out(Chunk(data[i : i + size], chunk.ts))
            i += size
            pause = self.attrs.delay / 1e6
            if i < len(data) and pause > 0 and not await ctx.sleep_until(ctx.now() + pause):
                await out(Chunk(data[i:], chunk.ts))  # toxic removed: the rest in one piece
                return


class LimitData(Toxic):
    """Closes the connection once ``bytes`` bytes have passed."""

    type_name = "limit_data"

    @dataclass(frozen=True)
    class Attributes:
        bytes: int = 0

    async def pipe(self, chunk: Chunk, out: Emit, ctx: StageContext) -> None:
        sent = ctx.state.get("sent", 0)
        room = self.attrs.bytes - sent
        if room > 0:
            piece = chunk.data[:room]
            ctx.state["sent"] = sent + len(piece)
            await out(Chunk(piece, chunk.ts))
        if ctx.state.get("sent", 0) >= self.attrs.bytes:
            ctx.close_connection("limit_data")


@dataclass(frozen=True)
class ScopeAttributes:
    """Which requests an HTTP toxic acts on (``squall.httpscope``); empty = any, all given ones must hold."""

    method: str = ""
    path_prefix: str = ""
    path_regex: str = ""
    header_name: str = ""
    header_value: str = ""
    baggage: str = ""


class HttpToxic(Toxic):
    """A toxic that acts per HTTP request (in ``squall.proxy.http``), on the requests its scope matches."""

    touches_bytes = False  # acts per request in squall.proxy.http, not on the byte stream

    def __init__(self, attrs: Any) -> None:
        super().__init__(attrs)
        self.scope = Scope(dataclasses.asdict(attrs))  # attributes were checked by squall.proxy.spec

    def applies(self) -> bool:
        """Decide for one request in scope: the toxic's ``rate`` share of them."""
        return bool(random.random() < self.attrs.rate)


class HttpError(HttpToxic):
    """Answers HTTP requests in scope with ``status`` instead of forwarding them (squall extension)."""

    type_name = "http_error"

    @dataclass(frozen=True)
    class Attributes(ScopeAttributes):
        status: int = 503
        rate: float = 1.0
        first_n: int = 0
        retry_after: int = 0
        body: str = ""

    def __init__(self, attrs: Any) -> None:
        super().__init__(attrs)
        self.answered = 0  # requests in scope seen since the toxic was added or changed (for first_n)

    def applies(self) -> bool:
        """Decide for one request in scope: the first ``first_n``, else a ``rate`` share."""
        if self.attrs.first_n > 0:
            self.answered += 1
            return bool(self.answered <= self.attrs.first_n)
        return super().applies()


class HttpLatency(HttpToxic):
    """Holds each HTTP request in scope for ``latency`` ms ± ``jitter`` ms before forwarding it (squall extension).

    The whole request is held (requests behind it on the connection wait, so their
    order is kept); responses are not delayed. ``rate``: the share of requests in scope.
    """

    type_name = "http_latency"

    @dataclass(frozen=True)
    class Attributes(ScopeAttributes):
        latency: int = 0
        jitter: int = 0
        rate: float = 1.0

    def delay_ms(self) -> int:
        """The delay for one request: ``latency`` ± ``jitter`` (never below 0)."""
        delay = self.attrs.latency
        if self.attrs.jitter > 0:
            delay += random.randint(-self.attrs.jitter, self.attrs.jitter)
        return int(max(0, delay))


REGISTRY: dict[str, type[Toxic]] = {
    cls.type_name: cls
    for cls in (Toxic, Latency, Bandwidth, SlowClose, Timeout, ResetPeer, Slicer, LimitData, HttpError, HttpLatency)
}
