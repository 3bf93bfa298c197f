"""One proxied connection: the client's socket, the upstream's, and a ``Pipe`` each way."""

import asyncio
import socket
import struct
from typing import TYPE_CHECKING

from squall.proxy.http import HttpObserver, looks_like_http
from squall.proxy.link import Pipe
from squall.proxy.stats import ConnEvent, ConnOutcome

if TYPE_CHECKING:
    from squall.proxy.proxy import Proxy

WRITE_HIGH_WATER = 1 << 20  # a transport's write buffer before the other side's reading pauses
DIAL_TIMEOUT_S = 10.0


class Endpoint(asyncio.Protocol):
    """One socket of a connection (the client's or the upstream server's)."""

    __slots__ = ("conn", "is_client", "pipe_in", "transport")

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
            reason = "reset" if isinstance(exc, ConnectionResetError | BrokenPipeError) else "closed"
            self.conn.close(reason)

    def pause_writing(self) -> None:
        self.conn.pipe_to(self).dst_paused(True)

    def resume_writing(self) -> None:
        self.conn.pipe_to(self).dst_paused(False)


_LINGER_ZERO = struct.pack("ii", 1, 0)
_OUTCOMES: dict[str, ConnOutcome] = {"reset": "reset", "timeout": "timeout", "refused": "refused"}


class Connection:
    """A client connection and its upstream connection."""

    __slots__ = ("client", "closed", "down", "http", "http_decided", "id", "loop", "proxy", "record", "server", "up")

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
        self.record: ConnEvent | None = None  # set when accepted

    def detect_http(self, first: bytes) -> None:
        """Parse HTTP/1.x only when the first bytes look like a request line; raw TCP stays raw."""
        self.http_decided = True
        if looks_like_http(first):
            self.http = HttpObserver(self)
        self.up.route()
        self.down.route()

    def pipe_to(self, endpoint: Endpoint) -> Pipe:
        """The pipe writing to ``endpoint``."""
        return self.down if endpoint.is_client else self.up

    def pipe_other(self, pipe: Pipe) -> Pipe:
        return self.down if pipe is self.up else self.up

    def accepted(self) -> None:
        """The client connected: take the proxy's toxics now, then dial (bytes wait in ``Pipe.early``)."""
        self.proxy.register(self)
        self.record = self.proxy.stats.connection(self.id)
        self.refresh_toxics()  # before any byte can be forwarded: a fault applies from the first byte
        self.loop.create_task(self._dial())

    async def _dial(self) -> None:
        host, _, port = self.proxy.upstream.rpartition(":")
        task = asyncio.current_task()
        assert task is not None
        give_up = self.loop.call_later(DIAL_TIMEOUT_S, task.cancel)
        try:
            await self.loop.create_connection(lambda: self.server, host.strip("[]"), int(port))
        except (OSError, ValueError, OverflowError, asyncio.CancelledError):
            # OverflowError: a port outside 0..65535 ("127.0.0.1:99999"), which the API accepts as Toxiproxy does
            self.proxy.stats.refused += 1
            self.close("refused")
            return
        finally:
            give_up.cancel()
        if self.closed:
            if self.server.transport is not None:
                self.server.transport.close()
            return
        self.up.connected()

    def refresh_toxics(self) -> None:
        """Re-apply the proxy's toxic chains (after a toxic was added, changed or removed)."""
        self.up.set_chain(self.proxy.chain(upstream=True))
        self.down.set_chain(self.proxy.chain(upstream=False))

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
        if self.record is not None:
            self.proxy.stats.connection_ended(self.record, _OUTCOMES.get("reset" if reset else reason, "closed"))
        self.proxy.unregister(self)
