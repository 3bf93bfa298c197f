"""Fixtures for the demo tests: the whole demo system on ephemeral ports, and helpers to talk to it."""

import time
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest

from squall.demo.resilience import Mechanisms
from squall.demo.topology import DemoOptions, DemoSystem, running
from squall.toxiproxy_client import ToxiproxyClient


def _start(tmp_path: Path, mechanisms: Mechanisms) -> Iterator[DemoSystem]:
    options = DemoOptions(
        checkout_port=0, admin_port=0, mechanisms=mechanisms, state_dir=tmp_path / "demo-state", restart_delay_s=0.5
    )
    with running(options) as system:
        yield system


@pytest.fixture
def demo(tmp_path: Path) -> Iterator[DemoSystem]:
    """The demo system with every mechanism on."""
    yield from _start(tmp_path, Mechanisms())


@pytest.fixture
def fragile_demo(tmp_path: Path) -> Iterator[DemoSystem]:
    """The demo system with every mechanism off (`--fragile`)."""
    yield from _start(tmp_path, Mechanisms.fragile())


@pytest.fixture
def http() -> Iterator[httpx.Client]:
    """A loopback HTTP client with a bounded timeout."""
    with httpx.Client(trust_env=False, timeout=5.0) as client:
        yield client


@pytest.fixture
def toxiproxy(demo: DemoSystem) -> Iterator[ToxiproxyClient]:
    """A client for the demo's fault proxy."""
    with ToxiproxyClient(demo.toxiproxy_url) as client:
        yield client


@pytest.fixture
def wait_for() -> Callable[..., bool]:
    """The bounded polling helper below."""
    return poll_until


def poll_until(condition: Callable[[], bool], timeout_s: float = 10.0, interval_s: float = 0.1) -> bool:
    """Poll `condition` until it is true or `timeout_s` passes (bounded); return the last result."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(interval_s)
    return condition()
