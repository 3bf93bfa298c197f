"""Each toxic's effect on real sockets through the embedded proxy, in a thread and as `squall proxy serve`.

Timings are asserted with generous bounds.
"""

import os
import socket
import threading
import time

import pytest
from proxy_helpers import Api, connect, recv_exactly

from squall.proxy import RunningProxy, splice


def _rtt(sock: socket.socket, payload: bytes = b"ping") -> float:
    start = time.monotonic()
    sock.sendall(payload)
    assert recv_exactly(sock, len(payload)) == payload
    return time.monotonic() - start


def _proxy(api: Api, upstream: str) -> str:
    return str(api.create("p", upstream)["listen"])


def test_plain_forwarding_keeps_bytes_intact(any_admin: Api, echo_upstream: str) -> None:
    data = os.urandom(2_000_000)
    with connect(_proxy(any_admin, echo_upstream)) as s:
        threading.Thread(target=s.sendall, args=(data,), daemon=True).start()
        assert recv_exactly(s, len(data)) == data


def test_latency_adds_about_the_configured_delay(any_admin: Api, echo_upstream: str) -> None:
    listen = _proxy(any_admin, echo_upstream)
    with connect(listen) as s:
        base = min(_rtt(s) for _ in range(5))
        any_admin.toxic("p", type="latency", attributes={"latency": 100})  # on an open connection
        slow = [_rtt(s) for _ in range(3)]
        assert all(0.095 <= t - base < 1.0 for t in slow), slow
        any_admin.toxic("p", type="latency", stream="upstream", attributes={"latency": 100})
        assert 0.19 <= _rtt(s) < 1.5


def test_latency_toxicity_zero_has_no_effect(any_admin: Api, echo_upstream: str) -> None:
    listen = _proxy(any_admin, echo_upstream)
    any_admin.toxic("p", type="latency", toxicity=0, attributes={"latency": 1000})
    with connect(listen) as s:
        assert _rtt(s) < 0.5


@pytest.mark.parametrize("attrs", [{"average_size": 7, "size_variation": 5, "delay": 10},
                                   {"average_size": 1000, "size_variation": 0, "delay": 0}])
def test_slicer_keeps_bytes_intact(any_admin: Api, echo_upstream: str, attrs: dict) -> None:
    listen = _proxy(any_admin, echo_upstream)
    any_admin.toxic("p", type="slicer", attributes=attrs)
    data = os.urandom(4_000)
    with connect(listen) as s:
        s.sendall(data)
        assert recv_exactly(s, len(data)) == data


def test_bandwidth_limits_rate_and_keeps_bytes(any_admin: Api, echo_upstream: str) -> None:
    listen = _proxy(any_admin, echo_upstream)
    any_admin.toxic("p", type="bandwidth", attributes={"rate": 500})  # 500 KB/s
    data = os.urandom(200_000)
    with connect(listen) as s:
        start = time.monotonic()
        threading.Thread(target=s.sendall, args=(data,), daemon=True).start()
        assert recv_exactly(s, len(data), deadline_s=20) == data
        assert time.monotonic() - start >= 0.3  # 200 KB at 500 KB/s takes ~0.4 s


def test_timeout_zero_holds_until_removed_without_losing_bytes(any_admin: Api, echo_upstream: str) -> None:
    listen = _proxy(any_admin, echo_upstream)
    any_admin.toxic("p", type="timeout", attributes={"timeout": 0})
    with connect(listen) as s:
        s.sendall(b"held")
        s.settimeout(0.5)
        with pytest.raises(socket.timeout):
            s.recv(10)
        assert any_admin.client.delete("/proxies/p/toxics/timeout_downstream").status_code == 204
        assert recv_exactly(s, 4) == b"held"
        assert _rtt(s) < 1.0


def test_timeout_closes_after_its_delay(any_admin: Api, echo_upstream: str) -> None:
    listen = _proxy(any_admin, echo_upstream)
    any_admin.toxic("p", type="timeout", attributes={"timeout": 200})
    with connect(listen) as s:
        start = time.monotonic()
        s.sendall(b"never answered")
        assert recv_exactly(s, 100, deadline_s=5) == b""  # no data, then EOF
        assert 0.15 <= time.monotonic() - start < 5


