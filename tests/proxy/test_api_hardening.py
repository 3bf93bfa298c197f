"""The admin API survives any request: odd numbers, bad upstreams, lifecycle races, oversized input, foreign hosts.

Cases that toxiproxy-server also answers run against it too (``api``); squall's
stricter checks and its Host/Origin rules run against the embedded proxy only.
"""

import asyncio
import json
import logging
import socket
import subprocess
import sys
import threading
import time

import httpx
import pytest
from proxy_helpers import Api, connect

from squall.proxy import run_in_thread
from squall.proxy.errors import RemoteBindRefused
from squall.proxy.hosts import HostPolicy

UP = "127.0.0.1:9"  # never dialled by the API cases


def _json_error(r: httpx.Response, status: int, *needles: str) -> dict:
    assert r.status_code == status, (r.status_code, r.text)
    body = r.json()  # every error is a JSON body
    assert body["status"] == status
    for needle in needles:
        assert needle in body["error"], body
    return dict(body)


def _healthy(api: Api, proxy: str = "p") -> None:
    assert api.client.get("/proxies").status_code == 200
    assert api.client.get(f"/proxies/{proxy}/toxics").status_code == 200


# -- item 5: numbers that are not numbers, or make no sense ----------------------------------------
@pytest.mark.parametrize("literal", ["NaN", "Infinity", "-Infinity", "1e999", "1e39", '"NaN"'])
def test_non_finite_toxicity_is_a_400_and_the_proxy_stays_listable(api: Api, literal: str) -> None:
    api.create("p", UP)
    r = api.client.post("/proxies/p/toxics", content=b'{"type": "latency", "toxicity": %s}' % literal.encode())
    _json_error(r, 400, "bad request body")
    if api.kind == "embedded":
        assert "toxicity" in r.json()["error"] or "not JSON" in r.json()["error"], r.text
    _healthy(api)
    assert api.client.get("/proxies/p/toxics").json() == []


@pytest.mark.parametrize("literal", ["NaN", "Infinity", "1e999", "1e18", "1.5", "9223372036854775808", "1" * 5000])
def test_non_integer_attributes_are_a_400_like_toxiproxy(api: Api, literal: str) -> None:
    api.create("p", UP)
    r = api.client.post("/proxies/p/toxics",
                        content=b'{"type": "latency", "attributes": {"latency": %s}}' % literal.encode())
    _json_error(r, 400, "bad request body")
    _healthy(api)


def test_toxicity_update_to_nan_is_refused_and_heal_still_works(admin: Api) -> None:
    admin.create("p", UP)
    admin.toxic("p", type="latency", toxicity=0.5)
    r = admin.client.patch("/proxies/p/toxics/latency_downstream", content=b'{"toxicity": NaN}')
    _json_error(r, 400, "NaN")
    assert admin.client.get("/proxies/p/toxics/latency_downstream").json()["toxicity"] == 0.5
    assert admin.client.post("/reset").status_code == 204  # `heal`
    _healthy(admin)


NONSENSE = [  # (type, attribute, value): each meaningless, each accepted by toxiproxy-server
    ("latency", "latency", -5), ("latency", "jitter", -1), ("bandwidth", "rate", -5),
    ("slow_close", "delay", -1), ("timeout", "timeout", -5), ("reset_peer", "timeout", -1),
    ("slicer", "average_size", -5), ("slicer", "size_variation", -3), ("slicer", "delay", -1),
    ("limit_data", "bytes", -5), ("http_error", "first_n", -1), ("http_error", "retry_after", -1),
    ("http_error", "status", 99), ("http_error", "status", 600), ("http_error", "rate", 1.5),
]


@pytest.mark.parametrize(("type_name", "attribute", "value"), NONSENSE)
def test_meaningless_attribute_values_are_refused_naming_attribute_and_value(
    admin: Api, type_name: str, attribute: str, value: float
) -> None:
    admin.create("p", UP)
    r = admin.client.post("/proxies/p/toxics", json={"type": type_name, "attributes": {attribute: value}})
    body = _json_error(r, 400, f'"{attribute}"', str(value), "expected")
    assert type_name in body["error"]
    admin.toxic("p", type=type_name, name="ok")  # the defaults are fine
    r = admin.client.patch("/proxies/p/toxics/ok", json={"attributes": {attribute: value}})
    _json_error(r, 400, f'"{attribute}"', str(value))
    _healthy(admin)


