"""End to end with `chaos run` subprocesses against the fake API server."""

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from k8s_fake import FakeCluster

from squall.ledger import Ledger

BIN = Path(sys.executable).parent
CONTROL = {"name": "squall", "provider": {"type": "python", "module": "squall.control", "arguments": {"report": False}}}


def experiment(tmp_path: Path, cfg: dict[str, Any], method: list[dict[str, Any]]) -> Path:
    path = tmp_path / "experiment.json"
    path.write_text(json.dumps({
        "title": "kubernetes end to end", "description": "squall kubernetes activities under chaos run",
        "configuration": cfg, "controls": [CONTROL], "method": method,
    }))
    return path


def action(name: str, func: str, **arguments: Any) -> dict[str, Any]:
    return {"type": "action", "name": name,
            "provider": {"type": "python", "module": "squall.actions.kubernetes", "func": func, "arguments": arguments}}


@pytest.mark.slow
def test_api_refusal_makes_the_run_fail_not_complete(cluster: FakeCluster, cfg: dict[str, Any],
                                                     tmp_path: Path) -> None:
    cluster.add_deployment("ro", "web", 3)
    cluster.forbid("ro", "DELETE")
    cfg = {**cfg, "k8s_namespace_allowlist": ["ro"]}
    exp = experiment(tmp_path, cfg, [action("kill-a-web-pod", "kill_pods", label_selector="app=web", ns="ro")])
    journal_path = tmp_path / "journal.json"
    proc = subprocess.run([str(BIN / "chaos"), "run", "--journal-path", str(journal_path), str(exp)],
                          capture_output=True, text=True, timeout=120, cwd=tmp_path, check=False)
    journal = json.loads(journal_path.read_text())
    assert proc.returncode != 0, proc.stdout + proc.stderr
    assert journal["status"] == "failed"
    (run,) = journal["run"]
    assert run["status"] == "failed" and "403" in "".join(run["exception"])
    assert len(cluster.pod_names("ro")) == 3


@pytest.mark.slow
def test_squall_cleanup_removes_a_partition_after_sigkill(cluster: FakeCluster, cfg: dict[str, Any],
                                                          tmp_path: Path) -> None:
    cut = action("cut-web-from-db", "partition", ns="shop", from_selector="app=web", to_selector="app=db")
    cut["pauses"] = {"after": 60}
    exp = experiment(tmp_path, cfg, [cut])
    proc = subprocess.Popen([str(BIN / "chaos"), "run", str(exp)], cwd=tmp_path,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 60
        while not cluster.policies and time.monotonic() < deadline and proc.poll() is None:
            time.sleep(0.1)
        assert cluster.policies, "the partition was never applied"
    finally:
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=30)
    (name,) = [n for (_, n) in cluster.policies]
    assert [e.undo["name"] for e in Ledger().open_entries()] == [name]

    out = subprocess.run([str(BIN / "squall"), "cleanup"], capture_output=True, text=True, timeout=60, check=False)
    assert out.returncode == 0, out.stdout + out.stderr
    assert "removed:" in out.stdout and f"NetworkPolicy {name} in shop deleted" in out.stdout
    assert cluster.policies == {}
    assert Ledger().open_entries() == []


@pytest.mark.slow
def test_sigterm_removes_the_partition_and_restores_the_scale(cluster: FakeCluster, cfg: dict[str, Any],
                                                              tmp_path: Path) -> None:
    """An interrupted run (CI cancel, Ctrl-C) leaves neither the NetworkPolicy nor the scale change behind."""
    cut = action("cut-web-from-db", "partition", ns="shop", from_selector="app=web", to_selector="app=db")
    grow = action("grow-web", "scale", deployment="web", ns="shop", replicas=5)
    grow["pauses"] = {"after": 60}
    exp = experiment(tmp_path, cfg, [cut, grow])
    proc = subprocess.Popen([str(BIN / "chaos"), "run", str(exp)], cwd=tmp_path,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and proc.poll() is None and not (
            cluster.policies and cluster.deployments[("shop", "web")]["spec"]["replicas"] == 5
        ):
            time.sleep(0.1)
        assert cluster.policies, "the partition was never applied"
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(timeout=30)
    assert cluster.policies == {}
    assert cluster.deployments[("shop", "web")]["spec"]["replicas"] == 3
    assert Ledger().open_entries() == []
