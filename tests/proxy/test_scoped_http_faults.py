"""HTTP faults aimed at chosen requests: http_error and http_latency with a scope, on real traffic through the proxy."""

import socket
import threading
import time
from collections.abc import Iterator

import httpx
import pytest
from aiohttp import web
from proxy_helpers import Api, connect

from squall import loops
from squall.background import serve_app
from squall.proxy import run_in_thread

EXPERIMENT = {"baggage": "squall.run_id=r1,squall.group=experiment"}
CONTROL = {"baggage": "squall.run_id=r1,squall.group=control"}


def _app(arrivals: list[str]) -> web.Application:
    async def any_path(request: web.Request) -> web.Response:
        arrivals.append(f"{request.method} {request.path_qs}")
        if request.path.startswith("/slow"):
            import asyncio

            await asyncio.sleep(0.3)
        body = await request.read()
        return web.Response(text=f"{request.method} {request.path_qs} {len(body)}")

    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", any_path)
    return app


@pytest.fixture
def upstream() -> Iterator[tuple[str, list[str]]]:
    """An HTTP/1.1 keep-alive server answering 200 "<METHOD> <target> <body length>" to anything; /slow... after 0.3 s.

    Yields ("127.0.0.1:PORT", the requests in the order they arrived).
    """
    arrivals: list[str] = []
    with serve_app(lambda: _app(arrivals)) as url:
        yield url.removeprefix("http://"), arrivals


