"""Fixtures for the proxy tests: the embedded proxy, real upstreams on 127.0.0.1, socket helpers.

``api`` is parametrized over the embedded proxy and, when ``toxiproxy-server``
is on PATH, a real toxiproxy-server, so conformance cases run against both.
``any_admin`` runs the embedded proxy in a thread on plain asyncio and as
`squall proxy serve` on uvloop; ``loop_admin`` runs it in a thread on each loop.
"""

import os
import re
import shutil
import socket
import socketserver
import subprocess
import sys
import threading
import time
from collections.abc import Iterator

import httpx
import pytest
from aiohttp import web
from proxy_helpers import Api
from services.processes import stop

from squall import loops
from squall.background import serve_app
from squall.proxy import RunningProxy, run_in_thread


def _client(url: str) -> httpx.Client:
    return httpx.Client(base_url=url, timeout=10.0, trust_env=False, headers={"User-Agent": "squall-tests"})


@pytest.fixture
def proxy() -> Iterator[RunningProxy]:
    with run_in_thread() as running:
        yield running


def _need_loop(loop: str) -> None:
    if loop == "uvloop" and loops.implementation() != "uvloop":
        pytest.skip("uvloop is not installed here")


@pytest.fixture(params=["uvloop", "asyncio"])
def loop_admin(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> Iterator[Api]:
    """The embedded proxy in a thread on each event loop (``SQUALL_EVENT_LOOP``); each test starts empty."""
    _need_loop(request.param)
    monkeypatch.setenv(loops.ENV, request.param)
    with run_in_thread() as running, _client(running.url) as client:
        assert running.loop.loop is not None and loops.loop_implementation(running.loop.loop) == request.param
        yield Api(client, "embedded")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(params=["embedded", "toxiproxy-server"])
def api(request: pytest.FixtureRequest) -> Iterator[Api]:
    if request.param == "embedded":
        with run_in_thread() as running, _client(running.url) as client:
            yield Api(client, "embedded")
        return
    binary = shutil.which("toxiproxy-server")
    if binary is None:
        pytest.skip("toxiproxy-server is not on PATH")
    port = _free_port()
    proc = subprocess.Popen([binary, "-host", "127.0.0.1", "-port", str(port)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        with _client(f"http://127.0.0.1:{port}") as client:
            for _ in range(100):
                try:
                    client.get("/version")
                    break
                except httpx.TransportError:
                    time.sleep(0.05)
            yield Api(client, "toxiproxy-server")
    finally:
        stop(proc)


@pytest.fixture
def admin(proxy: RunningProxy) -> Iterator[Api]:
    """The embedded proxy's API only (for squall's extensions and toxic effects)."""
    with _client(proxy.url) as client:
        yield Api(client, "embedded")


@pytest.fixture(scope="module")
def serve_url() -> Iterator[str]:
    """`squall proxy serve --port 0` as a process on uvloop, shared by a module's tests."""
    _need_loop("uvloop")
    cmd = [sys.executable, "-c", "from squall.cli import main; main()", "proxy", "serve", "--port", "0"]
    env = {**os.environ, loops.ENV: "uvloop"}
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, env=env)
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        match = re.search(r"http://127\.0\.0\.1:\d+", line)
        assert match is not None, "squall proxy serve printed no admin URL"
        assert "event loop uvloop" in line, line
        yield match.group(0)
    finally:
        stop(proc)


@pytest.fixture(params=["in-thread-asyncio", "serve-uvloop"])
def any_admin(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> Iterator[Api]:
    """The embedded proxy in a thread on plain asyncio and as `squall proxy serve` on uvloop; each test starts empty."""
    if request.param == "in-thread-asyncio":
        monkeypatch.setenv(loops.ENV, "asyncio")
        with run_in_thread() as running, _client(running.url) as client:
            yield Api(client, "embedded")
        return
    with _client(request.getfixturevalue("serve_url")) as client:
        try:
            yield Api(client, "embedded")
        finally:
            for name in client.get("/proxies").json():
                client.delete(f"/proxies/{name}")


class _EchoHandler(socketserver.BaseRequestHandler):
    def handle(self) -> None:
        sock: socket.socket = self.request
        sock.settimeout(30)
        try:
            while data := sock.recv(65536):
                sock.sendall(data)
        except OSError:
            pass


class _Server(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True


@pytest.fixture
def echo_upstream() -> Iterator[str]:
    """A TCP echo server; yields "127.0.0.1:PORT"."""
    server = _Server(("127.0.0.1", 0), _EchoHandler)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield f"127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)


def _http_app() -> web.Application:
    async def ok(request: web.Request) -> web.Response:
        return web.Response(text="ok")

    async def echo(request: web.Request) -> web.Response:
        return web.Response(body=await request.read())

    async def status(request: web.Request) -> web.Response:
        return web.Response(status=int(request.match_info["code"]), text="status")

    app = web.Application()
    app.router.add_get("/ok", ok)
    app.router.add_post("/echo", echo)
    app.router.add_get("/status/{code}", status)
    return app


@pytest.fixture
def http_upstream() -> Iterator[str]:
    """An HTTP/1.1 keep-alive server (/ok, POST /echo, /status/N); yields "127.0.0.1:PORT"."""
    with serve_app(_http_app) as url:
        yield url.removeprefix("http://")
