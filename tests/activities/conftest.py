"""Fixtures for the activity tests: the embedded proxy and real services on 127.0.0.1 ephemeral ports."""

from collections.abc import Iterator

import pytest
from services import clients, dependency
from services.system import System

from squall.background import serve_app
from squall.proxy import run_in_thread
from squall.toxiproxy_client import ToxiproxyClient


@pytest.fixture
def dependency_url() -> Iterator[str]:
    with serve_app(dependency.make_app) as url:
        yield url


@pytest.fixture
def toxiproxy() -> Iterator[str]:
    with run_in_thread() as proxy:
        yield proxy.url


@pytest.fixture
def system(toxiproxy: str, dependency_url: str) -> Iterator[System]:
    upstream = dependency_url.removeprefix("http://")
    with ToxiproxyClient(toxiproxy) as client:
        created = client.create_proxy("payments", "127.0.0.1:0", upstream)
    yield System(toxiproxy, f"http://{created['listen']}", dependency_url, {"toxiproxy_url": toxiproxy})


@pytest.fixture
def resilient_url(system: System) -> Iterator[str]:
    with serve_app(lambda: clients.make_resilient_app(f"{system.proxied}/pay")) as url:
        yield f"{url}/checkout"


@pytest.fixture
def fragile_url(system: System) -> Iterator[str]:
    with serve_app(lambda: clients.make_fragile_app(f"{system.proxied}/pay")) as url:
        yield f"{url}/checkout"
