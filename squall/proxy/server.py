"""The proxy server's lifecycle: serve -> startup -> main loop -> shutdown, each wait bounded."""

import asyncio
import errno
import logging
import signal
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from aiohttp import web
from aiohttp.http_exceptions import LineTooLong
from aiohttp.web_protocol import RequestHandler
from aiohttp.web_request import BaseRequest

from squall import loops
from squall.errors import ExperimentInvalid, FileInvalid, SquallError
from squall.proxy.api import error_response, make_app
from squall.proxy.collection import ProxyCollection
from squall.proxy.errors import ApiError, RemoteBindRefused, from_http_status
from squall.proxy.hosts import is_loopback
from squall.proxy.proxy import MAX_BACKLOG, system_backlog

log = logging.getLogger("squall.proxy")

SHUTDOWN_TIMEOUT_S = 5.0
MAX_URL = 8190  # bytes of a request target (aiohttp's default line limit)
MAX_HEADER = 16384  # bytes of one header; a different number, so a LineTooLong says which one overflowed


@dataclass(frozen=True)
class ServerConfig:
    """Where the admin API listens and which proxies to create at start."""

    host: str = "127.0.0.1"
    port: int = 8474
    config: Path | None = None  # a /populate JSON array
    allow_remote: bool = False  # bind a non-loopback host (the API can break any proxied service)
    backlog: int | None = None  # listen backlog of the API and every proxy (None: the system's somaxconn)

    def __post_init__(self) -> None:
        if self.backlog is not None and not 1 <= self.backlog <= MAX_BACKLOG:
            raise ExperimentInvalid(f"backlog {self.backlog} is out of range (expected 1..{MAX_BACKLOG})")


def load_populate_file(path: Path) -> Any:
    """Read a populate config file (a JSON array of proxies) or raise ExperimentInvalid.

    Read through squall.loader like every file squall reads: a FIFO, a device, a
    symlink loop, an oversized or non-UTF-8 file or deep nesting is refused, never waited on.
    """
    from squall.loader import load_json

    try:
        data = load_json(path, "a proxy config: a JSON array of {name, listen, upstream, enabled}")
    except FileInvalid as exc:
        where = f" at line {exc.line}" if exc.line else ""
        raise ExperimentInvalid(f'proxy config "{path}"{where}: {exc.message}') from None
    if not isinstance(data, list):
        raise ExperimentInvalid(
            f'proxy config "{path}" must be a JSON array of {{name, listen, upstream, enabled}}, '
            f"got {type(data).__name__}"
        )
    return data


def remote_bind_message(host: str) -> str:
    """What to tell a user who binds the admin API beyond loopback."""
    return (
        f'--host {host} is not a loopback address: anyone who can reach it can break every proxied service '
        "(the admin API has no authentication). Keep 127.0.0.1, or confirm with --allow-remote"
    )


class _ApiRequestHandler(RequestHandler):  # type: ignore[type-arg]
    """aiohttp's connection handler, answering requests it cannot parse with the API's JSON errors."""

    __slots__ = ()

    def handle_error(
        self, request: BaseRequest, status: int = 500, exc: BaseException | None = None, message: str | None = None
    ) -> web.StreamResponse:
        if request.writer.output_size > 0:
            raise ConnectionError("response already sent, cannot send an error")  # as aiohttp's own
        if isinstance(exc, LineTooLong):
            limit = int(exc.args[1]) if str(exc.args[1]).isdigit() else None
            error = from_http_status(414 if limit == MAX_URL else 431, f"more than {limit} bytes", limit=limit)
        elif status >= 500:
            log.error("admin API: request from %s failed", request.remote, exc_info=exc)
            error = ApiError("internal error (see the proxy's log)", 500)
        else:
            log.debug("admin API: unparsable request from %s: %s", request.remote, message)
            error = from_http_status(status, message or "unparsable request")
        response = error_response(error)
        response.force_close()
        return response


class _ApiServer(web.Server):
    def __call__(self) -> RequestHandler:  # type: ignore[type-arg]
        handler = super().__call__()
        handler.__class__ = _ApiRequestHandler  # same slots: only handle_error differs
        return handler


class _ApiRunner(web.AppRunner):
    async def _make_server(self) -> web.Server:
        server = await super()._make_server()
        server.__class__ = _ApiServer  # aiohttp builds web.Server itself; ours only makes its handlers
        return server


