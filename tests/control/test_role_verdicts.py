"""The verdict reads each action's declared role: a failed fault injection is inconclusive, a failed heal is not."""

from chaos_harness import ChaosRun, Proxied, action, experiment, wait_action

TOX = "squall.actions.toxiproxy"


def _sli(url: str) -> list[dict]:
    return [{"name": "svc", "url": url, "interval_s": 0.2, "timeout_s": 1.0}]


def test_a_reset_peer_that_failed_never_injected_its_fault_so_the_run_is_inconclusive(proxied: Proxied, start_chaos) -> None:
    # reset_peer's name starts with "reset", which the verdict used to take for a healing action:
    # the fault was never injected, and the run passed.
    exp = experiment(
        method=[action("reset connections of nope", TOX, "reset_peer", proxy="nope", timeout_ms=0)],
        arguments={"sli": _sli(proxied.url), "report": False},
        configuration={"toxiproxy_url": proxied.api},
    )
    run: ChaosRun = start_chaos(exp)
    assert run.wait(60) != 0, run.output[-3000:]
    ext = run.squall()
    assert ext["verdict"] == "inconclusive", ext["reason"]
    assert 'action "reset connections of nope" failed' in ext["reason"]
    assert "never injected" in ext["reason"]
    proxied.assert_clean()


def test_a_heal_that_failed_is_not_a_fault_never_injected(proxied: Proxied, start_chaos) -> None:
    exp = experiment(
        method=[
            action("slow svc", TOX, "add_latency", proxy="svc", latency_ms=20),
            wait_action(0.8),  # the SLI meets the fault
            action("heal nope", TOX, "heal", proxy="nope"),
            action("heal svc", TOX, "heal", proxy="svc"),
        ],
        arguments={"sli": _sli(proxied.url), "report": False},
        configuration={"toxiproxy_url": proxied.api},
    )
    run: ChaosRun = start_chaos(exp)
    run.wait(60)
    ext = run.squall()
    assert [r["status"] for r in run.journal()["run"]] == ["succeeded", "succeeded", "failed", "succeeded"]
    assert ext["verdict"] == "passed", ext["reason"]
    proxied.assert_clean()