def test_reset_peer_really_resets(any_admin: Api, echo_upstream: str) -> None:
    listen = _proxy(any_admin, echo_upstream)
    any_admin.toxic("p", type="reset_peer", attributes={"timeout": 100})
    with connect(listen) as s:
        s.sendall(b"x")
        assert recv_exactly(s, 1) == b"x"  # traffic flows until the timeout
        s.settimeout(5)
        with pytest.raises(ConnectionResetError):
            for _ in range(100):  # bounded: ~2 s at most
                time.sleep(0.02)
                s.sendall(b"x")
                if not s.recv(10):
                    pytest.fail("got a clean EOF, expected a TCP RST")


def test_limit_data_closes_after_n_bytes(any_admin: Api, echo_upstream: str) -> None:
    listen = _proxy(any_admin, echo_upstream)
    any_admin.toxic("p", type="limit_data", attributes={"bytes": 1000})
    with connect(listen) as s:
        s.sendall(b"a" * 5000)
        got = recv_exactly(s, 5000, deadline_s=5)
        assert got == b"a" * 1000


def test_slow_close_delays_the_close(any_admin: Api, echo_upstream: str) -> None:
    listen = _proxy(any_admin, echo_upstream)
    any_admin.toxic("p", type="slow_close", attributes={"delay": 300})
    with connect(listen) as s:
        s.sendall(b"bye")
        assert recv_exactly(s, 3) == b"bye"
        start = time.monotonic()
        s.shutdown(socket.SHUT_WR)  # echo server closes, the proxy holds that close back
        assert recv_exactly(s, 1, deadline_s=5) == b""
        assert 0.25 <= time.monotonic() - start < 5


def test_partition_refuses_and_heals(any_admin: Api, echo_upstream: str) -> None:
    listen = _proxy(any_admin, echo_upstream)
    with connect(listen) as open_conn:
        assert _rtt(open_conn) < 1
        any_admin.client.patch("/proxies/p", json={"enabled": False})
        assert recv_exactly(open_conn, 1, deadline_s=5) == b""  # open connections are closed
    with pytest.raises(ConnectionRefusedError):
        connect(listen, timeout=2)
    any_admin.client.patch("/proxies/p", json={"enabled": True})
    with connect(listen) as s:
        assert _rtt(s) < 1


def test_removing_a_toxic_mid_stream_loses_no_bytes(any_admin: Api, echo_upstream: str) -> None:
    listen = _proxy(any_admin, echo_upstream)
    any_admin.toxic("p", type="bandwidth", attributes={"rate": 200})
    any_admin.toxic("p", type="latency", stream="upstream", attributes={"latency": 20})
    data = os.urandom(400_000)
    with connect(listen) as s:
        threading.Thread(target=s.sendall, args=(data,), daemon=True).start()
        first = recv_exactly(s, 20_000, deadline_s=10)
        any_admin.client.delete("/proxies/p/toxics/bandwidth_downstream")
        any_admin.client.delete("/proxies/p/toxics/latency_upstream")
        rest = recv_exactly(s, len(data) - len(first), deadline_s=20)
        assert first + rest == data


def test_dead_upstream_accepts_then_closes(any_admin: Api) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        dead = f"127.0.0.1:{probe.getsockname()[1]}"
    listen = _proxy(any_admin, dead)
    with connect(listen) as s:
        assert recv_exactly(s, 1, deadline_s=5) == b""
    stats = any_admin.client.get("/proxies/p/stats").json()
    assert stats["connections"]["refused"] == 1


