"""No fault outlives a run: SIGINT, SIGTERM, SIGKILL (+ `squall cleanup`), an exception, a stop condition.

Each case runs `chaos run` as a subprocess against the embedded proxy and is
repeated to catch races.
"""

import os
import signal
import subprocess
import time
from pathlib import Path

import pytest
from chaos_harness import SQUALL, ChaosRun, Proxied, action, experiment, wait_action, wait_for

from squall.ledger import Ledger

REPEAT = range(3)
TOX = "squall.actions.toxiproxy"


def _latency_experiment(proxied: Proxied, hold: dict, **arguments: object) -> dict:
    return experiment(
        method=[action("slow down svc", TOX, "add_latency", proxy="svc", latency_ms=200), hold],
        arguments={"sli": [{"name": "svc", "url": proxied.url, "interval_s": 0.1, "timeout_s": 0.5}], "report": False, **arguments},
        configuration={"toxiproxy_url": proxied.api},
    )


def _open_entries() -> list:
    return Ledger(os.environ["SQUALL_LEDGER"]).open_entries()


@pytest.mark.slow
@pytest.mark.parametrize("attempt", REPEAT)
@pytest.mark.parametrize("signame", ["SIGINT", "SIGTERM"])
def test_signal_mid_fault_removes_it_and_writes_the_journal(proxied: Proxied, start_chaos, signame: str, attempt: int) -> None:
    run: ChaosRun = start_chaos(_latency_experiment(proxied, wait_action(30)))
    wait_for(lambda: proxied.client.toxics("svc") and "Action: hold" in run.output, timeout=30)
    sent = time.monotonic()
    run.proc.send_signal(getattr(signal, signame))
    wait_for(lambda: not proxied.client.toxics("svc"), timeout=10, step=0.02)
    removed_after = time.monotonic() - sent
    code = run.wait(30)
    assert code != 0
    proxied.assert_clean()
    assert _open_entries() == []
    journal = run.journal()
    assert journal["status"] == "interrupted"
    ext = run.squall()
    assert ext["verdict"] == "inconclusive"
    assert signame in ext["reason"]
    assert ext["cleanup"] and all(item["removed"] for item in ext["cleanup"])
    assert removed_after < 5.0  # typically well under a second; generous for a loaded machine


@pytest.mark.slow
@pytest.mark.parametrize("attempt", REPEAT)
@pytest.mark.parametrize("signame", ["SIGINT", "SIGTERM"])
def test_signal_racing_the_fault_action_leaves_nothing_behind(proxied: Proxied, start_chaos, signame: str, attempt: int) -> None:
    """The signal lands as soon as the toxic exists, often while the action's own request is still in flight."""
    run: ChaosRun = start_chaos(_latency_experiment(proxied, wait_action(30)))
    wait_for(lambda: proxied.client.toxics("svc"), timeout=30, step=0.005)
    run.proc.send_signal(getattr(signal, signame))
    assert run.wait(30) != 0
    proxied.assert_clean()
    assert _open_entries() == []
    assert run.journal()["status"] == "interrupted"
    assert run.squall()["verdict"] == "inconclusive"


@pytest.mark.slow
@pytest.mark.parametrize("signame", ["SIGINT", "SIGTERM"])
def test_signal_removes_faults_even_while_an_activity_swallows_the_interrupt(proxied: Proxied, start_chaos, signame: str) -> None:
    exp = _latency_experiment(proxied, wait_action(4, stubborn=True))
    exp["method"].append(action("hang svc", TOX, "add_timeout", proxy="svc"))
    run: ChaosRun = start_chaos(exp)
    wait_for(lambda: proxied.client.toxics("svc") and "Action: hold" in run.output, timeout=30)
    run.proc.send_signal(getattr(signal, signame))
    wait_for(lambda: not proxied.client.toxics("svc"), timeout=10, step=0.02)
    assert run.proc.poll() is None, "faults must be removed while the main thread is still blocked"
    assert run.wait(30) != 0
    proxied.assert_clean()
    ext = run.squall()
    assert ext["verdict"] == "inconclusive"
    assert len(ext["fault_windows"]) == 1, "no further fault may be injected after the signal"


@pytest.mark.slow
@pytest.mark.parametrize("attempt", REPEAT)
def test_sigkill_leaves_the_fault_in_the_ledger_and_squall_cleanup_removes_it(proxied: Proxied, start_chaos, attempt: int) -> None:
    run: ChaosRun = start_chaos(_latency_experiment(proxied, wait_action(30)))
    wait_for(lambda: proxied.client.toxics("svc"), timeout=30)
    run.proc.kill()
    run.wait(10)
    assert proxied.client.toxics("svc"), "SIGKILL runs nothing: the toxic is still there"
    assert len(_open_entries()) == 1
    done = subprocess.run([SQUALL, "cleanup", "--ledger", os.environ["SQUALL_LEDGER"]], capture_output=True, text=True, timeout=30, check=False)
    assert done.returncode == 0, done.stderr
    assert "removed: latency 200 ms" in done.stdout
    proxied.assert_clean()
    assert _open_entries() == []


@pytest.mark.parametrize("attempt", REPEAT)
def test_exception_inside_an_activity_still_removes_the_fault(proxied: Proxied, start_chaos, attempt: int) -> None:
    exp = _latency_experiment(proxied, action("buggy step", "ctl_helpers", "boom"))
    run: ChaosRun = start_chaos(exp)
    assert run.wait(60) != 0  # the method did not do what it planned: inconclusive, never passed
    proxied.assert_clean()
    assert _open_entries() == []
    ext = run.squall()
    assert ext["verdict"] == "inconclusive"
    assert "buggy step" in ext["reason"]
    assert [w["outcome"] for w in ext["fault_windows"]] == ["cleaned-up"]


FLOOR = {"name": "floor", "kind": "success_rate_below", "threshold": 0.5, "for_s": 0.5}
BUDGET = {"name": "budget", "kind": "burn_rate_above", "slo": 0.99, "threshold": 2.0, "window_s": 0.5}


@pytest.mark.parametrize("attempt", REPEAT)
def test_stop_condition_aborts_the_method_removes_faults_and_rolls_back(
    proxied: Proxied, start_chaos, tmp_path: Path, attempt: int
) -> None:
    condition, says = [(FLOOR, "success rate"), (FLOOR, "success rate"), (BUDGET, "burn rate")][attempt]
    marker = tmp_path / "rolled-back"
    exp = experiment(
        method=[action("error storm", TOX, "add_http_error", proxy="svc", status=503), wait_action(30)],
        rollbacks=[action("leave a trace", "ctl_helpers", "touch", path=str(marker))],
        arguments={
            "sli": [{"name": "svc", "url": proxied.url, "interval_s": 0.1, "timeout_s": 0.5}],
            "stop_conditions": [condition],
            "report": False,
        },
        configuration={"toxiproxy_url": proxied.api},
    )
    started = time.monotonic()
    run: ChaosRun = start_chaos(exp)
    assert run.wait(60) != 0
    assert time.monotonic() - started < 25, "the stop condition must cut the 30 s hold short"
    proxied.assert_clean()
    assert _open_entries() == []
    journal = run.journal()
    assert journal["status"] == "aborted"
    ext = run.squall()
    assert ext["verdict"] == "aborted"
    assert f'stop condition "{condition["name"]}"' in ext["reason"]
    event = ext["stop_events"][0]
    assert event["condition"] == condition["name"] and says in event["reason"]
    window = ext["fault_windows"][0]
    assert window["end"] - event["t"] < 2.0  # faults go within a second of the decision
    assert marker.exists(), "rollbacks still play after an abort"

