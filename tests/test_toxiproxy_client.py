"""The Toxiproxy client: its messages when the API is not there, and names in URLs (encoded, or refused before a request)."""

import socket

import pytest
from aiohttp import web

from squall.background import serve_app
from squall.config import redact_url
from squall.errors import ExperimentInvalid, ToxiproxyAPIError, ToxiproxyUnreachable
from squall.proxy import run_in_thread
from squall.toxiproxy_client import ToxiproxyClient, check_new_name, segment


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


# -- names in URLs ---------------------------------------------------------------------------
ODD = "p?x#y %2F ü"


def test_an_odd_proxy_name_reaches_the_right_proxy_through_every_call() -> None:
    with run_in_thread(host="127.0.0.1", port=0) as proxy, ToxiproxyClient(proxy.url) as client:
        client.create_proxy("p", "127.0.0.1:0", "127.0.0.1:9")  # the name an unencoded "p?x..." would reach
        client.create_proxy(ODD, "127.0.0.1:0", "127.0.0.1:9")
        assert client.get_proxy(ODD)["name"] == ODD
        client.add_toxic(ODD, "latency", {"latency": 5}, name="t?#/%2F")
        assert client.update_toxic(ODD, "t?#/%2F", {"latency": 9})["attributes"]["latency"] == 9
        assert [t["name"] for t in client.toxics(ODD)] == ["t?#/%2F"] and client.toxics("p") == []
        assert client.stats(ODD)["proxy"] == ODD
        client.update_proxy(ODD, enabled=False)
        assert client.enable_proxy(ODD) is True and client.get_proxy(ODD)["enabled"] is True
        assert client.remove_toxic(ODD, "t?#/%2F") is True
        assert client.remove_toxic(ODD, "t?#/%2F") is False  # the server says: toxic not found
        assert client.delete_proxy(ODD) is True and client.delete_proxy(ODD) is False
        assert set(client.proxies()) == {"p"}


@pytest.mark.parametrize("name", [".", "..", ""])
def test_a_name_no_url_can_carry_is_refused_before_any_request(name: str) -> None:
    with ToxiproxyClient(f"http://127.0.0.1:{_closed_port()}", timeout_s=2) as client:
        with pytest.raises(ExperimentInvalid, match="name"):  # not ToxiproxyUnreachable: nothing was sent
            client.remove_toxic("be", name)
        with pytest.raises(ExperimentInvalid, match="name"):
            client.delete_proxy(name)


def test_new_names_toxiproxy_server_could_not_remove_are_refused() -> None:
    assert check_new_name("latency_downstream") == "latency_downstream"
    with pytest.raises(ExperimentInvalid, match='contains "/": toxiproxy-server decodes it'):
        check_new_name("a/b")
    with pytest.raises(ExperimentInvalid, match="lone surrogate"):
        check_new_name("a\udcff")
    with pytest.raises(ExperimentInvalid, match="too long"):
        check_new_name("ü" * 1000)
    assert segment("q?x#y/%") == "q%3Fx%23y%2F%25"


def test_a_404_of_an_unknown_route_is_an_error_not_already_gone() -> None:
    async def handler(request: web.Request) -> web.Response:
        return web.Response(status=404, text="404 page not found")

    def app() -> web.Application:
        application = web.Application()
        application.router.add_route("*", "/{tail:.*}", handler)
        return application

    with serve_app(app) as url, ToxiproxyClient(url) as client:
        with pytest.raises(ToxiproxyAPIError, match="404 page not found") as err:
            client.remove_toxic("be", "t")
        assert err.value.status == 404
        with pytest.raises(ToxiproxyAPIError):
            client.delete_proxy("be")
