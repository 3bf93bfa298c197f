"""Fixtures for the activity tests: real services on 127.0.0.1 ephemeral ports."""

from collections.abc import Iterator

import pytest

from squall.background import serve_app
from services import dependency


@pytest.fixture
def dependency_url() -> Iterator[str]:
    with serve_app(dependency.make_app) as url:
        yield url
