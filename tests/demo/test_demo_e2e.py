"""`squall demo` end to end, as a new user runs it: the resilient checkout passes, the fragile one fails and says why."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

SQUALL = [sys.executable, "-c", "from squall.cli import main; main()"]


def run_demo(tmp_path: Path, *flags: str) -> tuple[subprocess.CompletedProcess[str], Path]:
    reports = tmp_path / "reports"
    env = {**os.environ, "COLUMNS": "200"}
    proc = subprocess.run(
        [*SQUALL, "demo", "--report-dir", str(reports), *flags],
        check=False, capture_output=True, text=True, env=env, timeout=240, cwd=tmp_path,
    )
    return proc, reports


@pytest.mark.slow
@pytest.mark.timeout(300)
def test_squall_demo_passes_and_writes_the_reports(tmp_path: Path) -> None:
    proc, reports = run_demo(tmp_path)
    out = proc.stdout + proc.stderr
    assert proc.returncode == 0, out
    assert "exit code 0 (passed)" in out
    [run] = [p for p in reports.iterdir() if p.is_dir()]
    assert (run / "index.html").is_file()
    assert (run / "junit.xml").is_file() and (run / "summary.md").is_file()
    experiments = sorted(p.name for p in run.iterdir() if p.is_dir())
    assert experiments == sorted([
        "payment-latency", "inventory-hang", "payments-partition", "rate-limit-storm", "replica-kill", "recovery-time",
    ])
    for name in experiments:
        assert (run / name / "report.html").is_file(), f"{name} has no report.html"
    assert f"report: {run / 'index.html'}" in out


@pytest.mark.slow
@pytest.mark.timeout(300)
def test_squall_demo_fragile_fails_naming_the_mechanisms(tmp_path: Path) -> None:
    proc, _ = run_demo(tmp_path, "--fragile")
    out = proc.stdout + proc.stderr
    assert proc.returncode == 1, out
    assert "exit code 1 (failed)" in out
    mechanisms = out[out.index("failing mechanisms:"):]
    for mechanism in ("timeouts", "circuit breaker", "fallback", "retries (Retry-After)",
                      "retries (failover to the other replica)"):
        assert mechanism in mechanisms, f"{mechanism} not named:\n{out}"
    assert "--fragile" in mechanisms  # the explanation
