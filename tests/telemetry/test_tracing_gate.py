"""`squall gate` with tracing on: a gate span with each experiment's verdict, score and mechanisms, runs below it."""

import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import yaml
from otlp_receiver import Receiver, otlp_receiver


def _experiment(title: str, exists: str, method: list[dict[str, Any]], api: str) -> dict[str, Any]:
    return {
        "title": title, "description": "tracing gate test", "configuration": {"toxiproxy_url": api},
        "steady-state-hypothesis": {"title": "a file is there", "probes": [
            {"type": "probe", "name": "file-exists", "tolerance": True,
             "provider": {"type": "python", "module": "os.path", "func": "exists", "arguments": {"path": exists}}}]},
        "method": method,
    }


def _spans_named(receiver: Receiver, name: str, count: int, timeout: float = 10.0) -> list[Any]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and len(receiver.named(name)) < count:
        time.sleep(0.05)
    return receiver.named(name)


def test_the_gate_span_carries_each_experiments_verdict_score_and_mechanisms(
        tmp_path: Path, fallback_service: str, toxiproxy_url: str) -> None:
    verifier = {"type": "probe", "name": "serves the fallback", "provider": {
        "type": "python", "module": "squall.verify", "func": "fallback",
        "arguments": {"url": fallback_service, "header": "X-Fallback", "requests": 2}}}
    good = tmp_path / "good.yaml"
    good.write_text(yaml.safe_dump(_experiment("fallback holds", "/", [verifier], toxiproxy_url)))
    bad = tmp_path / "bad.yaml"
    bad.write_text(yaml.safe_dump(_experiment("a file is missing", str(tmp_path / "nope"), [verifier], toxiproxy_url)))
    with otlp_receiver() as receiver:
        proc = subprocess.run(
            [sys.executable, "-c", "from squall.cli import main; main()", "gate", str(good), str(bad),
             "--report-dir", str(tmp_path / "reports"), "--quiet"],
            cwd=tmp_path, env={**os.environ, "OTEL_EXPORTER_OTLP_ENDPOINT": receiver.url},
            capture_output=True, text=True, timeout=180, check=False)
        assert proc.returncode == 1, proc.stderr[-3000:]
        [gate] = _spans_named(receiver, "squall.gate", 1)
        runs = _spans_named(receiver, "squall.run", 2)
        experiments = {s.attributes["squall.experiment"]: s for s in receiver.named("squall.experiment")}

    assert gate.attributes["squall.verdict"] == "failed"
    assert gate.attributes["squall.exit_code"] == 1
    assert set(experiments) == {"good", "bad"}
    assert gate.attributes["squall.experiment.good.verdict"] == "passed"
    assert gate.attributes["squall.experiment.good.score"] == 100.0
    assert gate.attributes["squall.experiment.good.mechanism.serves the fallback"] == "passed"
    assert gate.attributes["squall.experiment.bad.verdict"] == "failed"
    assert "squall.experiment.bad.mechanism.serves the fallback" not in gate.attributes  # the method never ran
    assert experiments["good"].attributes["squall.mechanism.serves the fallback"] == "passed"
    for exp in experiments.values():
        assert exp.parent_id == gate.span_id and exp.trace_id == gate.trace_id
    # each experiment's own run span (the control traced too: the same variables) is a child of its experiment span
    assert len(runs) == 2
    for run in runs:
        [parent] = [e for e in experiments.values() if e.span_id == run.parent_id]
        assert run.trace_id == gate.trace_id
        assert run.attributes["squall.run_id"] == parent.attributes["squall.run_id"]
        assert run.attributes["squall.verdict"] == parent.attributes["squall.verdict"]
    assert sorted(gate.attributes["squall.run_id"]) == sorted(r.attributes["squall.run_id"] for r in runs)
