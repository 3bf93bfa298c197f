"""The Toxiproxy client's messages: what a user reads when the API is not there."""

import socket

import pytest

from squall.config import redact_url
from squall.errors import ToxiproxyUnreachable
from squall.toxiproxy_client import ToxiproxyClient


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_unreachable_api_names_the_address_and_the_fix_without_credentials() -> None:
    port = _closed_port()
    with ToxiproxyClient(f"http://ops:hunter2-secret@127.0.0.1:{port}", timeout_s=2) as client:
        with pytest.raises(ToxiproxyUnreachable) as err:
            client.version()
    message = str(err.value)
    assert f"cannot reach the Toxiproxy API at http://[masked]@127.0.0.1:{port}" in message
    assert "squall proxy serve" in message and "toxiproxy_url" in message
    assert "hunter2" not in message


@pytest.mark.parametrize(("url", "shown"), [
    ("http://127.0.0.1:8474", "http://127.0.0.1:8474"),
    ("http://u:p@127.0.0.1:8474/x", "http://[masked]@127.0.0.1:8474/x"),
    ("https://token@toxiproxy.staging:8474", "https://[masked]@toxiproxy.staging:8474"),
    ("127.0.0.1:8474", "127.0.0.1:8474"),
])
def test_redact_url(url: str, shown: str) -> None:
    assert redact_url(url) == shown
