"""The proxy's shortest route and its listen backlog, on uvloop and on plain asyncio.

A raw TCP connection with no toxic takes the shortest route (the other
transport's ``write`` straight from ``data_received``); these tests check that
it still counts every byte, still stops reading when the upstream stops, and
leaves it the moment a toxic is added. The backlog tests open 500 connections
at once: a SYN dropped by a full accept queue is retried after >= 1 s, so a
connect that takes a second is the signature of a too-small backlog.
"""

import asyncio
import shutil
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from proxy_helpers import Api, connect, recv_exactly

from squall import loops
from squall.background import BackgroundLoop
from squall.errors import ExperimentInvalid
from squall.proxy import run_in_thread
from squall.proxy.proxy import FALLBACK_BACKLOG, MAX_BACKLOG, system_backlog

BURST = 500
STALL_S = 1.0  # Linux retries a dropped SYN after 1 s


def _ping(sock: socket.socket, payload: bytes) -> float:
    start = time.monotonic()
    sock.sendall(payload)
    assert recv_exactly(sock, len(payload)) == payload
    return time.monotonic() - start


def test_a_toxic_added_to_an_idle_fast_connection_delays_its_next_byte(loop_admin: Api, echo_upstream: str) -> None:
    listen = str(loop_admin.create("p", echo_upstream)["listen"])
    with connect(listen) as s:
        for i in range(20):  # raw TCP, no toxic: the shortest route
            _ping(s, b"warm %d" % i)
        for cycle in range(6):
            loop_admin.toxic("p", name="slow", type="latency", stream="upstream", attributes={"latency": 80})
            took = _ping(s, b"slow %d" % cycle)  # the first byte after the API answered
            assert took >= 0.075, f"cycle {cycle}: {took * 1000:.1f} ms, the latency toxic was not applied"
            assert loop_admin.client.delete("/proxies/p/toxics/slow").status_code == 204
            for i in range(3):  # back on the shortest route, bytes intact and in order
                _ping(s, b"fast %d %d" % (cycle, i))


def test_the_shortest_route_counts_every_byte(loop_admin: Api, echo_upstream: str) -> None:
    listen = str(loop_admin.create("p", echo_upstream)["listen"])
    payload = b"x" * 100
    with connect(listen) as s:
        for _ in range(200):
            _ping(s, payload)
    deadline = time.monotonic() + 10  # the close is seen by the proxy a moment later (bounded wait)
    while True:
        stats = loop_admin.client.get("/proxies/p/stats").json()
        if stats["connections"]["closed"] == 1 or time.monotonic() > deadline:
            break
        time.sleep(0.05)
    assert stats["bytes"] == {"upstream": 20_000, "downstream": 20_000}
    assert stats["http"]["requests"] == 0
    assert [c["outcome"] for c in stats["conn_events"]] == ["closed"]


@pytest.fixture
def deaf_upstream() -> Iterator[str]:
    """An upstream that accepts connections and never reads from them."""
    server = socket.create_server(("127.0.0.1", 0))
    held: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        server.settimeout(0.1)
        while not stop.is_set():
            try:
                held.append(server.accept()[0])
            except TimeoutError:
                continue
            except OSError:
                return

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    try:
        yield f"127.0.0.1:{server.getsockname()[1]}"
    finally:
        stop.set()
        thread.join(5)
        for s in held:
            s.close()
        server.close()


def test_without_a_toxic_reading_stops_when_the_upstream_does(loop_admin: Api, deaf_upstream: str) -> None:
    listen = str(loop_admin.create("p", deaf_upstream)["listen"])
    block = b"b" * 16384  # small writes: the shortest route, then bulk reads may move on to splicing
    sent = 0
    with connect(listen) as s:
        s.setblocking(False)
        deadline = time.monotonic() + 10
        stalled = 0
        while sent < 200_000_000 and time.monotonic() < deadline and stalled < 5:  # bounded in bytes and time
            try:
                sent += s.send(block)
                stalled = 0
            except BlockingIOError:
                stalled += 1
                time.sleep(0.1)  # give the proxy a chance to read more, if it (wrongly) would
    # the proxy stopped reading: what it holds is its 1 MiB write buffer (or pipe) plus kernel socket buffers
    assert stalled >= 5, f"{sent} bytes were taken in 10 s by a proxy whose upstream reads nothing"
    assert sent < 64_000_000, sent


# -- the listen backlog -----------------------------------------------------------
@pytest.mark.parametrize("text, expected", [
    ("4096\n", 4096),
    ("128\n", 128),
    ("1000000\n", MAX_BACKLOG),
    ("0\n", FALLBACK_BACKLOG),
    ("not a number\n", FALLBACK_BACKLOG),
    (None, FALLBACK_BACKLOG),
])
def test_the_default_backlog_follows_somaxconn(tmp_path: Path, text: str | None, expected: int) -> None:
    path = tmp_path / "somaxconn"
    if text is not None:
        path.write_text(text)
    assert system_backlog(str(path)) == expected


def _somaxconn() -> int:
    try:
        return int(Path("/proc/sys/net/core/somaxconn").read_text())
    except (OSError, ValueError):
        pytest.skip("no /proc/sys/net/core/somaxconn here")


