"""Benchmark squall's embedded proxy (and optionally another Toxiproxy-API server) against direct connections.

    python benchmarks/proxy.py [--quick] [--rounds N] [--against URL [--against-pid PID]]

Starts an upstream (echo and sink servers, its own process on uvloop) and
`squall proxy serve` (its own process), creates two proxies on it (and on the
``--against`` server, e.g. a toxiproxy-server you started on a free port),
then measures from this process, alternating the targets so that a noisy
neighbour hurts all of them alike:

- added round trip p50 (µs) on one persistent connection per target: 64-byte
  pings sent to direct, squall and the other server in turn, p50 per round;
  the added figure is the target's p50 minus the direct p50 of the same round;
- CPU per round trip (µs) of each proxy process during those pings;
- the same for a keep-alive HTTP/1.1 request with traceparent and baggage
  (squall parses it and records an event per request; toxiproxy-server
  forwards bytes only);
- bulk throughput on one connection (× direct, same round);
- new connections/s, each a connect, a 1-byte echo and a close, targets in
  turn (× direct, same round);
- a burst of 500 connections at once through a 50 ms latency toxic, each doing
  a few round trips: round trips/s, p99, and connect stalls (a connect taking
  >= 1 s: a SYN dropped by a full accept queue is retried after 1 s);
- a 100 ms latency toxic's precision on one connection: mean and p99 of the
  round trip minus 100 ms and minus the direct p50 (ms);
- memory per idle connection: the process's RSS growth over N connections
  that each echoed once, divided by N (measured first, before any burst has
  grown the allocators' pools; "n/a" without the other server's PID).

Every figure is printed as min / median / max over the rounds. The load
average is printed at the start and the end: on a shared machine figures move.
Every loop is bounded in count and time; everything is on 127.0.0.1; the
proxies and toxics created on the other server are deleted at the end.
"""

import argparse
import asyncio
import multiprocessing
import os
import re
import signal
import socket
import statistics
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

import httpx

from squall import loops

PING = b"x" * 64
END = b"\x01"  # the bulk client's last byte
HTTP_REQUEST = (b"GET /ok HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                b"traceparent: 00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01\r\n"
                b"baggage: squall.run=bench\r\n\r\n")
HTTP_RESPONSE = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Type: text/plain\r\n\r\nok"
BURST = 500
BURST_ROUND_TRIPS = 5
BURST_LATENCY_MS = 50
STALL_S = 1.0
PREFIX = "squall_bench"
KINDS = ("echo", "sink", "http")


# -- the upstream (its own process) ------------------------------------------
def _upstream_main(conn: Any) -> None:
    class Echo(asyncio.Protocol):
        def connection_made(self, transport: Any) -> None:
            self.t = transport

        def data_received(self, data: bytes) -> None:
            self.t.write(data)

    class Sink(asyncio.Protocol):
        def connection_made(self, transport: Any) -> None:
            self.t, self.n = transport, 0

        def data_received(self, data: bytes) -> None:
            self.n += len(data)
            if data[-1:] == END:  # the client's last byte (every other byte is zero): answer the count
                self.t.write(str(self.n - 1).encode())
                self.t.close()

    class Http(asyncio.Protocol):  # one canned response per request head (the benchmark's requests have no body)
        def connection_made(self, transport: Any) -> None:
            self.t = transport

        def data_received(self, data: bytes) -> None:
            self.t.write(HTTP_RESPONSE * data.count(b"\r\n\r\n"))

    async def main() -> None:
        loop = asyncio.get_running_loop()
        servers = [await loop.create_server(p, "127.0.0.1", 0, backlog=4096) for p in (Echo, Sink, Http)]
        conn.send(tuple(s.sockets[0].getsockname()[1] for s in servers))
        await asyncio.Event().wait()

    loops.run(main())


# -- targets -------------------------------------------------------------------
@dataclass
class Target:
    """Where to connect for the echo and the sink: directly, or through one proxy server."""

    name: str
    echo: tuple[str, int]
    sink: tuple[str, int]
    http: tuple[str, int]
    pid: int | None = None
    api: httpx.Client | None = None
    results: dict[str, list[float]] = field(default_factory=dict)

    def add(self, figure: str, value: float) -> None:
        self.results.setdefault(figure, []).append(value)


def _addr(hostport: str) -> tuple[str, int]:
    host, _, port = hostport.rpartition(":")
    return host.strip("[]"), int(port)