@pytest.mark.parametrize("toxicity", [-0.5, 1.5, 2, -1])
def test_toxicity_outside_0_to_1_is_refused_as_squall_is_stricter(admin: Api, toxicity: float) -> None:
    admin.create("p", UP)
    r = admin.client.post("/proxies/p/toxics", json={"type": "latency", "toxicity": toxicity})
    _json_error(r, 400, '"toxicity"', str(toxicity), "expected a probability from 0 to 1", "toxiproxy-server")


def test_huge_but_meaningful_values_do_not_disturb_traffic(admin: Api, echo_upstream: str) -> None:
    listen = admin.create("p", echo_upstream)["listen"]
    for type_name, attrs in [("bandwidth", {"rate": 2**63 - 1}),
                             ("slicer", {"average_size": 2**63 - 1, "size_variation": 2**63 - 1}),
                             ("limit_data", {"bytes": 2**63 - 1}), ("slow_close", {"delay": 2**63 - 1})]:
        admin.toxic("p", type=type_name, attributes=attrs)
    with connect(listen) as s:
        s.sendall(b"through")
        s.settimeout(10)
        got = b""
        while len(got) < 7:
            chunk = s.recv(7)
            if not chunk:
                break
            got += chunk
        assert got == b"through"
    _healthy(admin)


# -- item 6: an upstream port out of range ----------------------------------------------------------
@pytest.mark.parametrize("upstream", ["127.0.0.1:99999", "127.0.0.1:-1", "127.0.0.1:65536", "127.0.0.1:abc", "nope"])
def test_unreachable_upstream_closes_the_client_and_counts_refused(api: Api, upstream: str) -> None:
    listen = api.create("bad", upstream)["listen"]  # accepted at creation, as toxiproxy-server does
    with connect(listen) as s:
        s.settimeout(10)
        try:
            s.sendall(b"hello")
            closed = s.recv(10) == b""
        except ConnectionResetError:
            closed = True
        assert closed  # not left hanging
    if api.kind == "embedded":
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline:
            stats = api.client.get("/proxies/bad/stats").json()
            if stats["connections"]["refused"] == 1 and stats["connections"]["active"] == 0:
                break
            time.sleep(0.02)
        assert stats["connections"]["refused"] == 1 and stats["connections"]["active"] == 0, stats


# -- item 7: PATCH listen racing DELETE -------------------------------------------------------------
class _Banner:
    """An upstream that greets every connection with a banner (so a leaked listener is recognisable)."""

    def __init__(self) -> None:
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(64)
        self.sock.settimeout(0.1)
        self.addr = f"127.0.0.1:{self.sock.getsockname()[1]}"
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self) -> None:
        while not self.stop.is_set():
            try:
                conn, _ = self.sock.accept()
            except OSError:
                continue
            with conn:
                conn.sendall(b"BANNER")

    def close(self) -> None:
        self.stop.set()
        self.thread.join(5)
        self.sock.close()


def _forwards(listen: str) -> bool:
    """True if something at ``listen`` still forwards to the banner upstream."""
    try:
        s = connect(listen, timeout=2)
    except OSError:
        return False  # refused: nothing listens
    with s:
        s.settimeout(2)
        try:
            return s.recv(6) == b"BANNER"
        except OSError:
            return False


async def _races(url: str, upstream: str, rounds: int) -> set[str]:
    listened: set[str] = set()
    async with httpx.AsyncClient(base_url=url, timeout=20, trust_env=False,
                                 headers={"User-Agent": "squall-tests"}) as c:
        for i in range(rounds):
            name = f"race{i}"
            r = await c.post("/proxies", json={"name": name, "listen": "127.0.0.1:0", "upstream": upstream})
            assert r.status_code == 201, r.text
            listened.add(r.json()["listen"])
            patch, delete = await asyncio.gather(
                c.patch(f"/proxies/{name}", json={"listen": "127.0.0.1:0"}), c.delete(f"/proxies/{name}"))
            assert patch.status_code in (200, 404), patch.text
            assert delete.status_code == 204, delete.text
            if patch.status_code == 200:
                listened.add(patch.json()["listen"])
            assert name not in (await c.get("/proxies")).json()
    return listened


