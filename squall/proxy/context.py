"""A toxic acting on one direction of one connection: its state, timers and interruptible sleeps."""

import asyncio
from collections.abc import Callable
from time import monotonic
from typing import TYPE_CHECKING, Any

from squall.proxy.spec import ToxicSpec

if TYPE_CHECKING:
    from squall.proxy.link import Pipe

MAX_SLEEP_S = 365 * 86400.0  # longer sleeps and timers mean "never"


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
            if self.pipe.waiters is None:
                self.pipe.waiters = set()
            self.pipe.waiters.add(fut)
            handle = loop.call_later(remaining, wake, fut) if remaining < MAX_SLEEP_S else None
            try:
                await fut
            finally:
                if self.pipe.waiters is not None:
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


def wake(fut: "asyncio.Future[None]") -> None:
    """Resolve a sleeper's future (idempotent)."""
    if not fut.done():
        fut.set_result(None)
