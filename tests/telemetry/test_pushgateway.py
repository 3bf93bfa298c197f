"""`squall gate --pushgateway` and `squall gameday run --pushgateway` against a real Pushgateway, read back from its /metrics."""

import os
import socket
import subprocess
import sys
from pathlib import Path

import httpx
import yaml
from prometheus_client.parser import text_string_to_metric_families


def _experiment(tmp_path: Path, url: str, toxiproxy: str) -> Path:
    doc = {
        "title": "fallback holds",
        "configuration": {"toxiproxy_url": toxiproxy},
        "description": "squall pushgateway test",
        "steady-state-hypothesis": {"title": "tmp exists", "probes": [
            {"type": "probe", "name": "tmp-exists", "tolerance": True,
             "provider": {"type": "python", "module": "os.path", "func": "exists", "arguments": {"path": "/"}}}]},
        "method": [{"type": "probe", "name": "serves-from-cache",
                    "provider": {"type": "python", "module": "squall.verify", "func": "fallback",
                                 "arguments": {"url": url, "header": "X-Fallback", "header_value": "cache",
                                               "requests": 3}}}],
    }
    path = tmp_path / "fallback.yaml"
    path.write_text(yaml.safe_dump(doc, sort_keys=False))
    return path


def _squall(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-c", "from squall.cli import main; main()", *args], cwd=cwd,
                          env=dict(os.environ), capture_output=True, text=True, timeout=120, check=False)


def _pushed(url: str) -> dict[str, list[tuple[dict[str, str], float]]]:
    text = httpx.get(url + "/metrics", trust_env=False, timeout=5).text
    out: dict[str, list[tuple[dict[str, str], float]]] = {}
    for family in text_string_to_metric_families(text):
        for s in family.samples:
            if s.name.startswith("squall_"):
                out.setdefault(s.name, []).append((s.labels, s.value))
    return out


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_gate_and_gameday_push_verdict_score_and_mechanisms_with_the_run_id(
        tmp_path: Path, pushgateway: str, fallback_service: str, toxiproxy_url: str) -> None:
    exp = _experiment(tmp_path, fallback_service, toxiproxy_url)
    proc = _squall("gate", str(exp), "--pushgateway", pushgateway, "--quiet", cwd=tmp_path)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "warning" not in proc.stderr
    got = _pushed(pushgateway)
    [(labels, value)] = [v for v in got["squall_run_verdict"] if v[0]["verdict"] == "passed"]
    assert value == 1 and labels["job"] == "squall-gate" and labels["run_id"] and labels["suite"]
    assert all(v == 0 for lab, v in got["squall_run_verdict"] if lab["verdict"] != "passed")
    assert [v for _, v in got["squall_run_score"]] == [100]
    assert [v for _, v in got["squall_run_exit_code"]] == [0]
    [(mech, one)] = got["squall_mechanism_outcome"]
    assert one == 1 and mech["mechanism"] == "fallback" and mech["check"] == "serves-from-cache"
    assert mech["outcome"] == "passed" and mech["run_id"] == labels["run_id"] and mech["experiment_run_id"]

    suite = tmp_path / "suite.yaml"
    suite.write_text("name: nightly\nsettle_s: 0\nexperiments: [fallback.yaml]\n")
    proc = _squall("gameday", "run", str(suite), "--pushgateway", pushgateway, "--quiet", cwd=tmp_path)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    jobs = {lab["job"]: lab for lab, v in _pushed(pushgateway)["squall_run_verdict"] if v == 1}
    assert set(jobs) == {"squall-gate", "squall-gameday"}  # one group per job, suite and run id
    assert jobs["squall-gameday"]["suite"] == "nightly" and jobs["squall-gameday"]["verdict"] == "passed"


def test_a_push_that_fails_warns_and_changes_no_exit_code(tmp_path: Path, fallback_service: str, toxiproxy_url: str) -> None:
    dead = f"http://127.0.0.1:{_closed_port()}"
    proc = _squall("gate", str(_experiment(tmp_path, fallback_service, toxiproxy_url)), "--pushgateway", dead, "--quiet", cwd=tmp_path)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert f"warning: could not push the result to the Pushgateway at {dead}" in proc.stderr


def test_a_pushgateway_that_is_not_a_url_is_a_usage_error(tmp_path: Path) -> None:
    proc = _squall("gate", "x.yaml", "--pushgateway", "pushgateway:9091", cwd=tmp_path)
    assert proc.returncode == 4
    assert '--pushgateway "pushgateway:9091" is not an http(s) URL' in proc.stderr
