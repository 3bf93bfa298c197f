"""Stats carry each request's W3C trace id and baggage, and a record of every connection and how it ended."""

import socket
import time

import httpx
import pytest
from proxy_helpers import Api, connect, recv_exactly


@pytest.fixture
def admin(loop_admin: Api) -> Api:
    """Every test here runs on uvloop and on plain asyncio (squall.loops)."""
    return loop_admin

TRACE = "4bf92f3577b34da6a3ce929d0e0e4736"
TRACEPARENT = f"00-{TRACE}-00f067aa0ba902b7-01"


def _stats(admin: Api, **params: object) -> dict:
    r = admin.client.get("/proxies/svc/stats", params=params)
    assert r.status_code == 200, r.text
    return dict(r.json())


def _wait_for(admin: Api, done: object, what: str, budget_s: float = 10.0) -> dict:
    """Poll the stats (bounded) until ``done(stats)``; fail naming ``what`` otherwise."""
    end = time.monotonic() + budget_s
    while True:
        stats = _stats(admin)
        if done(stats):  # type: ignore[operator]
            return stats
        if time.monotonic() > end:
            pytest.fail(f"{what} within {budget_s} s; last stats: {stats}")
        time.sleep(0.05)


def _raw_get(listen: str, headers: bytes) -> bytes:
    with connect(listen) as s:
        s.sendall(b"GET /ok HTTP/1.1\r\nHost: svc\r\n" + headers + b"Connection: close\r\n\r\n")
        return recv_exactly(s, 1 << 16, deadline_s=5)


def test_trace_id_and_baggage_of_each_request_are_in_the_stats(admin: Api, http_upstream: str) -> None:
    listen = admin.create("svc", http_upstream)["listen"]
    with httpx.Client(base_url=f"http://{listen}", timeout=10, trust_env=False) as client:
        r = client.get("/ok", headers={"traceparent": TRACEPARENT, "X-Chaos-Run-Id": "run-7",
                                        "baggage": "squall.run_id=run-7,group=canary%20a"})
        assert r.text == "ok"
        assert client.get("/ok").text == "ok"
    first, second = _stats(admin)["http"]["events"]
    assert (first["trace_id"], first["run_id"]) == (TRACE, "run-7")
    assert first["baggage"] == {"squall.run_id": "run-7", "group": "canary a"}
    assert (second["trace_id"], second["baggage"], second["run_id"]) == (None, {}, None)


@pytest.mark.parametrize("value", [
    f"01-{TRACE}-00f067aa0ba902b7-01",  # not version 00
    f"ff-{TRACE}-00f067aa0ba902b7-01",
    f"00-{'0' * 32}-00f067aa0ba902b7-01",  # all-zero trace id
    f"00-{TRACE}-{'0' * 16}-01",  # all-zero parent id
    f"00-{TRACE[:-1]}-00f067aa0ba902b7-01",  # 31 hex digits
    f"00-{TRACE}0-00f067aa0ba902b7-01",  # 33
    f"00-{TRACE.upper()}-00f067aa0ba902b7-01",  # upper case
    "garbage",
])
def test_an_invalid_traceparent_gives_a_null_trace_id(admin: Api, http_upstream: str, value: str) -> None:
    listen = admin.create("svc", http_upstream)["listen"]
    assert _raw_get(listen, f"traceparent: {value}\r\n".encode()).endswith(b"ok")
    (event,) = _stats(admin)["http"]["events"]
    assert event["trace_id"] is None and event["status"] == 200


def test_baggage_with_malformed_members_keeps_the_good_ones(admin: Api, http_upstream: str) -> None:
    listen = admin.create("svc", http_upstream)["listen"]
    headers = (b"baggage: a=1, no-equals-sign ,=novalue,b=hello%20world;prop=x,bad key=2,c=\"quoted\"\r\n"
               b"baggage: d=4\r\n")  # a second baggage header continues the list
    assert _raw_get(listen, headers).endswith(b"ok")
    (event,) = _stats(admin)["http"]["events"]
    assert event["baggage"] == {"a": "1", "b": "hello world", "d": "4"}