def test_bulk_stream_switches_between_zero_copy_and_toxics_losing_nothing(
    admin: Api, echo_upstream: str, proxy: RunningProxy
) -> None:
    listen = _proxy(admin, echo_upstream)
    data = os.urandom(8_000_000)
    conn = None
    with connect(listen) as s:
        threading.Thread(target=s.sendall, args=(data,), daemon=True).start()
        got = recv_exactly(s, 2_000_000, deadline_s=20)
        conns = list(proxy.server.collection.get("p").connections)
        if splice.AVAILABLE:
            assert any(c.up.splicer or c.down.splicer for c in conns), "bulk data should be spliced"
        conn = conns[0]
        admin.toxic("p", type="latency", attributes={"latency": 5})  # leaves zero-copy mid-stream
        admin.toxic("p", type="slicer", stream="upstream", attributes={"average_size": 5000, "delay": 0})
        got += recv_exactly(s, 2_000_000, deadline_s=20)
        assert conn.down.splicer is None
        admin.client.post("/reset")
        got += recv_exactly(s, len(data) - len(got), deadline_s=20)
    assert got == data


def test_half_close_still_gets_the_answer(any_admin: Api, echo_upstream: str) -> None:
    listen = _proxy(any_admin, echo_upstream)
    with connect(listen) as s:
        s.sendall(b"last words")
        s.shutdown(socket.SHUT_WR)  # like an HTTP/1.0 client: done writing, still reading
        assert recv_exactly(s, 100, deadline_s=5) == b"last words"


def test_held_data_is_bounded_by_backpressure(any_admin: Api, echo_upstream: str) -> None:
    listen = _proxy(any_admin, echo_upstream)
    any_admin.toxic("p", type="timeout", stream="upstream", attributes={"timeout": 0})
    block = b"b" * 65536
    sent = 0
    with connect(listen) as s:
        s.setblocking(False)
        deadline = time.monotonic() + 10
        while sent < 200_000_000 and time.monotonic() < deadline:  # bounded in bytes and time
            try:
                sent += s.send(block)
            except BlockingIOError:
                time.sleep(0.2)  # give the proxy a chance to read more, if it (wrongly) would
                try:
                    sent += s.send(block)
                except BlockingIOError:
                    break
        # the proxy stopped reading: what it holds is its 1 MiB queue plus kernel socket buffers
        assert sent < 64_000_000, sent
        assert time.monotonic() < deadline


def test_toxicity_is_drawn_per_connection(admin: Api, echo_upstream: str) -> None:
    listen = _proxy(admin, echo_upstream)
    admin.toxic("p", type="latency", toxicity=0.5, attributes={"latency": 150})
    slow = 0
    for _ in range(30):
        with connect(listen) as s:
            first = _rtt(s) > 0.1
            assert (_rtt(s) > 0.1) == first  # the same draw for the whole connection
            slow += first
    assert 3 <= slow <= 27, slow


def test_bulk_then_half_close_delivers_everything_then_eof(any_admin: Api, echo_upstream: str) -> None:
    listen = _proxy(any_admin, echo_upstream)
    data = os.urandom(3_000_000)  # large enough for the zero-copy path in both directions

    def send_then_shut(s: socket.socket) -> None:
        s.sendall(data)
        s.shutdown(socket.SHUT_WR)

    with connect(listen) as s:
        threading.Thread(target=send_then_shut, args=(s,), daemon=True).start()
        assert recv_exactly(s, len(data), deadline_s=20) == data
        s.settimeout(5)
        assert s.recv(1) == b""  # then EOF, passed on from the upstream's close


def test_partition_during_a_bulk_stream_cuts_it_and_heals(any_admin: Api, echo_upstream: str) -> None:
    listen = _proxy(any_admin, echo_upstream)
    data = os.urandom(8_000_000)
    with connect(listen) as s:
        threading.Thread(target=lambda: _send_quietly(s, data), daemon=True).start()
        assert len(recv_exactly(s, 1_000_000, deadline_s=20)) == 1_000_000
        any_admin.client.patch("/proxies/p", json={"enabled": False})
        cut = False
        try:
            for _ in range(1000):  # bounded: the stream must end long before 8 MB
                if not s.recv(65536):
                    cut = True
                    break
        except ConnectionResetError:
            cut = True  # a hang would raise socket.timeout and fail the test
        assert cut
    any_admin.client.patch("/proxies/p", json={"enabled": True})
    with connect(listen) as s:
        assert _rtt(s) < 1


def _send_quietly(s: socket.socket, data: bytes) -> None:
    try:
        s.sendall(data)
    except OSError:
        pass  # the partition cut the connection
