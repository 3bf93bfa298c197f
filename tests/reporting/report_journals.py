"""Builders of realistic journals: what `chaos run` writes, with and without squall's control data."""

import copy
from datetime import UTC, datetime
from typing import Any

T0 = 1_764_300_000.0  # 2025-11-28 03:20:00 UTC


def iso(t: float) -> str:
    return datetime.fromtimestamp(t, UTC).isoformat()


def probe_def(name: str, tolerance: Any = True, module: str = "squall.probes.sli", func: str = "meets_slo",
              arguments: dict[str, Any] | None = None) -> dict[str, Any]:
    return {"type": "probe", "name": name, "tolerance": tolerance,
            "provider": {"type": "python", "module": module, "func": func, "arguments": arguments or {}}}


def action_def(name: str, module: str = "squall.actions.toxiproxy", func: str = "add_latency",
               arguments: dict[str, Any] | None = None) -> dict[str, Any]:
    return {"type": "action", "name": name,
            "provider": {"type": "python", "module": module, "func": func, "arguments": arguments or {}}}


def run_entry(definition: dict[str, Any], start: float, duration: float, output: Any = None,
              status: str = "succeeded", **extra: Any) -> dict[str, Any]:
    entry = {"activity": definition, "output": output, "start": iso(start), "status": status,
             "end": iso(start + duration), "duration": duration}
    entry.update(extra)
    return entry


def timeline_samples(start: float, end: float, interval: float, targets: list[str],
                     fault: tuple[float, float] | None = None, fault_ok_every: int = 3) -> list[list[Any]]:
    """SLI rows: fast and successful, except inside the fault where most requests slow down and fail."""
    rows: list[list[Any]] = []
    n = int((end - start) / interval)
    for i in range(n):
        t = start + i * interval
        for j, target in enumerate(targets):
            inside = fault is not None and fault[0] <= t <= fault[1]
            if inside and i % fault_ok_every:
                rows.append([t, target, 0, 503 if j == 0 else None, 310.0 + (i % 7) * 9,
                             None if j == 0 else "timeout"])
            else:
                rows.append([t, target, 1, 200, 11.5 + (i % 5) * 1.7 + j * 3, None])
    return rows


def passed_run() -> dict[str, Any]:
    """A run with the control: latency on payments, retries and fallback verified, everything held."""
    slo = probe_def("checkout-slo", {"type": "range", "range": [0.95, 1.0], "target": "success_rate"},
                    arguments={"url": "http://127.0.0.1:8080/checkout", "requests": 20})
    latency = action_def("payments-latency", arguments={"proxy": "payments", "latency_ms": 300, "jitter_ms": 50})
    verifier_def = probe_def("retries-work", None, module="squall.verify", func="retries")
    fallback_def = probe_def("fallback-serves", None, module="squall.verify", func="fallback")
    heal = action_def("heal-payments", func="heal", arguments={"proxy": "payments"})
    retries_out = {"verifier": "retries", "ok": True,
                   "summary": "the dependency saw 2.4 attempts per client request; gaps grew 102 -> 410 ms",
                   "evidence": {"client_requests": 40, "dependency_attempts": 96, "attempts_per_request": 2.4,
                                "backoff_gaps_ms": [102.0, 205.5, 410.2, 98.7, 199.1, 402.3],
                                "breaker": [{"t": T0 + 9.0, "state": "open"}, {"t": T0 + 21.0, "state": "closed"}]}}
    fallback_out = {"verifier": "fallback", "ok": True, "summary": "93% of responses carried the fallback marker",
                    "evidence": {"fallback_share": 0.93, "responses": 40, "time_to_recover_s": 1.8}}
    journal: dict[str, Any] = {
        "chaoslib-version": "1.44.0", "platform": "Linux-x86_64", "node": "ci-runner-3",
        "experiment": {
            "title": "Checkout survives slow payments", "description": "Latency on the payments dependency.",
            "configuration": {"toxiproxy_url": "http://127.0.0.1:8474", "checkout_url": "http://127.0.0.1:8080"},
            "steady-state-hypothesis": {"title": "checkout healthy", "probes": [slo]},
            "method": [latency, verifier_def, fallback_def, heal], "rollbacks": [heal],
        },
        "start": iso(T0), "end": iso(T0 + 42.0), "duration": 42.0, "status": "completed", "deviated": False,
        "steady_states": {
            "before": {"steady_state_met": True, "probes": [
                run_entry(slo, T0 + 1.0, 1.234, {"success_rate": 1.0, "p95_ms": 14.2}, tolerance_met=True)]},
            "after": {"steady_state_met": True, "probes": [
                run_entry(slo, T0 + 36.0, 1.5, {"success_rate": 0.985, "p95_ms": 18.9}, tolerance_met=True)]},
            "during": [],
        },
        "run": [
            run_entry(latency, T0 + 5.0, 0.012, {"proxy": "payments", "toxic": "latency_downstream"}),
            run_entry(verifier_def, T0 + 6.0, 12.0, retries_out),
            run_entry(fallback_def, T0 + 18.0, 2.0, fallback_out),
            run_entry(heal, T0 + 20.0, 0.004, {"removed": 1}),
        ],
        "rollbacks": [run_entry(heal, T0 + 40.0, 0.003, {"removed": 0})],
    }
    journal["extensions"] = [extension("passed", "every steady-state check and verifier held", journal)]
    return journal


