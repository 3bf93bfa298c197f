"""Fixtures for the Prometheus tests: a real `prometheus` and `prometheus-pushgateway` on free loopback ports.

Each is started from its Debian binary with a generated configuration, skipped only
where the binary is absent, and stopped by its PID.
"""

import shutil
import socket
import subprocess
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from aiohttp import web
from prom_helpers import prometheus_binary
from services.processes import stop

from squall.background import serve_app
from squall.proxy import run_in_thread
from squall.telemetry import prometheus_server

PUSHGATEWAY = "prometheus-pushgateway"


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """`squall demo --prometheus` end to end runs only when asked for: ``-m demo_prometheus``."""
    if "demo_prometheus" in (config.option.markexpr or ""):
        return
    skip = pytest.mark.skip(reason="the whole demo game day with Prometheus runs with -m demo_prometheus")
    for item in items:
        if item.get_closest_marker("demo_prometheus") is not None:
            item.add_marker(skip)


@pytest.fixture
def start_prometheus(tmp_path: Path) -> Iterator[Callable[[dict[str, list[str]]], prometheus_server.PrometheusServer]]:
    """Start a real Prometheus scraping the given jobs ({job: ["127.0.0.1:PORT"]}) every second."""
    binary = prometheus_binary()
    stack: list[Any] = []

    def start(jobs: dict[str, list[str]]) -> prometheus_server.PrometheusServer:
        cm = prometheus_server.running(jobs, binary=binary, workdir=tmp_path)
        server = cm.__enter__()
        stack.append(cm)
        return server

    try:
        yield start
    finally:
        for cm in reversed(stack):
            cm.__exit__(None, None, None)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def pushgateway() -> Iterator[str]:
    """A real Pushgateway on a free loopback port; yields its URL.

    Persistence off: Debian's build otherwise keeps every push in /var/lib/prometheus/pushgateway.data.
    """
    binary = shutil.which(PUSHGATEWAY)
    if binary is None:
        pytest.skip(f"the {PUSHGATEWAY} binary is not on PATH (apt-get install prometheus-pushgateway)")
    port = _free_port()
    url = f"http://127.0.0.1:{port}"
    proc = subprocess.Popen([binary, f"--web.listen-address=127.0.0.1:{port}", "--persistence.file="],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, stdin=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 20.0
        with httpx.Client(trust_env=False, timeout=2.0) as client:
            while True:
                assert proc.poll() is None, f"{PUSHGATEWAY} exited with {proc.returncode}"
                try:
                    if client.get(url + "/-/ready").status_code == 200:
                        break
                except httpx.HTTPError:
                    pass
                assert time.monotonic() < deadline, f"{PUSHGATEWAY} was not ready within 20 s"
                time.sleep(0.1)
        yield url
    finally:
        stop(proc)


def _http_app() -> web.Application:
    async def ok(request: web.Request) -> web.Response:
        return web.Response(text="ok")

    async def status(request: web.Request) -> web.Response:
        return web.Response(status=int(request.match_info["code"]), text="status")

    app = web.Application()
    app.router.add_get("/ok", ok)
    app.router.add_get("/status/{code}", status)
    return app


@pytest.fixture
def http_upstream() -> Iterator[str]:
    """An HTTP/1.1 server (/ok, /status/N); yields "127.0.0.1:PORT"."""
    with serve_app(_http_app) as url:
        yield url.removeprefix("http://")


@pytest.fixture
def fallback_service() -> Iterator[str]:
    """A real HTTP service on 127.0.0.1 whose every checkout answer carries a fallback marker (X-Fallback: cache)."""

    async def handler(request: web.Request) -> web.Response:
        return web.Response(text="cached", headers={"X-Fallback": "cache"})

    def app() -> web.Application:
        a = web.Application()
        a.router.add_get("/checkout", handler)
        return a

    with serve_app(app) as base:
        yield f"{base}/checkout"


@pytest.fixture
def toxiproxy_url() -> Iterator[str]:
    """The embedded proxy's API (the game day's preflight asks a verifier's Toxiproxy API)."""
    with run_in_thread() as proxy:
        yield proxy.url
