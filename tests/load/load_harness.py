"""The load tests' harness: the embedded proxy in front of a real dependency, on 127.0.0.1 ephemeral ports."""

import os
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from services import dependency

from squall.background import serve_app
from squall.proxy import run_in_thread
from squall.toxiproxy_client import ToxiproxyClient


@dataclass
class Proxied:
    """The embedded proxy (`toxiproxy`), its proxy `payments` (at `proxied`) in front of the dependency."""

    toxiproxy: str
    proxied: str
    dependency: str


@pytest.fixture
def proxied() -> Iterator[Proxied]:
    with serve_app(dependency.make_app) as dep, run_in_thread() as proxy:
        with ToxiproxyClient(proxy.url) as client:
            created = client.create_proxy("payments", "127.0.0.1:0", dep.removeprefix("http://"))
        yield Proxied(proxy.url, f"http://{created['listen']}", dep)


def alive(pid: int) -> bool:
    """True while a process with this PID exists (our children are reaped by LoadRun.stop)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True
