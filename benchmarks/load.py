"""Benchmark the load path: requests per second one machine sustains while the control samples and the proxy faults.

    python benchmarks/load.py [--users 20] [--seconds 6] [--rounds 2] [--workers 0]

Starts, on 127.0.0.1, a small aiohttp service and squall's embedded proxy in
front of it. Each round measures, one after the other in the same run:

- ``direct``: Locust (in its own process, as squall runs it) against the
  service, no proxy, no sampler — the baseline;
- ``squall``: the same load through the proxy while an ``http_error`` fault
  scoped to ``squall.group=experiment`` answers half of the requests, and the
  control's SLI sampler samples the service every 0.1 s.

Users wait 0 s between requests, so each figure is what this machine can
push. Prints every round's requests per second, the medians and their ratio
(squall / direct). On a shared 2-core machine the load generator, the proxy and
the service compete for the same cores: read the ratio, not the absolute rates.
"""

import argparse
import statistics
import time
from collections.abc import Callable

from aiohttp import web

from squall.background import serve_app
from squall.control.sampling import Timeline
from squall.control.settings import SliTarget
from squall.load import EXPERIMENT_SCOPE, LoadRun, parse
from squall.proxy import run_in_thread
from squall.toxiproxy_client import ToxiproxyClient


def _app() -> web.Application:
    async def ok(request: web.Request) -> web.Response:
        return web.json_response({"ok": True})

    app = web.Application()
    app.router.add_get("/pay", ok)
    return app


def _rate(url: str, users: int, seconds: float, workers: int) -> tuple[float, int, float]:
    """(requests per second over the measured span, requests, success share) of one load run."""
    run = LoadRun(parse({"targets": [url], "users": users, "spawn_rate": 1000, "wait_s": 0, "before_s": 0,
                         "during_s": seconds + 30, "after_s": 0, "workers": workers, "max_samples": 1_000_000}))
    try:
        run.start()
        run.wait_until(1.0)  # spawned and warm
        start = time.time()
        time.sleep(seconds)
        end = time.time()
    finally:
        run.stop()
    samples = run.samples(start, end)
    ok = sum(s.ok for s in samples)
    return len(samples) / (end - start), len(samples), ok / len(samples) if samples else 0.0


def _round(name: str, measure: Callable[[], tuple[float, int, float]], rates: dict[str, list[float]]) -> None:
    rate, n, ok = measure()
    rates.setdefault(name, []).append(rate)
    print(f"  {name:7s} {rate:8.0f} req/s  ({n} requests, {ok:.0%} successful)", flush=True)


def main() -> None:
    """Run the rounds and print the rates and the ratio."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--users", type=int, default=20)
    parser.add_argument("--seconds", type=float, default=6.0)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--workers", type=int, default=0, help="Locust workers (0: one local Locust process)")
    args = parser.parse_args()
    rates: dict[str, list[float]] = {}
    with serve_app(_app) as service, run_in_thread() as proxy, ToxiproxyClient(proxy.url) as client:
        created = client.create_proxy("payments", "127.0.0.1:0", service.removeprefix("http://"))
        proxied = f"http://{created['listen']}/pay"
        for k in range(args.rounds):
            print(f"round {k + 1}", flush=True)
            _round("direct", lambda: _rate(f"{service}/pay", args.users, args.seconds, args.workers), rates)
            client.add_toxic("payments", "http_error", {"status": 503, "baggage": EXPERIMENT_SCOPE}, name="storm")
            sampler = Timeline([SliTarget("payments", proxied, interval_s=0.1, timeout_s=1.0)], max_samples=100_000)
            sampler.start()
            try:
                _round("squall", lambda: _rate(proxied, args.users, args.seconds, args.workers), rates)
            finally:
                sampler.stop()
                client.remove_toxic("payments", "storm")
            print(f"  (the sampler took {len(sampler.snapshot())} samples meanwhile)", flush=True)
    direct, squall = statistics.median(rates["direct"]), statistics.median(rates["squall"])
    print(f"median direct {direct:.0f} req/s, through the proxy with a scoped fault and the sampler {squall:.0f} req/s;"
          f" ratio {squall / direct:.2f}")


if __name__ == "__main__":
    main()