@pytest.fixture(params=["uvloop", "asyncio"])
def loop_admin(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> Iterator[Api]:
    """The embedded proxy's API, the proxy on uvloop and on plain asyncio (``SQUALL_EVENT_LOOP``)."""
    monkeypatch.setenv(loops.ENV, request.param)
    with run_in_thread() as running, httpx.Client(base_url=running.url, timeout=10, trust_env=False) as client:
        loop = running.loop.loop
        assert ("uvloop" in type(loop).__module__) == (request.param == "uvloop")
        yield Api(client, "embedded")


def _client(admin: Api, upstream: str) -> httpx.Client:
    listen = admin.create("svc", upstream)["listen"]
    return httpx.Client(base_url=f"http://{listen}", timeout=10, trust_env=False)


def _stats(admin: Api) -> dict:
    r = admin.client.get("/proxies/svc/stats")
    assert r.status_code == 200, r.text
    return dict(r.json())


def _send(client: httpx.Client, method: str, path: str, headers: dict[str, str] | None = None) -> int:
    r = client.request(method, path, headers=headers, content=b"x" * 10 if method in ("POST", "PUT") else None)
    return r.status_code


# (scope, requests as (method, target, headers), which of them are in scope)
CASES = {
    "method": ({"method": "post"}, [("GET", "/a", None), ("POST", "/a", None), ("PUT", "/a", None)], [1]),
    "method list": ({"method": "POST, PUT"}, [("GET", "/a", None), ("POST", "/a", None), ("PUT", "/a", None)], [1, 2]),
    "path prefix": ({"path_prefix": "/payments"}, [("GET", "/payments/1", None), ("GET", "/pay", None),
                                                 ("GET", "/v1/payments", None)], [0]),
    "prefix with query": ({"path_prefix": "/search?q=a"}, [("GET", "/search?q=abc", None),
                                                         ("GET", "/search?q=b", None)], [0]),
    "path regex": ({"path_regex": r"^/orders/\d+$"}, [("GET", "/orders/12", None), ("GET", "/orders/x", None),
                                                     ("GET", "/orders/12/items", None)], [0]),
    "header present": ({"header_name": "x-canary"}, [("GET", "/a", {"X-Canary": "anything"}),
                                                    ("GET", "/a", None)], [0]),
    "header value": ({"header_name": "X-Canary", "header_value": "1"}, [("GET", "/a", {"X-Canary": "1"}),
                                                                       ("GET", "/a", {"X-Canary": "10"})], [0]),
    "header item": ({"header_name": "X-Flags", "header_value": "canary"}, [("GET", "/a", {"X-Flags": "a, canary,b"}),
                                                                          ("GET", "/a", {"X-Flags": "canaryx"})], [0]),
    "baggage member": ({"baggage": "squall.group=experiment"}, [("GET", "/a", EXPERIMENT), ("GET", "/a", CONTROL),
                                                                ("GET", "/a", None)], [0]),
    "baggage key": ({"baggage": "squall.group"}, [("GET", "/a", CONTROL), ("GET", "/a", {"baggage": "other=1"})], [0]),
    "combination": ({"method": "POST", "path_prefix": "/payments", "baggage": "squall.group=experiment"},
                    [("POST", "/payments", EXPERIMENT), ("GET", "/payments", EXPERIMENT),
                     ("POST", "/payments", CONTROL), ("POST", "/refunds", EXPERIMENT)], [0]),
}


@pytest.mark.parametrize("case", list(CASES))
def test_http_error_answers_only_requests_in_scope_on_one_keep_alive_connection(
    admin: Api, upstream: tuple[str, list[str]], case: str,
) -> None:
    scope, requests, in_scope = CASES[case]
    with _client(admin, upstream[0]) as client:
        admin.toxic("svc", name="storm", type="http_error", stream="upstream", attributes={"status": 503, **scope})
        # alternate: every request twice, in turn, all on the one keep-alive connection
        codes = [_send(client, m, p, h) for _ in range(2) for (m, p, h) in requests]
    want = [503 if i in in_scope else 200 for _ in range(2) for i in range(len(requests))]
    assert codes == want
    stats = _stats(admin)
    assert stats["connections"]["opened"] == 1
    [counts] = stats["http"]["toxics"]
    n_in = 2 * len(in_scope)
    assert (counts["name"], counts["type"], counts["matched"], counts["unmatched"], counts["faulted"]) == (
        "storm", "http_error", n_in, 2 * len(requests) - n_in, n_in)
    assert counts["scope"] == {k: v for k, v in scope.items() if v}
    events = stats["http"]["events"]
    assert [e["faulted_by"] == ["storm"] for e in events] == [c == 503 for c in want]
    assert [e["injected"] for e in events] == [c == 503 for c in want]
    assert [e["matched_by"] for e in events] == [["storm"] if c == 503 else [] for c in want]


def test_http_latency_delays_only_requests_in_scope(loop_admin: Api, upstream: tuple[str, list[str]]) -> None:
    admin = loop_admin  # on uvloop and on plain asyncio
    with _client(admin, upstream[0]) as client:
        admin.toxic("svc", name="slow-exp", type="http_latency", stream="upstream",
                    attributes={"latency": 400, "baggage": "squall.group=experiment"})
        took = []
        for headers in (EXPERIMENT, CONTROL, EXPERIMENT, None):
            start = time.monotonic()
            r = client.get("/a", headers=headers)
            took.append(time.monotonic() - start)
            assert r.text == "GET /a 0"  # forwarded, not answered
    assert took[0] >= 0.39 and took[2] >= 0.39  # a delay is never shorter than asked
    stats = _stats(admin)
    assert stats["connections"]["opened"] == 1
    events = stats["http"]["events"]
    assert [e["delayed_ms"] for e in events] == [400, None, 400, None]
    assert [e["faulted_by"] for e in events] == [["slow-exp"], [], ["slow-exp"], []]
    assert [e["status"] for e in events] == [200] * 4 and not any(e["injected"] for e in events)
    assert events[0]["duration_ms"] >= 399  # the client waited the delay for its response
    [counts] = stats["http"]["toxics"]
    assert (counts["type"], counts["matched"], counts["unmatched"], counts["faulted"]) == ("http_latency", 2, 2, 2)
    assert counts["scope_text"] == "baggage squall.group=experiment"


def _raw_responses(sock: socket.socket, n: int, deadline_s: float = 10.0) -> list[bytes]:
    """Read ``n`` HTTP responses (with Content-Length) from a socket; their bodies, in the order they came."""
    buf = b""
    out: list[bytes] = []
    end = time.monotonic() + deadline_s
    while len(out) < n and time.monotonic() < end:
        head_end = buf.find(b"\r\n\r\n")
        if head_end >= 0:
            head = buf[:head_end].decode("latin-1").lower()
            length = int(head.split("content-length:")[1].split("\r\n")[0])
            if len(buf) >= head_end + 4 + length:
                status = head.split(" ")[1]
                out.append(status.encode() + b" " + buf[head_end + 4: head_end + 4 + length])
                buf = buf[head_end + 4 + length:]
                continue
        sock.settimeout(max(0.01, end - time.monotonic()))
        try:
            chunk = sock.recv(65536)
        except TimeoutError:
            break
        if not chunk:
            break
        buf += chunk
    return out


def _get(path: str, extra: str = "") -> bytes:
    return f"GET {path} HTTP/1.1\r\nHost: x\r\n{extra}\r\n".encode()


def test_pipelined_requests_keep_their_order_around_an_injected_answer(
    loop_admin: Api, upstream: tuple[str, list[str]],
) -> None:
    admin = loop_admin  # on uvloop and on plain asyncio
    listen = admin.create("svc", upstream[0])["listen"]
    admin.toxic("svc", name="e", type="http_error", attributes={"status": 429, "path_prefix": "/limited"})
    with connect(listen) as s:
        # the first is slow upstream: the answer to the second must still come after it, the third's after that
        s.sendall(_get("/slow") + _get("/limited") + _get("/after"))
        got = _raw_responses(s, 3)
    assert got == [b"200 GET /slow 0", b"429 429 Too Many Requests (squall http_error)\n", b"200 GET /after 0"]
    assert upstream[1] == ["GET /slow", "GET /after"]


def test_pipelined_requests_wait_behind_a_delayed_one(loop_admin: Api, upstream: tuple[str, list[str]]) -> None:
    admin = loop_admin  # on uvloop and on plain asyncio
    listen = admin.create("svc", upstream[0])["listen"]
    admin.toxic("svc", name="d", type="http_latency", attributes={"latency": 300, "method": "POST"})
    body = b"hello"
    post = b"POST /first HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\n" + body
    with connect(listen) as s:
        s.sendall(post + _get("/second") + _get("/third"))
        got = _raw_responses(s, 3)
    assert got == [b"200 POST /first 5", b"200 GET /second 0", b"200 GET /third 0"]
    assert upstream[1] == ["POST /first", "GET /second", "GET /third"]  # none overtook the held one
    events = _stats(admin)["http"]["events"]
    assert [e["delayed_ms"] for e in events] == [300, None, None]


def test_removing_http_latency_releases_a_held_request(admin: Api, upstream: tuple[str, list[str]]) -> None:
    listen = admin.create("svc", upstream[0])["listen"]
    admin.toxic("svc", name="d", type="http_latency", attributes={"latency": 60_000})
    with connect(listen) as s:
        s.sendall(_get("/held"))
        deadline = time.monotonic() + 5
        while not _stats(admin)["http"]["events"] and time.monotonic() < deadline:
            time.sleep(0.02)
        assert upstream[1] == []  # held
        assert admin.client.delete("/proxies/svc/toxics/d").status_code == 204
        assert _raw_responses(s, 1) == [b"200 GET /held 0"]  # well before the minute


def test_counts_outlive_the_toxic_until_the_stats_are_cleared(admin: Api, upstream: tuple[str, list[str]]) -> None:
    with _client(admin, upstream[0]) as client:
        admin.toxic("svc", name="e", type="http_error", attributes={"status": 503, "method": "DELETE"})
        assert _stats(admin)["http"]["toxics"][0]["matched"] == 0  # listed from the start
        assert [_send(client, m, "/x") for m in ("DELETE", "GET", "DELETE")] == [503, 200, 503]
        assert admin.client.patch("/proxies/svc/toxics/e", json={"attributes": {"status": 500}}).status_code == 200
        assert _send(client, "DELETE", "/x") == 500  # same scope: the same counts go on
        assert admin.client.delete("/proxies/svc/toxics/e").status_code == 204
        assert _send(client, "DELETE", "/x") == 200
        [counts] = _stats(admin)["http"]["toxics"]
        assert (counts["matched"], counts["unmatched"], counts["faulted"]) == (3, 1, 3)
        admin.toxic("svc", name="e", type="http_error", attributes={"status": 503, "method": "GET"})
        assert _send(client, "GET", "/x") == 503
        before, after = _stats(admin)["http"]["toxics"]  # another scope under the same name: its own entry
        assert (before["scope"], before["faulted"]) == ({"method": "DELETE"}, 3)
        assert (after["scope"], after["faulted"]) == ({"method": "GET"}, 1)
        assert admin.client.delete("/proxies/svc/stats").status_code == 204
        assert _stats(admin)["http"]["toxics"] == []


def test_a_scope_that_is_never_hit_counts_matched_zero(admin: Api, upstream: tuple[str, list[str]]) -> None:
    with _client(admin, upstream[0]) as client:
        admin.toxic("svc", name="never", type="http_latency", attributes={"latency": 100, "rate": 0.0})
        admin.toxic("svc", name="nobody", type="http_error", attributes={"header_name": "X-Nobody"})
        assert [_send(client, "GET", "/a") for _ in range(3)] == [200] * 3
    never, nobody = _stats(admin)["http"]["toxics"]
    assert (never["matched"], never["faulted"]) == (3, 0)  # rate 0: in scope, never delayed
    assert (nobody["matched"], nobody["unmatched"], nobody["faulted"]) == (0, 3, 0)


@pytest.mark.parametrize("type_, attrs, needle", [
    ("http_error", {"path_regex": "(["}, 'attribute "path_regex" of http_error toxic'),
    ("http_latency", {"path_regex": "a{2,1}"}, "not a valid regular expression"),
    ("http_error", {"method": "FETCH"}, 'attribute "method"'),
    ("http_error", {"method": "GET,,POST"}, "expected one or a comma list of"),
    ("http_latency", {"header_value": "1"}, "needs header_name"),
    ("http_error", {"header_name": "X Canary"}, 'attribute "header_name"'),
    ("http_error", {"baggage": "=experiment"}, 'attribute "baggage"'),
    ("http_latency", {"method": 7}, 'attribute "method" of http_latency toxic must be a string'),
    ("http_latency", {"rate": 1.5}, "rate"),
    ("http_latency", {"latency": -1}, "latency"),
])
def test_bad_scope_attributes_get_a_400_naming_them(
    admin: Api, upstream: tuple[str, list[str]], type_: str, attrs: dict, needle: str,
) -> None:
    admin.create("svc", upstream[0])
    r = admin.client.post("/proxies/svc/toxics", json={"type": type_, "attributes": attrs})
    assert r.status_code == 400, r.text
    assert r.json()["error"].startswith("bad request body") and needle in r.json()["error"]
    assert admin.client.get("/proxies/svc/toxics").json() == []
    admin.toxic("svc", name="ok", type=type_, attributes={"method": "GET"})
    r = admin.client.patch("/proxies/svc/toxics/ok", json={"attributes": attrs})  # an update is checked the same way
    assert r.status_code == 400 and needle in r.json()["error"]
    assert admin.client.get("/proxies/svc/toxics/ok").json()["attributes"]["method"] == "GET"


def test_http_latency_attributes_in_toxiproxy_shape(admin: Api, upstream: tuple[str, list[str]]) -> None:
    admin.create("svc", upstream[0])
    made = admin.toxic("svc", type="http_latency", attributes={"latency": 50, "path_prefix": "/p"})
    assert made["name"] == "http_latency_downstream" and made["type"] == "http_latency"
    assert made["attributes"] == {"method": "", "path_prefix": "/p", "path_regex": "", "header_name": "",
                                  "header_value": "", "baggage": "", "latency": 50, "jitter": 0, "rate": 1.0}


def test_scoped_toxics_on_concurrent_connections(admin: Api, upstream: tuple[str, list[str]]) -> None:
    """Several clients at once: each request is judged by its own marker, whatever the connection."""
    listen = admin.create("svc", upstream[0])["listen"]
    admin.toxic("svc", name="e", type="http_error", attributes={"status": 503, "baggage": "squall.group=experiment"})
    results: dict[int, list[int]] = {}

    def worker(n: int) -> None:
        with httpx.Client(base_url=f"http://{listen}", timeout=10, trust_env=False) as c:
            results[n] = [c.get("/a", headers=EXPERIMENT if (n + i) % 2 else CONTROL).status_code for i in range(10)]

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    for n, codes in results.items():
        assert codes == [503 if (n + i) % 2 else 200 for i in range(10)]
    assert len(results) == 4
    [counts] = _stats(admin)["http"]["toxics"]
    assert (counts["matched"], counts["unmatched"], counts["faulted"]) == (20, 20, 20)
