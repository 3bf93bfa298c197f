"""The stats endpoint and the http_error toxic (squall extensions), with real HTTP traffic."""

import time

import httpx
import pytest
from proxy_helpers import Api, connect, recv_exactly


@pytest.fixture
def admin(loop_admin: Api) -> Api:
    """Every test here runs on uvloop and on plain asyncio (squall.loops)."""
    return loop_admin


def _http(admin: Api, upstream: str) -> httpx.Client:
    listen = admin.create("svc", upstream)["listen"]
    return httpx.Client(base_url=f"http://{listen}", timeout=10, trust_env=False)


def _stats(admin: Api, **params: object) -> dict:
    r = admin.client.get("/proxies/svc/stats", params=params)
    assert r.status_code == 200, r.text
    return dict(r.json())


def test_stats_count_connections_bytes_and_http_requests(admin: Api, http_upstream: str) -> None:
    with _http(admin, http_upstream) as client:
        for _ in range(3):
            r = client.get("/ok", headers={"X-Chaos-Run-Id": "run-1"})
            assert r.text == "ok"
        assert client.get("/status/503").status_code == 503
        assert client.post("/echo", content=b"z" * 5000).content == b"z" * 5000
    stats = _stats(admin)
    assert stats["proxy"] == "svc"
    assert stats["connections"]["opened"] == 1  # one keep-alive connection for all five
    assert stats["connections"]["active"] + stats["connections"]["closed"] == 1
    assert stats["bytes"]["upstream"] > 5000 and stats["bytes"]["downstream"] > 5000
    http = stats["http"]
    assert (http["requests"], http["responses"], http["injected"]) == (5, 5, 0)
    assert http["by_status"] == {"200": 4, "503": 1}
    events = http["events"]
    assert [(e["method"], e["path"], e["status"]) for e in events] == [
        ("GET", "/ok", 200), ("GET", "/ok", 200), ("GET", "/ok", 200),
        ("GET", "/status/503", 503), ("POST", "/echo", 200)]
    assert [e["run_id"] for e in events[:3]] == ["run-1"] * 3 and events[3]["run_id"] is None
    assert all(e["duration_ms"] >= 0 and e["error"] is None and not e["injected"] for e in events)
    assert len({e["conn"] for e in events}) == 1
    assert events[0]["ts"] <= events[-1]["ts"]


def test_stats_since_filter_and_clear(admin: Api, http_upstream: str) -> None:
    with _http(admin, http_upstream) as client:
        client.get("/ok")
        time.sleep(0.05)
        cut = time.time()
        client.get("/status/404")
        stats = _stats(admin, since=cut)
        assert [e["status"] for e in stats["http"]["events"]] == [404]
        assert stats["http"]["requests"] == 2  # counters stay totals
        assert admin.client.delete("/proxies/svc/stats").status_code == 204
        cleared = _stats(admin)
        assert cleared["http"]["requests"] == 0 and cleared["http"]["events"] == []
        assert cleared["bytes"] == {"upstream": 0, "downstream": 0}
    r = admin.client.get("/proxies/svc/stats", params={"since": "yesterday"})
    assert r.status_code == 400 and '"yesterday"' in r.json()["error"]
    assert admin.client.get("/proxies/nope/stats").status_code == 404


def test_raw_tcp_is_not_counted_as_http(admin: Api, echo_upstream: str) -> None:
    listen = admin.create("svc", echo_upstream)["listen"]
    with connect(listen) as s:
        s.sendall(b"\x00\x01binary")
        assert recv_exactly(s, 8) == b"\x00\x01binary"
    time.sleep(0.1)
    stats = _stats(admin)
    assert stats["http"]["requests"] == 0
    assert stats["bytes"] == {"upstream": 8, "downstream": 8}


def test_request_cut_by_a_reset_is_recorded_with_an_error(admin: Api, http_upstream: str) -> None:
    listen = admin.create("svc", http_upstream)["listen"]
    admin.toxic("svc", type="timeout", attributes={"timeout": 100})
    with connect(listen) as s:
        s.sendall(b"GET /ok HTTP/1.1\r\nHost: x\r\n\r\n")
        assert recv_exactly(s, 1, deadline_s=5) == b""
    event = _stats(admin)["http"]["events"][0]
    assert (event["status"], event["error"]) == (None, "timeout")


