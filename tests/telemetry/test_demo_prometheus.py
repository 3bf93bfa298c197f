"""`squall demo --prometheus`: the bundled game day with an SLI read from a real Prometheus by PromQL."""

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from chaoslib import substitute
from chaoslib.configuration import load_configuration

from squall.control.settings import parse
from squall.demo.gameday import LOAD_SUITE_PATH, SUITE_PATH
from squall.demo.promsli import TARGET_NAME, write_suite
from squall.loader import load

SQUALL = [sys.executable, "-c", "from squall.cli import main; main()"]


def _demo(tmp_path: Path, path_env: str, timeout_s: float) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "COLUMNS": "200", "PATH": path_env}
    return subprocess.run([*SQUALL, "demo", "--prometheus", "--report-dir", str(tmp_path / "reports")],
                          check=False, capture_output=True, text=True, env=env, timeout=timeout_s, cwd=tmp_path)


def test_without_a_prometheus_binary_it_says_how_to_get_one_and_starts_nothing(tmp_path: Path) -> None:
    empty = tmp_path / "bin"
    empty.mkdir()
    proc = _demo(tmp_path, str(empty), 60)
    assert proc.returncode == 4, proc.stdout + proc.stderr
    assert "no prometheus binary on PATH" in proc.stderr
    assert "apt-get install prometheus" in proc.stderr and "https://prometheus.io/download/" in proc.stderr
    assert "demo system up" not in proc.stdout
    assert not (tmp_path / "reports").exists() or not any((tmp_path / "reports").iterdir())


@pytest.mark.parametrize(("suite_path", "lessons"), [(SUITE_PATH, 6), (LOAD_SUITE_PATH, 1)], ids=["demo", "load"])
def test_every_bundled_experiment_copy_reads_checkout_from_prometheus(
    tmp_path: Path, suite_path: Path, lessons: int
) -> None:
    suite = write_suite(suite_path, "http://127.0.0.1:9090", tmp_path)  # --prometheus, and --prometheus --load
    entries = load(suite).doc["experiments"]
    assert len(entries) == lessons
    for entry in entries:
        doc = load(tmp_path / entry["path"]).doc
        [control] = [c for c in doc["controls"] if c["provider"]["module"] == "squall.control"]
        configuration = load_configuration(doc.get("configuration") or {})  # the demo's default URLs
        settings = parse(substitute(control["provider"]["arguments"], configuration, {}))  # the control accepts it
        prom = [t for t in settings.sli if t.source == "prometheus"]
        assert [t.name for t in prom] == [TARGET_NAME] and prom[0].url == "http://127.0.0.1:9090"
        assert any(t.source == "http" for t in settings.sli)  # the HTTP sampler stays: it is the traffic measured


@pytest.mark.slow
@pytest.mark.demo_prometheus
@pytest.mark.timeout(300)
def test_squall_demo_prometheus_passes_with_promql_samples_in_every_report(tmp_path: Path) -> None:
    if shutil.which("prometheus") is None:
        pytest.skip("the prometheus binary is not on PATH (apt-get install prometheus)")
    proc = _demo(tmp_path, os.environ["PATH"], 240)
    out = proc.stdout + proc.stderr
    assert proc.returncode == 0, out
    assert "Prometheus up: http://127.0.0.1:" in out and "exit code 0 (passed)" in out
    [run] = [p for p in (tmp_path / "reports").iterdir() if p.is_dir()]
    for journal in sorted(run.glob("*/journal.json")):
        ext = next(e for e in json.loads(journal.read_text())["extensions"] if e["name"] == "squall")
        rows = [r for r in ext["timeline"]["samples"] if r[1] == TARGET_NAME]
        assert rows, f"{journal.parent.name}: no PromQL sample"
        assert all(0.0 <= r[6] <= 1.0 for r in rows)
        assert TARGET_NAME in (journal.parent / "report.html").read_text()
