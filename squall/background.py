"""Run asyncio servers in a background thread with their own event loop.

The embedded proxy, the demo services and the tests' fake upstreams all run
this way when started from synchronous code (a Chaos Toolkit activity, a click
command, a pytest fixture). Signal handlers are never installed off the main
thread, so everything here is safe to use inside tests.
"""

import asyncio
import threading
from collections.abc import Awaitable, Callable, Coroutine, Iterator
from contextlib import contextmanager
from typing import Any, TypeVar

from aiohttp import web

from squall import loops

T = TypeVar("T")


class BackgroundLoop:
    """An event loop from ``squall.loops`` (uvloop unless told otherwise) in a daemon thread until ``close()``."""

    def __init__(self, name: str = "squall-loop") -> None:
        self.loop = loops.new_event_loop()
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        asyncio.set_event_loop(self.loop)
        self.loop.run_forever()

    def run(self, coro: Coroutine[Any, Any, T], timeout: float | None = 30.0) -> T:
        """Run a coroutine on the loop and wait (bounded) for its result."""
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout)

    def close(self, timeout: float = 10.0) -> None:
        """Cancel what is left on the loop, stop it and join the thread."""
        if self.loop.is_closed():
            return

        async def _cancel_all() -> None:
            tasks = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
            for t in tasks:
                t.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)

        try:
            self.run(_cancel_all(), timeout)
        finally:
            self.loop.call_soon_threadsafe(self.loop.stop)
            self._thread.join(timeout)
            if not self._thread.is_alive():
                self.loop.close()

    def __enter__(self) -> "BackgroundLoop":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


async def start_app(app: web.Application, host: str = "127.0.0.1", port: int = 0) -> tuple[web.AppRunner, int]:
    """Start an aiohttp application on host:port (0 = ephemeral); return the runner and the bound port."""
    runner = web.AppRunner(app, access_log=None, handle_signals=False)
    await runner.setup()
    site = web.TCPSite(runner, host, port, reuse_address=True)
    await site.start()
    server = site._server  # aiohttp keeps the asyncio.Server here
    sockets = getattr(server, "sockets", None) or []
    bound = sockets[0].getsockname()[1] if sockets else port
    return runner, int(bound)


@contextmanager
def serve_app(
    app_factory: Callable[[], web.Application | Awaitable[web.Application]],
    host: str = "127.0.0.1",
    port: int = 0,
) -> Iterator[str]:
    """Serve an aiohttp app in a background thread; yield its base URL (``http://host:port``)."""
    with BackgroundLoop("squall-app") as bg:

        async def _start() -> tuple[web.AppRunner, int]:
            app = app_factory()
            if asyncio.iscoroutine(app) or isinstance(app, Awaitable):
                app = await app
            assert isinstance(app, web.Application)
            return await start_app(app, host, port)

        runner, bound = bg.run(_start())
        try:
            yield f"http://{host}:{bound}"
        finally:
            bg.run(runner.cleanup())
