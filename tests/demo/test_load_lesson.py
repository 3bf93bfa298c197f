"""The demo's load lesson through `chaos run`: Locust load with control and experiment groups, judged statistically."""

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from squall.demo.gameday import EXPERIMENTS_DIR
from squall.demo.topology import DemoSystem

CHAOS = str(Path(sys.executable).parent / "chaos")
LESSON = EXPERIMENTS_DIR / "payments-errors-under-load.yaml"


def _run_lesson(system: DemoSystem, tmp_path: Path) -> dict[str, Any]:
    journal = tmp_path / "journal.json"
    env = {**os.environ, **system.environment(), "SQUALL_REPORT_DIR": str(tmp_path / "reports")}
    proc = subprocess.run([CHAOS, "run", "--journal-path", str(journal), str(LESSON)], cwd=tmp_path, env=env,
                          capture_output=True, text=True, timeout=150, check=False)
    assert journal.is_file(), proc.stdout + proc.stderr
    [ext] = [e for e in json.loads(journal.read_text())["extensions"] if e.get("name") == "squall"]
    return dict(ext)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def _check(ext: dict[str, Any], name: str) -> dict[str, Any]:
    [check] = [c for c in ext["checks"] if c["name"] == name]
    return dict(check)


@pytest.mark.slow
@pytest.mark.timeout(200)
def test_the_resilient_checkout_keeps_the_experiment_group_as_good_as_the_control(demo: DemoSystem, tmp_path: Path) -> None:
    ext = _run_lesson(demo, tmp_path)
    check = _check(ext, "experiment-group-no-worse")
    assert ext["verdict"] == "passed", ext["reason"]
    evidence = check["evidence"]
    assert check["verdict"] == "passed" and evidence["design"] == "groups"
    assert evidence["n_control"] >= 200 and evidence["n_experiment"] >= 200
    assert [e["name"] for e in evidence["effects"]] == ["success_ratio", "p95_ms"]
    assert _check(ext, "retries-stay-within-budget")["verdict"] == "passed"
    load = ext["timeline"]["load"]
    groups = {row[1] for row in load["seconds"]}
    assert groups == {"control", "experiment"} and load["requests"] >= evidence["n_control"] * 2
    assert load["pids"] and not any(_alive(pid) for pid in load["pids"])  # every Locust process stopped


@pytest.mark.slow
@pytest.mark.timeout(200)
def test_the_fragile_checkout_fails_with_a_significant_drop(fragile_demo: DemoSystem, tmp_path: Path) -> None:
    ext = _run_lesson(fragile_demo, tmp_path)
    check = _check(ext, "experiment-group-no-worse")
    assert ext["verdict"] == "failed" and check["verdict"] == "failed"
    [ratio] = [e for e in check["evidence"]["effects"] if e["name"] == "success_ratio"]
    assert ratio["verdict"] == "failed" and ratio["high"] < -0.5  # the whole interval: more than 50 points worse
    assert "Failed at 95% confidence" in check["summary"]
    # the sampler's two group targets: the fault met the experiment group's probes and spared the control's
    samples = ext["timeline"]["samples"]
    failed = {target: sum(1 for s in samples if s[1] == target and not s[2])
              for target in ("checkout-control", "checkout-experiment")}
    assert failed["checkout-control"] == 0 and failed["checkout-experiment"] >= 3, failed


@pytest.mark.slow
@pytest.mark.timeout(200)
def test_squall_demo_load_runs_the_lesson_and_passes(tmp_path: Path) -> None:
    reports = tmp_path / "reports"
    proc = subprocess.run([sys.executable, "-c", "from squall.cli import main; main()", "demo", "--load",
                           "--report-dir", str(reports)], cwd=tmp_path, env={**os.environ, "COLUMNS": "200"},
                          capture_output=True, text=True, timeout=180, check=False)
    out = proc.stdout + proc.stderr
    assert proc.returncode == 0, out
    assert "payments-errors-under-load" in out and "exit code 0 (passed)" in out
    [run] = [p for p in reports.iterdir() if p.is_dir()]
    page = (run / "payments-errors-under-load" / "report.html").read_text()
    assert 'id="load"' in page and "Statistical verdict:" in page and "Passed at 95% confidence" in page
