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
import os
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


def measure(journal: dict[str, Any], repeat: int) -> dict[str, float | dict[str, int]]:
    """Best-of-`repeat` wall and CPU seconds for the model alone and for the whole render, and the sizes."""
    best = {"model_wall": float("inf"), "model_cpu": float("inf"),
            "render_wall": float("inf"), "render_cpu": float("inf")}
    sizes: dict[str, int] = {}
    for _ in range(repeat):
        wall, cpu = time.perf_counter(), time.process_time()
        build(journal)
        best["model_wall"] = min(best["model_wall"], time.perf_counter() - wall)
        best["model_cpu"] = min(best["model_cpu"], time.process_time() - cpu)
        with tempfile.TemporaryDirectory() as tmp:
            wall, cpu = time.perf_counter(), time.process_time()
            paths = render(journal, Path(tmp))
            best["render_wall"] = min(best["render_wall"], time.perf_counter() - wall)
            best["render_cpu"] = min(best["render_cpu"], time.process_time() - cpu)
            sizes = {key: path.stat().st_size for key, path in paths.items()}
    return {**best, "sizes": sizes}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--activities", type=int, default=10_000)
    parser.add_argument("--samples", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()

    empty = measure({}, args.repeat)
    big = measure(synthetic(args.activities, args.samples), args.repeat)
    label = f"{args.activities} activities, {args.samples} samples"
    width = max(len(label), 22)

    def row(name: str, r: dict[str, Any]) -> str:
        return (f"  {name:<{width}} : wall {r['render_wall'] * 1000:8.1f} ms  cpu {r['render_cpu'] * 1000:8.1f} ms"
                f"   (model: wall {r['model_wall'] * 1000:.1f} ms, cpu {r['model_cpu'] * 1000:.1f} ms)")

    print(f"report rendering, best of {args.repeat}: journal -> model -> report.html, junit.xml, summary.md on disk")
    print(f"  load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs (wall time grows with load, CPU time less)")
    print(row("empty journal", empty))
    print(row(label, big))
    print(f"  {'ratio big / empty':<{width}} : wall {big['render_wall'] / empty['render_wall']:8.0f} x"
          f"     cpu {big['render_cpu'] / max(empty['render_cpu'], 1e-6):8.0f} x")
    verdict = "met" if big["render_wall"] < 1.0 else ("met in CPU time" if big["render_cpu"] < 1.0 else "MISSED")
    print(f"  {'target: under 1 s':<{width}} : wall {big['render_wall']:.2f} s, cpu {big['render_cpu']:.2f} s ({verdict})")
    for key, name in FILES.items():
        e, b = empty["sizes"][key], big["sizes"][key]  # type: ignore[index]
        print(f"  {name:<{width}} : empty {e / 1024:8.1f} KiB   big {b / 1024:9.1f} KiB   ({b / max(e, 1):.0f} x)")


if __name__ == "__main__":
    main()
