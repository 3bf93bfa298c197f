"""Injected answers (the ``http_error`` toxic) in the order an HTTP/1.1 client expects its responses.

The client is owed one response per request, in order. ``ResponseOrder`` keeps
that queue for one connection: a request forwarded upstream owes the
upstream's response; an answered request owes its injected answer. An answer
whose turn has come (nothing owed before it) is written at once; otherwise it
waits until the responses before it have reached the client, and the requests
after it must not be forwarded before it is written (``hold``), or the upstream's
answers to them could overtake it.
"""

import asyncio
import functools
from collections import deque
from collections.abc import Awaitable, Callable
from http import HTTPStatus
from typing import TYPE_CHECKING

from squall.proxy.toxics import HttpError

if TYPE_CHECKING:
    from squall.proxy.connection import Connection

Hold = Callable[[], Awaitable[object]]


def answer_payload(toxic: HttpError, method: str, keep_alive: bool) -> bytes:
    """The response ``toxic`` answers a ``method`` request with."""
    attrs = toxic.attrs
    try:
        reason = HTTPStatus(attrs.status).phrase
    except ValueError:
        reason = "Injected"
    body = attrs.body.encode() if attrs.body else f"{attrs.status} {reason} (squall http_error)\n".encode()
    head = [
        f"HTTP/1.1 {attrs.status} {reason}",
        "Content-Type: text/plain; charset=utf-8",
        f"Content-Length: {0 if method == 'HEAD' else len(body)}",
        "X-Squall-Injected: http_error",
    ]
    if attrs.retry_after > 0:
        head.append(f"Retry-After: {attrs.retry_after}")
    head.append("Connection: keep-alive" if keep_alive else "Connection: close")
    return ("\r\n".join(head) + "\r\n\r\n").encode() + (b"" if method == "HEAD" else body)


class _Answer:
    """An injected answer waiting for the responses ahead of it; ``written`` resolves once it is sent."""

    __slots__ = ("close", "payload", "written")

    def __init__(self, payload: bytes, close: bool, written: "asyncio.Future[None]") -> None:
        self.payload, self.close, self.written = payload, close, written


async def _await_written(fut: "asyncio.Future[None]") -> None:
    if not fut.done():
        await fut


def in_turn(first: Hold, then: Hold) -> Hold:
    """A hold that waits for ``first``, then for ``then``."""
    async def both() -> None:
        await first()
        await then()
    return both


class ResponseOrder:
    """The responses one connection's client is owed, in order (None: the upstream's; else an injected answer)."""

    __slots__ = ("conn", "owed", "waiting")

    def __init__(self, conn: "Connection") -> None:
        self.conn = conn
        self.owed: deque[_Answer | None] = deque()
        self.waiting: asyncio.Future[None] | None = None  # the last injected answer not written yet

    def hold(self) -> Hold | None:
        """What request bytes must wait for now: the last injected answer still queued, if any."""
        return functools.partial(_await_written, self.waiting) if self.waiting is not None else None

    def forwarded(self) -> None:
        """A request went (or will go, in order) to the upstream: its response is owed."""
        self.owed.append(None)

    def answer(self, payload: bytes, close: bool) -> Hold | None:
        """Write ``payload`` now if its turn has come (None), else queue it and return what later requests wait for."""
        if not self.owed:
            self._write(payload, close)
            return None
        written: asyncio.Future[None] = self.conn.loop.create_future()
        self.owed.append(_Answer(payload, close, written))
        self.waiting = written
        return functools.partial(_await_written, written)

    def response_done(self) -> None:
        """A response from the upstream has reached the client: answers queued right behind it go now."""
        if self.owed and self.owed[0] is None:
            self.owed.popleft()
        self.flush()

    def flush(self, everything: bool = False) -> None:
        """Write the answers whose turn has come (``everything``: all of them, the order can no longer be known)."""
        while self.owed and (everything or self.owed[0] is not None):
            answer = self.owed.popleft()
            if answer is None:
                continue
            self._write(answer.payload, answer.close)
            if not answer.written.done():
                answer.written.set_result(None)
            if answer.written is self.waiting:
                self.waiting = None

    def _write(self, payload: bytes, close: bool) -> None:
        conn = self.conn
        transport = conn.client.transport
        if transport is not None and not transport.is_closing():
            transport.write(payload)
            conn.proxy.stats.bytes_down += len(payload)
        if close:
            conn.loop.call_soon(conn.close, "closed")