def extension(verdict: str, reason: str, journal: dict[str, Any], samples: list[list[Any]] | None = None,
              **extra: Any) -> dict[str, Any]:
    """The control's journal extension for a 42 s run with one latency fault from +5 s to +20 s."""
    ext: dict[str, Any] = {
        "name": "squall", "squall_version": "0.1.0", "chaostoolkit_lib_version": "1.44.0",
        "run_id": "ab12cd34ef56", "verdict": verdict, "reason": reason, "started": T0, "ended": T0 + 42.0,
        "phases": [{"name": "steady-state-before", "start": T0, "end": T0 + 5.0},
                   {"name": "method", "start": T0 + 5.0, "end": T0 + 35.0},
                   {"name": "steady-state-after", "start": T0 + 35.0, "end": T0 + 38.0},
                   {"name": "rollbacks", "start": T0 + 39.0, "end": T0 + 41.0}],
        "timeline": {"interval_s": 0.5,
                     "targets": [{"name": "checkout", "url": "http://127.0.0.1:8080/checkout"},
                                 {"name": "search", "url": "http://127.0.0.1:8080/search"}],
                     "samples": samples if samples is not None else timeline_samples(
                         T0, T0 + 42.0, 0.5, ["checkout", "search"], fault=(T0 + 5.0, T0 + 20.0), fault_ok_every=9)},
        "fault_windows": [{"id": "f1", "kind": "toxiproxy.toxic",
                           "description": "latency 300±50 ms on payments (downstream)",
                           "start": T0 + 5.0, "end": T0 + 20.0, "outcome": "removed"}],
        "stop_conditions": [{"name": "success-floor", "kind": "success_rate_below", "threshold": 0.5, "for_s": 10}],
        "stop_events": [],
        "checks": [],
        "faults_observed": [{"fault": "latency 300±50 ms on payments (downstream)", "injected": True,
                             "observed_traffic": 96}],
        "cleanup": [{"description": "latency 300±50 ms on payments (downstream)", "removed": True,
                     "message": "already removed by heal-payments"}],
        "secrets_masked": [],
    }
    ext.update(extra)
    return ext


def failed_verifier_run() -> dict[str, Any]:
    """Like the passed run, but retries did not happen: the verifier failed and the control said so."""
    journal = passed_run()
    out = journal["run"][1]["output"]
    out.update(ok=False, summary="the dependency saw 1.0 attempts per client request (expected > 1)")
    out["evidence"].update(dependency_attempts=40, attempts_per_request=1.0, backoff_gaps_ms=[])
    ext = journal["extensions"][0]
    ext.update(verdict="failed", reason='verifier "retries-work" failed: the dependency saw 1.0 attempts '
                                        "per client request (expected > 1)", score=62)
    journal["deviated"] = True
    return journal


def aborted_run() -> dict[str, Any]:
    """A stop condition fired at +12 s; the method was cut short and rolled back."""
    journal = passed_run()
    journal["status"] = "aborted"
    journal["run"] = journal["run"][:1]
    journal["steady_states"]["after"] = None
    ext = journal["extensions"][0]
    ext.update(verdict="aborted", reason="stop condition success-floor fired: success rate 42% < 50% for 10 s",
               ended=T0 + 14.0,
               stop_events=[{"t": T0 + 12.0, "condition": "success-floor",
                             "reason": "success rate 42% < 50% for 10 s"}])
    ext["fault_windows"][0]["end"] = T0 + 12.5
    ext["timeline"]["samples"] = timeline_samples(T0, T0 + 14.0, 0.5, ["checkout"], fault=(T0 + 5.0, T0 + 12.5))
    return journal


def crashed_run() -> dict[str, Any]:
    """A run killed halfway: no status or end, the last run entry never finished, keys missing."""
    journal = passed_run()
    for key in ("status", "end", "duration", "deviated", "rollbacks", "extensions"):
        journal.pop(key)
    journal["steady_states"].pop("after")
    last = journal["run"][1]
    for key in ("status", "end", "duration", "output"):
        last.pop(key)
    journal["run"] = journal["run"][:2]
    return journal


def deep(j: dict[str, Any]) -> dict[str, Any]:
    return copy.deepcopy(j)