def test_patch_listen_racing_delete_leaves_no_listener() -> None:
    banner = _Banner()
    try:
        with run_in_thread() as proxy:
            listened = asyncio.run(_races(proxy.url, banner.addr, rounds=25))
            leaked = sorted(addr for addr in listened if _forwards(addr))
            assert leaked == [], f"listeners left after DELETE: {leaked}"
            assert proxy.loop.run(_listener_count(proxy)) == 0
    finally:
        banner.close()


async def _listener_count(proxy: object) -> int:
    return len(proxy.server.collection.proxies)  # type: ignore[attr-defined]


# -- item 8: oversized and deep input get JSON 4xx --------------------------------------------------
def test_body_over_4_mib_is_a_json_413(admin: Api) -> None:
    r = admin.client.post("/proxies", content=b'{"name": "' + b"x" * (5 << 20) + b'"}')
    _json_error(r, 413, "request body too large", "4194304")
    _healthy_list(admin)


def test_url_over_8_kib_is_a_json_414(admin: Api) -> None:
    r = admin.client.get("/proxies/" + "a" * 9000)
    _json_error(r, 414, "request line too long", "8190")
    _healthy_list(admin)


def test_headers_over_the_limit_are_a_json_431(admin: Api) -> None:
    r = admin.client.get("/proxies", headers={"X-Big": "b" * 17000})
    _json_error(r, 431, "request header too large", "16384")
    _healthy_list(admin)


@pytest.mark.parametrize("depth", [100, 1000, 100_000])
def test_deeply_nested_json_is_a_json_400(admin: Api, depth: int) -> None:
    admin.create("p", UP)
    for path, body in [("/proxies", b"[" * depth + b"]" * depth),
                       ("/proxies/p/toxics", b'{"type":"latency","attributes":{"latency":'
                        + b"[" * depth + b"]" * depth + b"}}")]:
        r = admin.client.post(path, content=body)
        _json_error(r, 400, "bad request body")
    _healthy(admin)


def test_unknown_routes_and_methods_answer_json(admin: Api) -> None:
    _json_error(admin.client.get("/nothing"), 404, "404 page not found", "/nothing")
    r = admin.client.put("/proxies")
    _json_error(r, 405, "method not allowed", "PUT")
    assert "GET" in r.headers["Allow"]
    _json_error(admin.client.get("/version", headers={"User-Agent": "Mozilla/5.0"}), 403, "User agent not allowed")


def _healthy_list(admin: Api) -> None:
    assert admin.client.get("/proxies").status_code == 200


# -- item 13: Host and Origin ----------------------------------------------------------------------
@pytest.mark.parametrize("host", ["127.0.0.1:8474", "localhost:8474", "localhost", "[::1]:8474", "127.0.0.2"])
def test_loopback_host_headers_are_answered(admin: Api, host: str) -> None:
    r = admin.client.get("/proxies", headers={"Host": host})
    assert r.status_code == 200, r.text


@pytest.mark.parametrize("host", ["evil.example:8474", "evil.example", "192.168.1.10:8474", "localhost.evil.example"])
def test_foreign_host_headers_get_a_json_403_naming_the_host(admin: Api, host: str) -> None:
    admin.create("p", UP)
    for method, path in [("GET", "/proxies"), ("DELETE", "/proxies/p"), ("POST", "/reset")]:
        r = admin.client.request(method, path, headers={"Host": host})
        _json_error(r, 403, "Host", host, "loopback")
    assert "p" in admin.client.get("/proxies").json()  # nothing was done


@pytest.mark.parametrize("origin", ["http://evil.example", "https://127.0.0.1.nip.io:8474", "null"])
def test_cross_origin_requests_are_refused(admin: Api, origin: str) -> None:
    admin.create("p", UP)
    r = admin.client.delete("/proxies/p", headers={"Origin": origin})
    _json_error(r, 403, "Origin", origin)
    assert "p" in admin.client.get("/proxies").json()


@pytest.mark.parametrize("origin", ["http://localhost:3000", "http://127.0.0.1:8474", "http://[::1]"])
def test_loopback_origins_are_answered(admin: Api, origin: str) -> None:
    assert admin.client.get("/proxies", headers={"Origin": origin}).status_code == 200