def listening_pid(port: int) -> int | None:
    """The PID of the process whose socket listens on TCP ``port`` (Linux /proc; None if not found)."""
    inodes = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            with open(table) as f:
                next(f)
                for line in f:
                    parts = line.split()
                    if parts[3] == "0A" and int(parts[1].rsplit(":", 1)[1], 16) == port:
                        inodes.add(f"socket:[{parts[9]}]")
        except OSError:
            continue
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            for fd in os.listdir(f"/proc/{pid}/fd"):
                if os.readlink(f"/proc/{pid}/fd/{fd}") in inodes:
                    return int(pid)
        except OSError:
            continue
    return None


def _make_proxies(api: httpx.Client, ports: tuple[int, int, int]) -> list[tuple[str, int]]:
    out = []
    for kind, port in zip(KINDS, ports, strict=True):
        name = f"{PREFIX}_{kind}"
        api.delete(f"/proxies/{name}")  # a leftover of an interrupted run
        r = api.post("/proxies", json={"name": name, "listen": "127.0.0.1:0", "upstream": f"127.0.0.1:{port}"})
        r.raise_for_status()
        out.append(_addr(r.json()["listen"]))
    return out


def _delete_proxies(api: httpx.Client) -> None:
    for kind in KINDS:
        try:
            api.delete(f"/proxies/{PREFIX}_{kind}")
        except httpx.HTTPError:
            pass


# -- measurements (this process) ---------------------------------------------
def _connect(addr: tuple[str, int]) -> socket.socket:
    s = socket.create_connection(addr, timeout=10)
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return s


def _recv_n(s: socket.socket, n: int) -> None:
    got = 0
    while got < n:
        chunk = s.recv(n - got)
        if not chunk:
            raise ConnectionError("closed early")
        got += len(chunk)


def pct(values: list[float], p: float) -> float:
    """The ``p``-th percentile (nearest rank)."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


def rss_kb(pid: int) -> int:
    """Resident memory of a process in KiB (Linux)."""
    with open(f"/proc/{pid}/status") as f:
        return int(re.search(r"VmRSS:\s+(\d+)", f.read()).group(1))  # type: ignore[union-attr]


def cpu_s(pid: int) -> float:
    """User + system CPU seconds a process has used (Linux)."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def round_trips(targets: list[Target], count: int, budget_s: float, http: bool = False) -> None:
    """Interleaved pings (64 bytes, or an HTTP request), one persistent connection per target: p50, added, CPU."""
    ping, answer = (HTTP_REQUEST, len(HTTP_RESPONSE)) if http else (PING, len(PING))
    key = "http_" if http else "rt_"
    socks = [_connect(t.http if http else t.echo) for t in targets]
    times: list[list[float]] = [[] for _ in targets]
    cpu0 = [cpu_s(t.pid) if t.pid and t.name != "direct" else None for t in targets]
    try:
        for s in socks:  # warm-up
            for _ in range(50):
                s.sendall(ping)
                _recv_n(s, answer)
        end = time.perf_counter() + budget_s
        for i in range(count):
            order = range(len(socks)) if i % 2 == 0 else range(len(socks) - 1, -1, -1)
            for k in order:
                s = socks[k]
                t = time.perf_counter()
                s.sendall(ping)
                _recv_n(s, answer)
                times[k].append(time.perf_counter() - t)
            if time.perf_counter() > end:
                break
    finally:
        for s in socks:
            s.close()
    base = pct(times[0], 50)
    for t, ts, c0 in zip(targets, times, cpu0, strict=True):
        t.add(key + "p50", pct(ts, 50) * 1e6)
        if t.name != "direct":
            t.add(key + "added", (pct(ts, 50) - base) * 1e6)
        if c0 is not None and t.pid:  # summed over rounds: /proc counts CPU in 10 ms ticks
            t.add(key + "cpu_s", cpu_s(t.pid) - c0)
            t.add(key + "count", len(ts))


def bulk_one(addr: tuple[str, int], total: int, budget_s: float) -> float:
    """MB/s (10^6 bytes) of one connection writing up to ``total`` bytes into the sink."""
    block = memoryview(b"\0" * (1 << 20))
    sent, start = 0, time.perf_counter()
    with _connect(addr) as s:
        while sent < total and time.perf_counter() - start < budget_s:
            s.sendall(block)
            sent += len(block)
        s.sendall(END)  # not a half-close: toxiproxy-server closes both ways on a client's EOF
        reply = b""
        while chunk := s.recv(64):
            reply += chunk
    assert int(reply) == sent, (reply, sent)
    return sent / (time.perf_counter() - start) / 1e6


