"""Benchmark what tracing costs a run: the same short experiment with tracing off and on, interleaved.

    python benchmarks/tracing.py [--runs 5] [--hold 2.0] [--interval 0.05]

Starts, on 127.0.0.1, a small aiohttp service, squall's embedded proxy in front
of it and a local OTLP/HTTP receiver (answers 200, counts what it gets). The
experiment: the squall control sampling the service every --interval seconds,
a latency toxic, a fallback verifier sending 20 requests through the proxy, a
--hold seconds wait, a heal. Each round runs it once with tracing off and once
with ``tracing: {endpoint: <receiver>}``, in alternating order, each as its own
``chaos run`` process. Prints every wall time (the whole process: the SDK's
import, the spans, the bounded flush at the end), the medians and their ratio.
Target: ratio <= 1.05. On a shared, loaded machine the spread between runs is
larger than that; read the medians over several rounds.
"""

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from aiohttp import web

from squall.background import serve_app
from squall.proxy import run_in_thread
from squall.toxiproxy_client import ToxiproxyClient

CHAOS = str(Path(sys.executable).parent / "chaos")


@contextmanager
def receiver() -> Iterator[tuple[str, list[int]]]:
    """A local OTLP/HTTP endpoint that accepts everything; yields its URL and the sizes of the exports."""
    sizes: list[int] = []

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: Any) -> None:
            pass

        def do_POST(self) -> None:
            sizes.append(len(self.rfile.read(int(self.headers.get("Content-Length") or 0))))
            self.send_response(200)
            self.send_header("Content-Type", "application/x-protobuf")
            self.send_header("Content-Length", "0")
            self.end_headers()

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", sizes
    finally:
        server.shutdown()
        server.server_close()


def service() -> web.Application:
    async def checkout(request: web.Request) -> web.Response:
        return web.Response(text="ok", headers={"X-Fallback": "none"})

    app = web.Application()
    app.router.add_get("/checkout", checkout)
    return app


def experiment(url: str, api: str, hold: float, interval: float, tracing: dict[str, Any] | None) -> dict[str, Any]:
    arguments: dict[str, Any] = {"sli": [{"name": "checkout", "url": url, "interval_s": interval, "timeout_s": 1.0}],
                                 "report": False}
    if tracing is not None:
        arguments["tracing"] = tracing
    tox = "squall.actions.toxiproxy"
    return {
        "title": "tracing benchmark", "description": "benchmarks/tracing.py",
        "configuration": {"toxiproxy_url": api},
        "controls": [{"name": "squall", "provider": {"type": "python", "module": "squall.control",
                                                     "arguments": arguments}}],
        "method": [
            {"type": "action", "name": "slow dependency", "provider": {
                "type": "python", "module": tox, "func": "add_latency",
                "arguments": {"proxy": "svc", "latency_ms": 5}}},
            {"type": "probe", "name": "fallback", "provider": {
                "type": "python", "module": "squall.verify", "func": "fallback",
                "arguments": {"url": url, "header": "X-Fallback", "requests": 20}}, "pauses": {"after": hold}},
        ],
        "rollbacks": [{"type": "action", "name": "heal", "provider": {
            "type": "python", "module": tox, "func": "heal", "arguments": {"proxy": "svc"}}}],
    }


def run_once(doc: dict[str, Any], folder: Path, name: str) -> tuple[float, float, str]:
    """Wall time of one `chaos run` process, the run's own time (the control's started..ended) and its verdict."""
    path = folder / f"{name}.json"
    path.write_text(json.dumps(doc))
    journal = folder / f"{name}-journal.json"
    env = {**os.environ, "SQUALL_LEDGER": str(folder / "ledger.jsonl"), "NO_PROXY": "127.0.0.1,localhost"}
    for var in ("OTEL_EXPORTER_OTLP_ENDPOINT", "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "SQUALL_RUN_ID"):
        env.pop(var, None)
    begun = time.perf_counter()
    with open(folder / f"{name}.log", "w") as out:
        subprocess.run([CHAOS, "--no-log-file", "--no-version-check", "run", "--journal-path", str(journal), str(path)],
                       cwd=folder, env=env, stdout=out, stderr=subprocess.STDOUT, timeout=300, check=False)
    took = time.perf_counter() - begun
    if not journal.exists():
        raise SystemExit(f"chaos run wrote no journal:\n{(folder / f'{name}.log').read_text()[-3000:]}")
    ext = [e for e in json.loads(journal.read_text()).get("extensions", []) if e.get("name") == "squall"]
    if not ext:
        raise SystemExit(f"the run wrote no squall record:\n{(folder / f'{name}.log').read_text()[-3000:]}")
    return took, float(ext[0]["ended"]) - float(ext[0]["started"]), str(ext[0].get("verdict"))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=5, help="rounds (each: one run off, one on)")
    parser.add_argument("--hold", type=float, default=2.0, help="seconds the method waits with the fault on")
    parser.add_argument("--interval", type=float, default=0.05, help="SLI sampling interval (s)")
    args = parser.parse_args()
    if not 1 <= args.runs <= 50:
        parser.error("--runs must be from 1 to 50")
    walls: dict[str, list[float]] = {"off": [], "on": []}
    inner: dict[str, list[float]] = {"off": [], "on": []}
    with serve_app(service) as base, run_in_thread(host="127.0.0.1", port=0) as proxy, receiver() as (otlp, sizes), \
            tempfile.TemporaryDirectory() as tmp:
        with ToxiproxyClient(proxy.url) as client:
            created = client.create_proxy("svc", "127.0.0.1:0", base.removeprefix("http://"))
        url = f"http://127.0.0.1:{created['listen'].rsplit(':', 1)[1]}/checkout"
        folder = Path(tmp)
        for i in range(args.runs):
            order = [("off", None), ("on", {"endpoint": otlp})]
            if i % 2:
                order.reverse()  # interleaved: neither side always runs on a warmer machine
            for label, tracing in order:
                took, own, verdict = run_once(experiment(url, proxy.url, args.hold, args.interval, tracing), folder,
                                              f"{label}-{i}")
                walls[label].append(took)
                inner[label].append(own)
                print(f"round {i + 1} tracing {label:3}: process {took:6.3f} s, run {own:6.3f} s, verdict {verdict}",
                      flush=True)
        exported = sum(sizes)
    print()
    for what, times in (("process wall time", walls), ("run (control) time", inner)):
        off, on = times["off"], times["on"]
        m_off, m_on = statistics.median(off), statistics.median(on)
        print(f"{what}: median off {m_off:.3f} s, on {m_on:.3f} s, ratio {m_on / m_off:.3f} (target <= 1.05); "
              f"min off {min(off):.3f} s, on {min(on):.3f} s, ratio {min(on) / min(off):.3f}")
    print(f"the receiver got {len(sizes)} export requests, {exported} bytes")


if __name__ == "__main__":
    main()