def test_unparsable_requests_get_a_json_400(proxy: object) -> None:
    port = proxy.port  # type: ignore[attr-defined]
    for raw in (b"GET /proxies HTTP/1.1\r\nHost: localhost\r\nBad Header\r\n\r\n", b"\x16\x03\x01 not http\r\n\r\n"):
        with socket.create_connection(("127.0.0.1", port), timeout=5) as s:
            s.sendall(raw)
            s.settimeout(5)
            data = b""
            while chunk := s.recv(65536):
                data += chunk
        head, _, body = data.partition(b"\r\n\r\n")
        assert head.split(b" ", 2)[1] == b"400", data
        assert json.loads(body)["error"].startswith("bad HTTP request: ")


def test_host_policy_of_an_api_bound_to_every_interface() -> None:
    policy = HostPolicy("0.0.0.0")
    assert policy.host_allowed("10.1.2.3:8474") and policy.host_allowed("[fe80::1]:8474")  # IPs cannot be rebound
    assert policy.host_allowed("localhost:8474") and policy.host_allowed(None)
    assert not policy.host_allowed("proxy.evil.example:8474")
    assert not policy.origin_allowed("http://10.1.2.3:8474") and policy.origin_allowed("http://localhost:1")
    bound = HostPolicy("proxy.internal")
    assert bound.host_allowed("proxy.internal:8474") and bound.origin_allowed("http://proxy.internal")
    assert not bound.host_allowed("10.1.2.3")


SERVE = [sys.executable, "-c", "from squall.cli import main; main()", "proxy", "serve", "--port", "0"]


def test_serve_refuses_a_non_loopback_host_without_allow_remote() -> None:
    result = subprocess.run([*SERVE, "--host", "0.0.0.0"], capture_output=True, text=True, timeout=30, check=False)
    assert result.returncode == 4, result  # a usage error: squall's "invalid input" (2 means "aborted" in squall)
    assert "--host 0.0.0.0 is not a loopback address" in result.stderr and "--allow-remote" in result.stderr
    assert "Traceback" not in result.stderr and "admin API on" not in result.stdout


def test_serve_warns_loudly_when_a_remote_bind_is_confirmed() -> None:
    # 192.0.2.1 (TEST-NET-1) is on no interface: the warning is printed, then the bind fails; nothing is exposed
    result = subprocess.run([*SERVE, "--host", "192.0.2.1", "--allow-remote"],
                            capture_output=True, text=True, timeout=30, check=False)
    assert "WARNING: the admin API listens on 192.0.2.1, beyond loopback, without authentication" in result.stderr
    assert result.returncode == 5 and "cannot listen on 192.0.2.1" in result.stderr


def test_run_in_thread_refuses_a_non_loopback_host() -> None:
    with pytest.raises(RemoteBindRefused, match="--allow-remote"), run_in_thread(host="0.0.0.0"):
        pass


def test_names_too_long_for_a_url_are_refused(admin: Api) -> None:
    long = "n" * 9000  # created, it could never be addressed again: GET/DELETE /proxies/nnn... is a 414
    _json_error(admin.client.post("/proxies", json={"name": long, "listen": "127.0.0.1:0", "upstream": UP}),
                400, "name of proxy is 9000 characters long", "expected at most 256")
    _json_error(admin.client.post("/populate", json=[{"name": long, "upstream": UP}]), 400, "9000 characters")
    admin.create("p", UP)
    _json_error(admin.client.post("/proxies/p/toxics", json={"type": "latency", "name": long}), 400, "9000")
    assert list(admin.client.get("/proxies").json()) == ["p"]
    admin.create("é" * 256, UP)  # the longest name, even percent-encoded, still fits
    assert admin.client.delete("/proxies/" + "%C3%A9" * 256).status_code == 204


def test_a_client_leaving_mid_body_leaves_no_traceback(proxy: object, caplog: pytest.LogCaptureFixture) -> None:
    port = proxy.port  # type: ignore[attr-defined]
    with caplog.at_level(logging.ERROR):
        for raw in (b"POST /proxies HTTP/1.1\r\nHost: localhost\r\nContent-Length: 100\r\n\r\n{\"name\":",
                    b"POST /proxies HTTP/1.1\r\nHost: localhost\r\nTransfer-Encoding: chunked\r\n\r\n5\r\n{\"nam"):
            with socket.create_connection(("127.0.0.1", port), timeout=5) as s:
                s.sendall(raw)
                s.shutdown(socket.SHUT_WR)
                s.settimeout(5)
                while s.recv(65536):
                    pass
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", trust_env=False) as client:
            assert client.get("/proxies").json() == {}  # answered after the broken requests were handled
    assert [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR] == []