def bulk(targets: list[Target], total: int, budget_s: float, flip: bool) -> None:
    """One bulk transfer per target (order flipped every other round); × direct of the same round."""
    order = list(reversed(targets)) if flip else targets
    rates = {t.name: bulk_one(t.sink, total, budget_s) for t in order}
    for t in targets:
        t.add("bulk", rates[t.name])
        t.add("bulk_x", rates[t.name] / rates["direct"])


def new_connections(targets: list[Target], budget_s: float, limit: int = 20_000) -> None:
    """Connect, 1-byte echo, close; one per target in turn; rate per target, × direct of the same round."""
    spent = [0.0] * len(targets)
    n = 0
    end = time.perf_counter() + budget_s
    while n < limit and time.perf_counter() < end:
        for k, t in enumerate(targets):
            start = time.perf_counter()
            with _connect(t.echo) as s:
                s.sendall(b"x")
                _recv_n(s, 1)
            spent[k] += time.perf_counter() - start
        n += 1
    rates = [n / s for s in spent]
    for t, r in zip(targets, rates, strict=True):
        t.add("conns", r)
        t.add("conns_x", r / rates[0])


async def _burst(addr: tuple[str, int], n: int, trips: int) -> tuple[list[float], list[float], float, int]:
    """``n`` connections at once, each ``trips`` round trips: (connect times, round trips, seconds, failures)."""
    connects: list[float] = []
    rts: list[float] = []
    failures = 0

    async def one() -> None:
        # asyncio.timeout, not wait_for: no extra task per read, so the client spends less of the shared CPUs
        nonlocal failures
        t = time.perf_counter()
        writer = None
        try:
            async with asyncio.timeout(15):
                reader, writer = await asyncio.open_connection(*addr)
                connects.append(time.perf_counter() - t)
                for _ in range(trips):
                    t = time.perf_counter()
                    writer.write(PING)
                    await reader.readexactly(len(PING))
                    rts.append(time.perf_counter() - t)
        except (OSError, TimeoutError, asyncio.IncompleteReadError):
            failures += 1
        finally:
            if writer is not None:
                writer.close()

    start = time.perf_counter()
    await asyncio.wait_for(asyncio.gather(*(one() for _ in range(n))), 60)
    return connects, rts, time.perf_counter() - start, failures


def burst(target: Target, n: int) -> None:
    """The burst through ``target`` (with a latency toxic on proxies, added and removed here)."""
    toxic = f"{PREFIX}_latency"
    if target.api is not None:
        r = target.api.post(f"/proxies/{PREFIX}_echo/toxics", json={
            "name": toxic, "type": "latency", "stream": "downstream", "attributes": {"latency": BURST_LATENCY_MS}})
        r.raise_for_status()
    cpu0 = cpu_s(target.pid) if target.pid else None
    try:
        connects, rts, took, failures = loops.run(_burst(target.echo, n, BURST_ROUND_TRIPS))
        if cpu0 is not None and target.pid and rts:  # the connects are included: each carries 5 round trips
            target.add("burst_cpu", (cpu_s(target.pid) - cpu0) / len(rts) * 1e6)
    finally:
        if target.api is not None:
            target.api.delete(f"/proxies/{PREFIX}_echo/toxics/{toxic}")
    target.add("burst_rate", len(rts) / took)
    target.add("burst_p99", pct(rts, 99) * 1e3 if rts else float("nan"))
    target.add("burst_stalls", sum(c >= STALL_S for c in connects) + failures)
    target.add("burst_connect_max", max(connects) * 1e3 if connects else float("nan"))
    time.sleep(0.5)  # let the closes settle before the next target


def toxic_precision(target: Target, direct_p50_s: float, samples: int) -> None:
    """How far over a 100 ms latency toxic one connection's round trips are (ms; the direct p50 subtracted)."""
    assert target.api is not None
    toxic = f"{PREFIX}_precision"
    r = target.api.post(f"/proxies/{PREFIX}_echo/toxics", json={
        "name": toxic, "type": "latency", "stream": "downstream", "attributes": {"latency": 100}})
    r.raise_for_status()
    over: list[float] = []
    try:
        with _connect(target.echo) as s:
            for _ in range(samples):
                t = time.perf_counter()
                s.sendall(PING)
                _recv_n(s, len(PING))
                over.append((time.perf_counter() - t - direct_p50_s) * 1e3 - 100)
    finally:
        target.api.delete(f"/proxies/{PREFIX}_echo/toxics/{toxic}")
    target.add("toxic_mean", statistics.mean(over))
    target.add("toxic_p99", pct(over, 99))


