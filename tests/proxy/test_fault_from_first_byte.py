"""Once the API has answered that a toxic exists, no request sent afterwards passes without it.

Twenty client threads (keep-alive and one-connection-per-request) hammer a real
upstream through the proxy while a toxic is added and removed over and over.
Each request carries the monotonic time it was sent; the upstream records it
with the time the request reached it. Causality does the rest: a request sent
after the API's answer and seen by the upstream before the DELETE was even sent
passed the proxy while the toxic was in place, so it must show the toxic.
"""

import asyncio
import os
import random
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field

import pytest
from proxy_helpers import Api

from squall.background import BackgroundLoop

CLIENTS = 20
CYCLES = int(os.environ.get("SQUALL_PROXY_RACE_CYCLES", "30"))
BUDGET_S = 60.0  # the whole test stops here even if the machine is very slow


class _Counting(asyncio.Protocol):
    """A minimal HTTP/1.1 server: records (sent, arrived) per request head, answers 200 "ok"."""

    def __init__(self, seen: list[tuple[float, float]], open_: set[asyncio.BaseTransport]) -> None:
        self.seen = seen
        self.open = open_
        self.buf = b""
        self.transport: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]
        self.open.add(transport)

    def connection_lost(self, exc: Exception | None) -> None:
        self.open.discard(self.transport)  # type: ignore[arg-type]

    def data_received(self, data: bytes) -> None:
        self.buf += data
        while b"\r\n\r\n" in self.buf:
            head, _, self.buf = self.buf.partition(b"\r\n\r\n")
            arrived = time.monotonic()
            sent = next((float(line[8:]) for line in head.split(b"\r\n") if line.startswith(b"X-Sent: ")), -1.0)
            self.seen.append((sent, arrived))
            close = b"Connection: close" in head
            assert self.transport is not None
            self.transport.write(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
            if close:
                self.transport.close()
                return


@dataclass
class _Upstream:
    addr: str
    seen: list[tuple[float, float]] = field(default_factory=list)


@pytest.fixture
def counting_upstream() -> Iterator[_Upstream]:
    """A real HTTP server on 127.0.0.1 that records when each request was sent and when it arrived."""
    with BackgroundLoop("counting-upstream") as bg:
        seen: list[tuple[float, float]] = []
        open_: set[asyncio.BaseTransport] = set()

        async def start() -> asyncio.Server:
            return await asyncio.get_running_loop().create_server(lambda: _Counting(seen, open_), "127.0.0.1", 0)

        async def stop() -> None:  # on the server's loop: asyncio objects are not thread-safe
            server.close()
            for transport in list(open_):
                transport.close()
            await asyncio.sleep(0)  # let connection_lost run before the loop closes

        server = bg.run(start())
        port = server.sockets[0].getsockname()[1]
        try:
            yield _Upstream(f"127.0.0.1:{port}", seen)
        finally:
            bg.run(stop())


def _read_response(sock: socket.socket) -> bytes:
    """Read one whole response (Content-Length framed); its status line, or b"" on EOF."""
    buf = b""
    while b"\r\n\r\n" not in buf:
        chunk = sock.recv(4096)
        if not chunk:
            return b""
        buf += chunk
    head, _, body = buf.partition(b"\r\n\r\n")
    length = next((int(line[15:]) for line in head.split(b"\r\n") if line.lower().startswith(b"content-length: ")), 0)
    while len(body) < length:
        chunk = sock.recv(4096)
        if not chunk:
            return b""
        body += chunk
    return head.split(b"\r\n", 1)[0]


def _client(listen: str, keep_alive: bool, stop: threading.Event, sent: list[float]) -> None:
    """Send requests until ``stop`` (bounded in count and time), stamping each with its send time."""
    host, _, port = listen.rpartition(":")
    sock: socket.socket | None = None
    end = time.monotonic() + BUDGET_S
    for _ in range(200_000):
        if stop.is_set() or time.monotonic() > end:
            break
        try:
            if sock is None:
                sock = socket.create_connection((host, int(port)), timeout=5)
                time.sleep(random.uniform(0, 0.03))  # the request arrives at any point of the proxy's dial
            now = time.monotonic()
            extra = b"" if keep_alive else b"Connection: close\r\n"
            sock.sendall(b"GET /hit HTTP/1.1\r\nHost: svc\r\nX-Sent: %.9f\r\n%s\r\n" % (now, extra))
            sent.append(now)
            ok = bool(_read_response(sock))
        except OSError:
            ok = False
        if not ok or not keep_alive:
            if sock is not None:
                sock.close()
            sock = None
    if sock is not None:
        sock.close()


def _hammer(admin: Api, upstream: _Upstream, toxic: dict[str, object]) -> tuple[list[tuple[float, float]], list[float]]:
    """Add and remove ``toxic`` CYCLES times under load; return the windows it was surely in place and all send times."""
    listen = admin.create("svc", upstream.addr)["listen"]
    stop = threading.Event()
    sent: list[list[float]] = [[] for _ in range(CLIENTS)]
    threads = [
        threading.Thread(target=_client, args=(listen, i % 2 == 0, stop, sent[i]), daemon=True)
        for i in range(CLIENTS)
    ]
    for t in threads:
        t.start()
    windows: list[tuple[float, float]] = []
    end = time.monotonic() + BUDGET_S / 2
    try:
        for _ in range(CYCLES):
            if time.monotonic() > end:
                break
            time.sleep(0.02)
            admin.toxic("svc", **toxic)
            answered = time.monotonic()  # the API has answered: the toxic exists
            time.sleep(0.08)
            removing = time.monotonic()  # until the DELETE is sent, it surely still exists
            assert admin.client.delete(f"/proxies/svc/toxics/{toxic['name']}").status_code == 204
            windows.append((answered, removing))
    finally:
        stop.set()
        for t in threads:
            t.join(15)
    time.sleep(0.3)  # requests still on their way reach the upstream
    return windows, sorted(s for per in sent for s in per)


def _inside(t: float, windows: list[tuple[float, float]]) -> bool:
    return any(a < t < b for a, b in windows)


def _surely_toxic(sent: float, arrived: float, windows: list[tuple[float, float]]) -> bool:
    """Sent after the API answered and at the upstream before the DELETE was sent: the toxic was in place."""
    return any(a < sent and arrived < b for a, b in windows)


def test_no_request_reaches_the_upstream_after_http_error_was_added(
    any_admin: Api, counting_upstream: _Upstream
) -> None:
    """In a thread (asyncio) and as `squall proxy serve` (uvloop when installed)."""
    toxic = {"name": "storm", "type": "http_error", "stream": "upstream", "attributes": {"status": 503, "rate": 1.0}}
    windows, sent = _hammer(any_admin, counting_upstream, toxic)
    assert len(windows) >= 10, "the machine was too slow to run enough add/remove cycles"
    in_windows = [s for s in sent if _inside(s, windows)]
    assert len(in_windows) >= 50, f"only {len(in_windows)} requests were sent while the toxic was in place"
    leaked = [(s, a) for s, a in counting_upstream.seen if _surely_toxic(s, a, windows)]
    assert leaked == [], f"{len(leaked)} of {len(in_windows)} requests sent after the toxic was added reached the upstream"
    passed = [s for s, _ in counting_upstream.seen if not _inside(s, windows)]
    assert len(passed) >= 50  # traffic outside the windows did reach it: the check above can fail


def test_no_byte_passes_without_the_latency_after_it_was_added(
    admin: Api, counting_upstream: _Upstream
) -> None:
    latency_ms = 60
    toxic = {"name": "slow", "type": "latency", "stream": "upstream", "attributes": {"latency": latency_ms}}
    windows, sent = _hammer(admin, counting_upstream, toxic)
    assert len(windows) >= 10, "the machine was too slow to run enough add/remove cycles"
    delayed = [(s, a) for s, a in counting_upstream.seen if _surely_toxic(s, a, windows)]
    assert len(delayed) >= 20, f"only {len(delayed)} requests were sent while the toxic was in place"
    early = [round((a - s) * 1000, 2) for s, a in delayed if a - s < latency_ms / 1000.0]
    assert early == [], f"{len(early)} of {len(delayed)} requests arrived without the {latency_ms} ms delay (ms): {early[:10]}"


def test_a_request_head_still_arriving_when_http_error_is_added_gets_the_error(
    admin: Api, counting_upstream: _Upstream
) -> None:
    listen = admin.create("svc", counting_upstream.addr)["listen"]
    host, _, port = listen.rpartition(":")
    with socket.create_connection((host, int(port)), timeout=10) as s:
        s.sendall(b"GET /hit HTTP/1.1\r\nHost: svc\r\nX-Sent: 1\r\n\r\n")
        assert _read_response(s) == b"HTTP/1.1 200 OK"
        s.sendall(b"GET /hit HTTP/1.1\r\nHost: svc\r\n")  # a keep-alive request, half its head sent
        time.sleep(0.2)  # (if the proxy reads it later, it sees the toxic anyway: never a false failure)
        admin.toxic("svc", name="storm", type="http_error", stream="upstream", attributes={"status": 503})
        s.sendall(b"X-Sent: 2\r\n\r\n")
        assert _read_response(s) == b"HTTP/1.1 503 Service Unavailable"
        assert admin.client.delete("/proxies/svc/toxics/storm").status_code == 204
        s.sendall(b"GET /hit HTTP/1.1\r\nHost: svc\r\n")  # a split head with no toxic goes through whole
        time.sleep(0.1)
        s.sendall(b"X-Sent: 3\r\n\r\n")
        assert _read_response(s) == b"HTTP/1.1 200 OK"
        s.sendall(b"GET /hit HTTP/1.1\r\nX-Sent: 4\r\n")  # a toxic that answers none: forwarded whole
        time.sleep(0.2)
        admin.toxic("svc", name="none", type="http_error", stream="upstream", attributes={"rate": 0.0})
        s.sendall(b"Host: svc\r\n\r\n")
        assert _read_response(s) == b"HTTP/1.1 200 OK"
    assert [sent for sent, _ in counting_upstream.seen] == [1.0, 3.0, 4.0]


def test_a_long_request_head_in_pieces_reaches_the_upstream_whole(admin: Api, counting_upstream: _Upstream) -> None:
    listen = admin.create("svc", counting_upstream.addr)["listen"]
    host, _, port = listen.rpartition(":")
    filler = b"X-Filler: " + b"f" * 100_000 + b"\r\n"  # over what the proxy holds back while a head arrives
    with socket.create_connection((host, int(port)), timeout=10) as s:
        s.sendall(b"GET /hit HTTP/1.1\r\nHost: svc\r\n" + filler[:50_000])
        time.sleep(0.1)
        s.sendall(filler[50_000:])
        time.sleep(0.1)
        s.sendall(b"X-Sent: 5\r\n\r\n")
        assert _read_response(s) == b"HTTP/1.1 200 OK"
    assert [sent for sent, _ in counting_upstream.seen] == [5.0]
