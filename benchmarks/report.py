"""Benchmark report rendering: a big synthetic run against an empty one, in the same run.

    python benchmarks/report.py [--activities 10000] [--samples 100000] [--repeat 3]

Builds a synthetic journal with squall's control data (N activities in the
method, M SLI samples over two targets, a fault window, a stop event and
verifiers with evidence), renders report.html, junit.xml and summary.md into a
temporary folder, and prints the best-of-N times (journal -> model, then the
three writers) and the artifact sizes next to rendering an empty journal.
Target: the big run under one second, and an HTML page a browser opens
without stutter (charts are downsampled to at most 600 buckets per target;
exact numbers stay in tables).
"""

import argparse
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from squall.reporting import FILES, render
from squall.reporting.model import build

T0 = 1_764_300_000.0


def _iso(t: float) -> str:
    return datetime.fromtimestamp(t, UTC).isoformat()


def synthetic(activities: int, samples: int) -> dict[str, Any]:
    """A journal of a long run: `activities` method entries, `samples` SLI rows, one fault."""
    duration = max(samples / 2 * 0.1, 60.0)  # two targets sampled every 100 ms
    fault = (T0 + duration * 0.3, T0 + duration * 0.6)
    run = []
    for i in range(activities):
        t = T0 + duration * i / max(activities, 1)
        kind = "probe" if i % 3 else "action"
        entry: dict[str, Any] = {
            "activity": {"type": kind, "name": f"step-{i}",
                         "provider": {"type": "python", "module": "squall.probes.sli", "func": "sample",
                                      "arguments": {"url": "http://127.0.0.1:8080/checkout", "requests": 20}}},
            "start": _iso(t), "end": _iso(t + 0.0042), "duration": 0.0042, "status": "succeeded",
            "output": {"success_rate": 0.95 + (i % 5) / 100, "p95_ms": 10 + i % 90, "statuses": {"200": 19, "503": 1}},
        }
        if i % 500 == 7:
            entry["status"] = "failed"
            entry["exception"] = ["Traceback (most recent call last):\n", "  File \"x.py\", line 1\n",
                                  "chaoslib.exceptions.ActivityFailed: connection reset by peer\n"]
        if i % 97 == 0:
            entry["output"] = {"body": "x" * 3000, "lines": [f"line {k}" for k in range(80)]}
        run.append(entry)
    rows = []
    for k in range(samples):
        t = T0 + (k // 2) * 0.1
        inside = fault[0] <= t <= fault[1]
        ok = 0 if inside and k % 4 else 1
        rows.append([t, "checkout" if k % 2 == 0 else "search", ok, 200 if ok else 503,
                     12.0 + (k % 13) + (250.0 if inside else 0.0), None])
    verifier = {"verifier": "retries", "ok": True, "summary": "2.3 attempts per request",
                "evidence": {"attempts_per_request": 2.3, "backoff_gaps_ms": [100.0 * 2 ** (k % 5) for k in range(200)],
                             "breaker": [{"t": fault[0] + k, "state": "open" if k % 2 else "closed"} for k in range(40)]}}
    return {
        "chaoslib-version": "1.44.0", "platform": "Linux", "node": "bench",
        "experiment": {"title": "Synthetic long run", "method": [e["activity"] for e in run]},
        "start": _iso(T0), "end": _iso(T0 + duration), "status": "completed", "deviated": False,
        "steady_states": {"before": {"steady_state_met": True, "probes": []},
                          "after": {"steady_state_met": True, "probes": []}},
        "run": run, "rollbacks": [],
        "extensions": [{
            "name": "squall", "squall_version": "0.1.0", "run_id": "bench", "verdict": "passed",
            "reason": "synthetic", "started": T0, "ended": T0 + duration,
            "phases": [{"name": "method", "start": T0, "end": T0 + duration}],
            "timeline": {"interval_s": 0.1, "targets": [{"name": "checkout"}, {"name": "search"}], "samples": rows},
            "fault_windows": [{"kind": "toxiproxy.toxic", "description": "latency 250 ms",
                               "start": fault[0], "end": fault[1], "outcome": "removed"}],
            "stop_events": [{"t": fault[1] - 1, "condition": "floor", "reason": "synthetic"}],
            "checks": [{"name": f"verifier-{v}", "kind": "verifier", **verifier} for v in range(20)],
        }],
    }


def measure(journal: dict[str, Any], repeat: int) -> tuple[float, float, dict[str, int]]:
    """Best-of-`repeat` seconds for build alone and for the whole render, and the artifact sizes."""
    best_build = best_render = float("inf")
    sizes: dict[str, int] = {}
    for _ in range(repeat):
        started = time.perf_counter()
        build(journal)
        best_build = min(best_build, time.perf_counter() - started)
        with tempfile.TemporaryDirectory() as tmp:
            started = time.perf_counter()
            paths = render(journal, Path(tmp))
            best_render = min(best_render, time.perf_counter() - started)
            sizes = {key: path.stat().st_size for key, path in paths.items()}
    return best_build, best_render, sizes


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--activities", type=int, default=10_000)
    parser.add_argument("--samples", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()

    empty_build, empty_render, empty_sizes = measure({}, args.repeat)
    journal = synthetic(args.activities, args.samples)
    big_build, big_render, big_sizes = measure(journal, args.repeat)

    print(f"report rendering, best of {args.repeat} (all three artifacts written to disk)")
    print(f"  empty journal                          : {empty_render * 1000:8.1f} ms"
          f"   (model {empty_build * 1000:.1f} ms)")
    print(f"  {args.activities} activities, {args.samples} samples : {big_render * 1000:8.1f} ms"
          f"   (model {big_build * 1000:.1f} ms, writers {(big_render - big_build) * 1000:.1f} ms)")
    print(f"  ratio big / empty                      : {big_render / empty_render:8.1f} x")
    print(f"  big run vs the 1 s target              : {big_render:8.2f} of 1.00 s "
          f"({'met' if big_render < 1.0 else 'MISSED'})")
    for key, name in FILES.items():
        print(f"  {name:<12} empty {empty_sizes[key] / 1024:8.1f} KiB   big {big_sizes[key] / 1024:9.1f} KiB"
              f"   ({big_sizes[key] / max(empty_sizes[key], 1):.0f} x)")


if __name__ == "__main__":
    main()