def _kernel_backlog(port: int) -> int:
    """The backlog the kernel holds for the socket listening on 127.0.0.1:port (``ss``'s Send-Q)."""
    ss = shutil.which("ss")
    if ss is None:
        pytest.skip("ss (iproute2) is not installed: cannot read a listening socket's backlog")
    out = subprocess.run([ss, "-Hltn", f"sport = :{port}"], capture_output=True, text=True, timeout=10).stdout
    lines = [line.split() for line in out.splitlines() if line.strip()]
    assert len(lines) == 1, out
    return int(lines[0][2])


@pytest.mark.parametrize("backlog", [None, 321])
def test_listeners_use_the_backlog_asked_for(backlog: int | None) -> None:
    expected = min(backlog or system_backlog(), _somaxconn())  # the kernel caps it at somaxconn
    with run_in_thread(backlog=backlog) as proxy:
        with httpx.Client(base_url=proxy.url, trust_env=False, timeout=10) as client:
            listen = client.post("/proxies", json={"name": "p", "listen": "127.0.0.1:0",
                                                   "upstream": "127.0.0.1:9"}).json()["listen"]
            port = int(listen.rpartition(":")[2])
            assert _kernel_backlog(proxy.port) == expected  # the admin API
            assert _kernel_backlog(port) == expected  # a proxy: not asyncio's 100
            client.post("/proxies/p", json={"enabled": False})
            client.post("/proxies/p", json={"enabled": True})
            assert _kernel_backlog(port) == expected  # re-enabled (listening again) with the same backlog


class _Echo(asyncio.Protocol):
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport: asyncio.Transport = transport  # type: ignore[assignment]

    def data_received(self, data: bytes) -> None:
        self.transport.write(data)


@pytest.fixture
def async_echo() -> Iterator[str]:
    """An asyncio echo server with a large backlog (500 connections would need 500 threads otherwise)."""
    with BackgroundLoop("burst-echo") as bg:

        async def start() -> asyncio.Server:
            return await asyncio.get_running_loop().create_server(_Echo, "127.0.0.1", 0, backlog=4096)

        server = bg.run(start())
        try:
            yield f"127.0.0.1:{server.sockets[0].getsockname()[1]}"
        finally:

            async def stop() -> None:
                server.close()

            bg.run(stop())


def _syn_retransmits(sock: socket.socket | None) -> int | None:
    """How often this connected socket sent its SYN again (TCP_INFO total_retrans; None where unknown)."""
    if sock is None or not hasattr(socket, "TCP_INFO"):
        return None
    try:
        info = sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_INFO, 104)
    except OSError:
        return None
    return int.from_bytes(info[100:104], sys.byteorder) if len(info) >= 104 else None


async def _burst(host: str, port: int) -> tuple[list[float], list[int | None], int, int]:
    """BURST connections at once, each two round trips: (connect times, SYN retransmits, round trips, failures)."""
    connects: list[float] = []
    retransmits: list[int | None] = []
    done = failures = 0

    async def one(i: int) -> None:
        nonlocal done, failures
        start = time.monotonic()
        try:
            reader, writer = await asyncio.wait_for(asyncio.open_connection(host, port), 20)
        except (OSError, TimeoutError):
            failures += 1
            return
        connects.append(time.monotonic() - start)
        retransmits.append(_syn_retransmits(writer.get_extra_info("socket")))  # before any data is sent
        try:
            for k in range(2):
                payload = b"%05d-%d" % (i, k)
                writer.write(payload)
                if await asyncio.wait_for(reader.readexactly(len(payload)), 20) == payload:
                    done += 1
        except (OSError, TimeoutError, asyncio.IncompleteReadError):
            failures += 1
        finally:
            writer.close()

    await asyncio.wait_for(asyncio.gather(*(one(i) for i in range(BURST))), 60)
    return connects, retransmits, done, failures


def test_a_burst_of_500_connects_through_a_latency_toxic_does_not_stall(loop_admin: Api, async_echo: str) -> None:
    listen = str(loop_admin.create("p", async_echo)["listen"])
    loop_admin.toxic("p", type="latency", attributes={"latency": 50})
    host, _, port = listen.rpartition(":")
    connects, retransmits, done, failures = loops.run(_burst(host, int(port)))
    assert failures == 0
    assert done == 2 * BURST
    slow = sum(c >= STALL_S for c in connects)
    # the kernel's own record, which a loaded machine cannot fake: on loopback a SYN is sent again
    # only when the listener's full accept queue dropped the first one
    resent = [r for r in retransmits if r]
    assert resent == [], f"{len(resent)} of {BURST} connects had to resend their SYN ({slow} took >= 1 s)"
    if None in retransmits:  # no TCP_INFO here: the time it took is the signature left
        assert slow == 0, f"{slow} of {BURST} connects took >= 1 s (a full accept queue drops SYNs)"
    stats = loop_admin.client.get("/proxies/p/stats").json()
    assert stats["connections"]["opened"] == BURST


@pytest.mark.parametrize("backlog", [0, -1, 70000])
def test_an_impossible_backlog_is_refused_before_anything_listens(backlog: int) -> None:
    with pytest.raises(ExperimentInvalid, match=rf"backlog {backlog} is out of range \(expected 1\.\.65535\)"):
        with run_in_thread(backlog=backlog):
            pass
