"""A damaged ledger cannot keep a run's fault in place: the signal path and the end of the run still remove it."""

import os
import signal
from pathlib import Path

import pytest
from chaos_harness import ChaosRun, Proxied, action, experiment, wait_action, wait_for

from squall.ledger import Ledger

TOX = "squall.actions.toxiproxy"
DAMAGE = {
    "number": b"42\n",
    "not-utf8": b"\xff\xfe\x00\n",
    "no-id": b'{"op":"apply","kind":"toxiproxy.toxic","undo":{}}\n',
    "torn": b'{"op":"apply","id":"torn","kind":"toxiproxy.to',  # a writer killed mid-line: no newline
}


def _run(proxied: Proxied, start_chaos, damage: bytes) -> ChaosRun:
    path = Path(os.environ["SQUALL_LEDGER"])
    path.write_bytes(b'{"op":"strike","id":["garbled"]}\n' + damage)
    exp = experiment(
        method=[action("slow down svc", TOX, "add_latency", proxy="svc", latency_ms=200), wait_action(30)],
        arguments={"sli": [{"name": "svc", "url": proxied.url, "interval_s": 0.1, "timeout_s": 0.5}], "report": False},
        configuration={"toxiproxy_url": proxied.api},
    )
    return start_chaos(exp)


@pytest.mark.slow
@pytest.mark.parametrize("signame", ["SIGINT", "SIGTERM"])
@pytest.mark.parametrize("damage", sorted(DAMAGE))
def test_a_signal_removes_the_fault_despite_garbage_in_the_ledger(proxied: Proxied, start_chaos, damage: str,
                                                                  signame: str) -> None:
    run = _run(proxied, start_chaos, DAMAGE[damage])
    wait_for(lambda: proxied.client.toxics("svc") and "Action: hold" in run.output, timeout=30)
    run.proc.send_signal(getattr(signal, signame))
    wait_for(lambda: not proxied.client.toxics("svc"), timeout=10, step=0.02)
    assert run.wait(30) != 0
    proxied.assert_clean()
    ledger = Ledger(os.environ["SQUALL_LEDGER"])
    assert ledger.open_entries() == []
    assert [s.line for s in ledger.skipped] == [1, 2]  # the garbage is still there, and still harmless
    ext = run.squall()
    assert ext["verdict"] == "inconclusive" and signame in ext["reason"]
    assert ext["cleanup"] and all(item["removed"] for item in ext["cleanup"])
    assert "Traceback" not in run.output