def test_http_error_answers_every_request_on_a_keep_alive_connection(admin: Api, http_upstream: str) -> None:
    with _http(admin, http_upstream) as client:
        assert client.get("/ok").status_code == 200  # the connection is open before the toxic
        admin.toxic("svc", type="http_error", stream="upstream",
                    attributes={"status": 429, "retry_after": 7, "body": "slow down"})
        for _ in range(3):
            r = client.get("/ok")
            assert (r.status_code, r.text, r.headers["retry-after"]) == (429, "slow down", "7")
        admin.client.delete("/proxies/svc/toxics/http_error_upstream")
        assert client.get("/ok").status_code == 200
    stats = _stats(admin)
    assert stats["connections"]["opened"] == 1
    assert stats["http"]["injected"] == 3 and stats["http"]["by_status"] == {"200": 2, "429": 3}
    assert [e["injected"] for e in stats["http"]["events"]] == [False, True, True, True, False]


def test_http_error_first_n_then_recovers_and_forwards_bodies(admin: Api, http_upstream: str) -> None:
    with _http(admin, http_upstream) as client:
        admin.toxic("svc", type="http_error", stream="upstream", attributes={"status": 503, "first_n": 2})
        codes = [client.post("/echo", content=b"body-%d" % i).status_code for i in range(5)]
        assert codes == [503, 503, 200, 200, 200]
        r = client.post("/echo", content=iter([b"chunk", b"ed"]))  # a chunked request body
        assert (r.status_code, r.content) == (200, b"chunked")
        r = client.post("/echo", content=b"x" * 100_000)
        assert r.content == b"x" * 100_000
        assert "retry-after" not in client.post("/echo").headers


def test_http_error_rate_is_per_request(admin: Api, http_upstream: str) -> None:
    with _http(admin, http_upstream) as client:
        admin.toxic("svc", type="http_error", attributes={"status": 503, "rate": 0.5})
        codes = [client.get("/ok").status_code for _ in range(200)]
    failed = codes.count(503)
    assert 40 <= failed <= 160, failed  # per request, not all-or-nothing per connection
    assert set(codes) == {200, 503}


def test_http_error_leaves_other_traffic_alone(admin: Api, echo_upstream: str) -> None:
    listen = admin.create("svc", echo_upstream)["listen"]
    admin.toxic("svc", type="http_error", attributes={"status": 503})
    with connect(listen) as s:
        payload = b"\x16\x03\x01 not http"
        s.sendall(payload)
        assert recv_exactly(s, len(payload)) == payload


@pytest.mark.parametrize("attrs, needle", [
    ({"status": 700}, "700"), ({"rate": 2}, "rate"), ({"status": "503"}, '"503"'), ({"first_n": -1}, "first_n"),
])
def test_http_error_bad_attributes(admin: Api, echo_upstream: str, attrs: dict, needle: str) -> None:
    admin.create("svc", echo_upstream)
    r = admin.client.post("/proxies/svc/toxics", json={"type": "http_error", "attributes": attrs})
    assert r.status_code == 400 and r.json()["error"].startswith("bad request body")
    assert needle in r.json()["error"]
    assert admin.client.get("/proxies/svc/toxics").json() == []


def test_head_then_get_on_one_connection_are_both_recorded(admin: Api, http_upstream: str) -> None:
    listen = admin.create("svc", http_upstream)["listen"]
    with connect(listen) as s:
        s.sendall(b"HEAD /ok HTTP/1.1\r\nHost: x\r\n\r\n")
        head = b""
        while b"\r\n\r\n" not in head and len(head) < 4096:
            chunk = recv_exactly(s, 1)
            if not chunk:
                break
            head += chunk
        assert head.startswith(b"HTTP/1.1 200")
        s.sendall(b"GET /status/404 HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        rest = recv_exactly(s, 100_000, deadline_s=5)
        assert rest.startswith(b"HTTP/1.1 404")
    stats = _stats(admin)
    assert [(e["method"], e["status"]) for e in stats["http"]["events"]] == [("HEAD", 200), ("GET", 404)]


def test_bytes_that_only_look_like_http_pass_unchanged(admin: Api, echo_upstream: str) -> None:
    listen = admin.create("svc", echo_upstream)["listen"]
    admin.toxic("svc", type="http_error", attributes={"status": 503})
    payload = b"GET \x00\x01 not really http\r\n\x7f\x7f\r\n\r\n"
    with connect(listen) as s:
        s.sendall(payload)
        assert recv_exactly(s, len(payload)) == payload
        s.sendall(b"more")
        assert recv_exactly(s, 4) == b"more"