def idle_memory(target: Target, n: int) -> None:
    """KiB of the target process's RSS per idle connection (``n`` open connections that echoed once)."""
    if target.pid is None:
        return
    before = rss_kb(target.pid)
    socks = []
    try:
        for _ in range(n):
            s = _connect(target.echo)
            s.sendall(b"x")
            _recv_n(s, 1)
            socks.append(s)
        time.sleep(0.5)
        target.add("memory", (rss_kb(target.pid) - before) / n)
    finally:
        for s in socks:
            s.close()


# -- output ------------------------------------------------------------------------
def _spread(values: list[float] | None, fmt: str) -> str:
    if not values:
        return "n/a"
    if len(values) == 1:
        return fmt.format(values[0])
    return " / ".join(fmt.format(v) for v in (min(values), statistics.median(values), max(values)))


def report(targets: list[Target]) -> None:
    """The table: one row per figure, one column per target (min / median / max over rounds)."""
    rows = [
        ("round trip p50 (µs)", "rt_p50", "{:.1f}"),
        ("added round trip p50 (µs)", "rt_added", "{:+.1f}"),
        ("proxy CPU per round trip (µs, all rounds)", "rt_cpu", "{:.1f}"),
        ("HTTP request p50, keep-alive (µs)", "http_p50", "{:.1f}"),
        ("added HTTP request p50 (µs)", "http_added", "{:+.1f}"),
        ("proxy CPU per HTTP request (µs, all rounds)", "http_cpu", "{:.1f}"),
        ("bulk, one connection (MB/s)", "bulk", "{:.0f}"),
        ("bulk (× direct)", "bulk_x", "{:.2f}"),
        ("new connections/s", "conns", "{:.0f}"),
        ("new connections/s (× direct)", "conns_x", "{:.2f}"),
        (f"burst {BURST} conns, {BURST_LATENCY_MS} ms toxic: rt/s", "burst_rate", "{:.0f}"),
        ("  burst round trip p99 (ms)", "burst_p99", "{:.1f}"),
        ("  burst proxy CPU per round trip (µs)", "burst_cpu", "{:.0f}"),
        ("  burst slowest connect (ms)", "burst_connect_max", "{:.1f}"),
        ("  burst connect stalls (>= 1 s) or failures", "burst_stalls", "{:.0f}"),
        ("100 ms latency toxic: mean over 100 ms", "toxic_mean", "{:+.2f}"),
        ("100 ms latency toxic: p99 over 100 ms", "toxic_p99", "{:+.2f}"),
        ("memory per idle connection (KiB)", "memory", "{:.1f}"),
    ]
    width = max(len(r[0]) for r in rows) + 2
    cols = [max(24, len(t.name)) for t in targets]
    print(f"{'':<{width}}" + "".join(f"{t.name:>{c + 2}}" for t, c in zip(targets, cols, strict=True)))
    for t in targets:
        for key in ("rt_", "http_"):
            if t.results.get(key + "count"):
                t.results[key + "cpu"] = [sum(t.results[key + "cpu_s"]) / sum(t.results[key + "count"]) * 1e6]
    for label, key, fmt in rows:
        cells = [_spread(t.results.get(key), fmt) for t in targets]
        if key in ("rt_added", "rt_cpu", "http_added", "http_cpu", "bulk_x", "conns_x") and cells[0] in ("n/a", "1.00", "1.00 / 1.00 / 1.00"):
            cells[0] = "-"
        print(f"{label:<{width}}" + "".join(f"{c:>{w + 2}}" for c, w in zip(cells, cols, strict=True)))


# -- the run ---------------------------------------------------------------------
@contextmanager
def squall_serve() -> Iterator[tuple[str, int, str]]:
    """`squall proxy serve --port 0` as its own process: (URL, PID, its start line)."""
    serve = subprocess.Popen(
        [sys.executable, "-c", "from squall.cli import main; main()", "proxy", "serve", "--port", "0"],
        stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
    )
    try:
        assert serve.stdout is not None
        line = serve.stdout.readline().strip()
        match = re.search(r"http://[^\s)]+", line)
        if match is None:
            raise SystemExit(f"squall proxy serve did not start: {line!r}")
        threading.Thread(target=serve.stdout.read, daemon=True).start()
        yield match.group(0), serve.pid, line
    finally:
        serve.send_signal(signal.SIGTERM)
        try:
            serve.wait(10)
        except subprocess.TimeoutExpired:
            serve.kill()
            serve.wait(5)


