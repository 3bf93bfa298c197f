"""The control's `load`: Locust runs for the method, and every Locust process stops on an interrupt or bad arguments."""

import os
import signal
from pathlib import Path

import pytest
from chaos_harness import PROXY, ChaosRun, Proxied, action, experiment, probe, wait_action, wait_for

from squall.ledger import Ledger


def _children(pid: int) -> list[int]:
    """PIDs whose parent is `pid` (squall starts Locust as children of the chaos process)."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
                found.append(int(entry.name))
    return found


def _alive(pid: int) -> bool:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


def _load_experiment(proxied: Proxied, **load: object) -> dict:
    arguments = {"load": {"targets": [proxied.url], "users": 2, "wait_s": 0.05, "before_s": 0.5, "during_s": 60,
                          "after_s": 0, **load}}
    latency = action("slow", "squall.actions.toxiproxy", "add_latency", proxy=PROXY, latency_ms=20)
    modules = probe("locust-modules", "load_probe", "locust_modules")
    return experiment([latency, modules, wait_action(30)], arguments=arguments,
                      configuration={"toxiproxy_url": proxied.api})


@pytest.mark.slow
def test_sigint_mid_method_stops_every_locust_process_and_removes_the_fault(proxied: Proxied, start_chaos) -> None:
    run: ChaosRun = start_chaos(_load_experiment(proxied, workers=2))
    wait_for(lambda: proxied.client.toxics(PROXY) and "Action: hold" in run.output, timeout=60)
    locusts = _children(run.proc.pid)
    assert len(locusts) == 3, run.output[-2000:]  # a master and two workers
    assert run.output.count("started Locust") == 3
    run.proc.send_signal(signal.SIGINT)
    assert run.wait(60) != 0
    proxied.assert_clean()
    assert not any(_alive(pid) for pid in locusts)
    ext = run.squall()
    assert ext["verdict"] == "inconclusive" and "SIGINT" in ext["reason"]
    load = ext["timeline"]["load"]
    assert sorted(load["pids"]) == sorted(locusts) and load["requests"] > 0
    assert {row[1] for row in load["seconds"]} == {"control", "experiment"}
    # Locust ran (and gevent patched) only in its own processes, never in the control's
    [modules] = [r["output"] for r in run.journal()["run"] if r["activity"]["name"] == "locust-modules"]
    assert modules == {"gevent": False, "locust": False, "geventhttpclient": False}


def test_bad_load_arguments_stop_the_run_before_anything_is_injected(proxied: Proxied, start_chaos) -> None:
    run: ChaosRun = start_chaos(_load_experiment(proxied, users=0))
    assert run.wait(60) != 0
    assert "squall control load: users 0 is not valid" in run.output
    proxied.assert_clean()
    assert Ledger(os.environ["SQUALL_LEDGER"]).entries() == []
    assert "started Locust" not in run.output  # the load never started either