async def _start_api(app: web.Application, host: str, port: int, backlog: int) -> tuple[web.AppRunner, int]:
    runner = _ApiRunner(
        app, access_log=None, handle_signals=False, max_line_size=MAX_URL, max_field_size=MAX_HEADER
    )
    await runner.setup()
    try:
        site = web.TCPSite(runner, host, port, reuse_address=True, backlog=backlog)
        await site.start()
    except BaseException:
        await runner.cleanup()
        raise
    sockets = getattr(site._server, "sockets", None) or []  # aiohttp keeps the asyncio.Server here
    return runner, int(sockets[0].getsockname()[1]) if sockets else port


class ProxyServer:
    """The admin API and every proxy, on one event loop."""

    def __init__(self, config: ServerConfig) -> None:
        self.config = config
        self.collection = ProxyCollection(config.backlog)
        self.port: int | None = None
        self._runner: web.AppRunner | None = None
        self._stop: asyncio.Event | None = None

    @property
    def url(self) -> str:
        """The admin API's base URL."""
        host = self.config.host
        shown = f"[{host}]" if ":" in host else host
        return f"http://{shown}:{self.port}"

    async def startup(self) -> None:
        """Bind the admin API, then create the configured proxies."""
        initial = load_populate_file(self.config.config) if self.config.config else None
        if not is_loopback(self.config.host):
            if not self.config.allow_remote:
                raise RemoteBindRefused(remote_bind_message(self.config.host))
            # `squall proxy serve` prints the loud warning; in-process users confirmed with allow_remote=True
            log.info("admin API bound to %s, beyond loopback: anyone who can reach it controls every proxy",
                     self.config.host)
        try:
            self._runner, self.port = await _start_api(
                make_app(self.collection, self.config.host), self.config.host, self.config.port,
                self.config.backlog or system_backlog(),
            )
        except OSError as exc:
            if exc.errno == errno.EADDRINUSE:
                raise SquallError(
                    f"port {self.config.port} on {self.config.host} is already in use "
                    "(is toxiproxy-server or another squall proxy running? choose another with --port)"
                ) from None
            raise SquallError(f"cannot listen on {self.config.host}:{self.config.port}: {exc}") from None
        if initial is not None:
            try:
                _, failure = await self.collection.populate(initial)
            except ApiError as exc:
                failure = exc
            if failure is not None:
                await self.shutdown()
                raise ExperimentInvalid(f'proxy config "{self.config.config}": {failure.message}')

    async def shutdown(self) -> None:
        """Stop every proxy (closing its connections), then the admin API; bounded."""
        # 1. proxies first: no new faulty traffic while the API goes away
        try:
            await asyncio.wait_for(self.collection.close(), SHUTDOWN_TIMEOUT_S)
        except TimeoutError:
            log.warning("proxies did not stop within %.0f s", SHUTDOWN_TIMEOUT_S)
        # 2. the admin API (in-flight requests get a bounded grace period)
        if self._runner is not None:
            runner, self._runner = self._runner, None
            try:
                await asyncio.wait_for(runner.cleanup(), SHUTDOWN_TIMEOUT_S)
            except TimeoutError:
                log.warning("admin API did not stop within %.0f s", SHUTDOWN_TIMEOUT_S)

    def request_stop(self) -> None:
        """Ask ``serve`` to shut down (safe from a signal handler on the loop)."""
        if self._stop is not None:
            self._stop.set()

    async def serve(self, on_ready: Callable[["ProxyServer"], None] | None = None) -> None:
        """startup -> wait for SIGINT/SIGTERM or ``request_stop`` -> shutdown."""
        self._stop = asyncio.Event()
        await self.startup()
        restore = self._install_signal_handlers()
        try:
            if on_ready is not None:
                on_ready(self)
            await self._stop.wait()
        finally:
            restore()
            await self.shutdown()

    def _install_signal_handlers(self) -> Callable[[], None]:
        # Only the main thread may own signals; in a thread (tests, the demo) the caller stops us.
        if threading.current_thread() is not threading.main_thread():
            return lambda: None
        loop = asyncio.get_running_loop()
        sigs = (signal.SIGINT, signal.SIGTERM)
        previous = {s: signal.getsignal(s) for s in sigs}
        for s in sigs:
            loop.add_signal_handler(s, self.request_stop)

        def restore() -> None:
            for s in sigs:
                loop.remove_signal_handler(s)
                signal.signal(s, previous[s])

        return restore


def run(config: ServerConfig, on_ready: Callable[[ProxyServer], None] | None = None) -> None:
    """Run the server in this thread until SIGINT/SIGTERM, on ``squall.loops``' event loop (uvloop by default)."""
    loops.run(ProxyServer(config).serve(on_ready))