def _loadavg() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer rounds and samples (about 30 s)")
    parser.add_argument("--rounds", type=int, default=None, help="rounds per figure (default 7, quick 3)")
    parser.add_argument("--against", metavar="URL", default=None,
                        help="another Toxiproxy-API server to measure in the same run, e.g. http://127.0.0.1:8475")
    parser.add_argument("--against-pid", metavar="PID", type=int, default=None,
                        help="its PID, for its memory and CPU (default: the owner of its listening socket, if found)")
    parser.add_argument("--idle", type=int, default=None, help="idle connections for the memory figure (default 500)")
    args = parser.parse_args()
    if args.against is not None:
        parts = urlsplit(args.against)
        if parts.scheme != "http" or parts.hostname not in ("127.0.0.1", "localhost", "::1") or not parts.port:
            parser.error(f"--against {args.against}: expected http://127.0.0.1:PORT (a server on this machine)")
    rounds = args.rounds or (3 if args.quick else 7)
    if not 1 <= rounds <= 50:
        parser.error(f"--rounds {rounds}: expected 1..50")
    pings = 800 if args.quick else 2500
    bulk_total, bulk_budget = (int(1e9), 0.6) if args.quick else (int(3e9), 1.2)
    conns_budget = 0.8 if args.quick else 1.5
    burst_rounds = 1 if args.quick else 3
    toxic_samples = 20 if args.quick else 60
    idle = args.idle or (300 if args.quick else 500)

    started = time.perf_counter()
    print(f"squall proxy benchmark: Python {sys.version.split()[0]}, {os.cpu_count()} CPUs, "
          f"load average at start {_loadavg()}")
    parent, child = multiprocessing.Pipe()
    upstream = multiprocessing.Process(target=_upstream_main, args=(child,), daemon=True)
    upstream.start()
    ports: tuple[int, int, int] = parent.recv()
    other_api: httpx.Client | None = None
    with squall_serve() as (url, squall_pid, line):
        print(f"  squall: {line.removeprefix('squall proxy: ')}, PID {squall_pid}")
        api = httpx.Client(base_url=url, trust_env=False, timeout=10)
        direct = Target("direct", *[("127.0.0.1", p) for p in ports], pid=upstream.pid)
        squall = Target("squall", *_make_proxies(api, ports), pid=squall_pid, api=api)
        targets = [direct, squall]
        try:
            if args.against is not None:
                other_api = httpx.Client(base_url=args.against, trust_env=False, timeout=10)
                version = other_api.get("/version")
                pid = args.against_pid or listening_pid(urlsplit(args.against).port or 0)
                other = Target(urlsplit(args.against).netloc, *_make_proxies(other_api, ports),
                               pid=pid, api=other_api)
                print(f"  against: {args.against} (version {version.text.strip()[:60]!r}, "
                      f"PID {pid if pid else 'unknown'})")
                targets.append(other)
            print(f"  {rounds} rounds; {pings} pings per target per round; burst {BURST} connections x "
                  f"{BURST_ROUND_TRIPS} round trips, {burst_rounds} round(s); {idle} idle connections", flush=True)

            # memory first: a burst grows allocator pools that later connections would reuse for free
            for t in targets[1:]:
                warm = _connect(t.echo)
                warm.sendall(b"x")
                _recv_n(warm, 1)
                warm.close()
            time.sleep(0.3)
            for t in targets[1:]:
                idle_memory(t, idle)
            for r in range(rounds):
                print(f"  round {r + 1}/{rounds} ...", file=sys.stderr, flush=True)
                round_trips(targets, pings, 10)
                round_trips(targets, pings, 10, http=True)
                bulk(targets, bulk_total, bulk_budget, flip=r % 2 == 1)
                new_connections(targets, conns_budget)
            direct_p50 = statistics.median(direct.results["rt_p50"]) / 1e6
            for t in targets[1:]:
                toxic_precision(t, direct_p50, toxic_samples)
            for r in range(burst_rounds):
                order = targets[1:] if r % 2 == 0 else list(reversed(targets[1:]))
                for t in order:
                    burst(t, BURST)
            print()
            report(targets)
        finally:
            if other_api is not None:
                _delete_proxies(other_api)
                other_api.close()
            api.close()
            upstream.terminate()
            upstream.join(5)
    print(f"\nload average at end {_loadavg()}; took {time.perf_counter() - started:.0f} s. Spreads are "
          "min / median / max over rounds; × direct is against the direct run of the same round.")
    print("Memory: RSS growth of the proxy's process over the idle connections, divided by their number "
          "(the direct column is blank: the upstream is not a proxy).")


if __name__ == "__main__":
    main()