def test_every_connection_reset_before_its_request_was_read_is_recorded(admin: Api, http_upstream: str) -> None:
    listen = admin.create("svc", http_upstream)["listen"]
    admin.toxic("svc", type="reset_peer", attributes={"timeout": 0})
    attempts = 30
    for _ in range(attempts):
        try:
            with connect(listen) as s:
                s.sendall(b"GET /ok HTTP/1.1\r\nHost: svc\r\n\r\n")
                assert recv_exactly(s, 1, deadline_s=5) == b""  # nothing but the reset
        except ConnectionResetError:
            pass  # the RST came before or while sending: still an attempt the proxy must show
    stats = _wait_for(admin, lambda s: sum(c["end"] is not None for c in s["conn_events"]) >= attempts,
                      f"{attempts} connections recorded as ended")
    conns = stats["conn_events"]
    assert len(conns) == attempts and len({c["conn"] for c in conns}) == attempts
    assert {c["outcome"] for c in conns} == {"reset"}
    assert all(c["requests"] in (0, 1) and c["ts"] <= c["end"] for c in conns)
    assert sum(c["requests"] for c in conns) == stats["http"]["requests"]  # the heads it did see


def test_an_unreachable_upstream_is_recorded_as_refused(admin: Api) -> None:
    with socket.socket() as s:  # a port nothing listens on
        s.bind(("127.0.0.1", 0))
        dead = f"127.0.0.1:{s.getsockname()[1]}"
    listen = admin.create("svc", dead)["listen"]
    with connect(listen) as c:
        c.sendall(b"GET /ok HTTP/1.1\r\nHost: svc\r\n\r\n")
        assert recv_exactly(c, 1, deadline_s=5) == b""
    stats = _wait_for(admin, lambda s: s["conn_events"] and s["conn_events"][0]["end"], "the refused connection ended")
    ((conn),) = stats["conn_events"]
    assert conn["outcome"] == "refused" and stats["connections"]["refused"] == 1


def test_keep_alive_requests_are_counted_per_connection_open_then_closed(admin: Api, http_upstream: str) -> None:
    listen = admin.create("svc", http_upstream)["listen"]
    with httpx.Client(base_url=f"http://{listen}", timeout=10, trust_env=False) as client:
        for _ in range(3):
            assert client.get("/ok").text == "ok"
        (conn,) = _stats(admin)["conn_events"]
        assert (conn["requests"], conn["outcome"], conn["end"]) == (3, "open", None)
        cut = time.time()
        assert admin.client.delete("/proxies/svc/stats").status_code == 204
        kept = _stats(admin)["conn_events"]  # a clear keeps the records of open connections
        assert [c["conn"] for c in kept] == [conn["conn"]]
    stats = _wait_for(admin, lambda s: s["conn_events"][0]["end"] is not None, "the connection recorded as closed")
    (closed,) = stats["conn_events"]
    assert closed["outcome"] == "closed" and closed["end"] >= conn["ts"]
    assert _stats(admin, since=cut + 3600)["conn_events"] == []


def test_a_connection_closed_by_the_timeout_toxic_is_recorded_as_timeout(admin: Api, http_upstream: str) -> None:
    listen = admin.create("svc", http_upstream)["listen"]
    admin.toxic("svc", type="timeout", attributes={"timeout": 100})
    with connect(listen) as s:
        s.sendall(b"GET /ok HTTP/1.1\r\nHost: svc\r\n\r\n")
        assert recv_exactly(s, 1, deadline_s=5) == b""
    stats = _wait_for(admin, lambda s: s["conn_events"] and s["conn_events"][0]["end"], "the connection ended")
    (conn,) = stats["conn_events"]
    assert (conn["outcome"], conn["requests"]) == ("timeout", 1)
    assert stats["http"]["events"][0]["error"] == "timeout"
