"""A verifier's own verdict through `chaos run`: inconclusive verifiers make inconclusive runs; holds show as pauses."""

from chaos_harness import ChaosRun, Proxied, action, experiment, probe

VERIFY = "squall.verify"
TOX = "squall.actions.toxiproxy"


def _sli(url: str) -> list[dict]:
    return [{"name": "svc", "url": url, "interval_s": 0.1, "timeout_s": 0.1}]


def test_an_inconclusive_verifier_makes_the_run_inconclusive(proxied: Proxied, start_chaos, tmp_path) -> None:
    # No fault at all: nothing fails, so whether the service retries cannot be observed.
    exp = experiment(
        method=[probe("service retries", VERIFY, "retries", url=proxied.url, proxy="svc", requests=2)],
        arguments={"sli": _sli(proxied.url)},
        configuration={"toxiproxy_url": proxied.api},
    )
    run: ChaosRun = start_chaos(exp)
    assert run.wait(60) != 0, run.output[-3000:]
    ext = run.squall()
    assert ext["verdict"] == "inconclusive", ext["reason"]
    assert ext["reason"].startswith('verifier "service retries" was inconclusive: no attempt failed')
    [check] = [c for c in ext["checks"] if c["kind"] == "verifier"]
    assert check["verdict"] == "inconclusive" and check["ok"] is False
    assert check["evidence"]["attribution"] == "trace"  # the verifier's own requests carry its trace ids
    [pause] = [p for p in ext["timeline"]["pauses"] if "verifier retries" in p[2]]
    assert pause[0] <= pause[1]
    assert not [r for r in ext["timeline"]["samples"] if pause[0] <= r[0] <= pause[1]]
    html = (tmp_path / "report" / "report.html").read_text()
    assert "? inconclusive" in html and "SLI sampling paused: verifier retries" in html


def test_a_failed_verifier_still_fails_the_run(proxied: Proxied, start_chaos) -> None:
    exp = experiment(
        method=[
            action("error storm", TOX, "add_http_error", proxy="svc", status=503),
            probe("service retries", VERIFY, "retries", url=proxied.url, proxy="svc", requests=2),
        ],
        arguments={"sli": _sli(proxied.url), "report": False},
        rollbacks=[action("heal", TOX, "heal", proxy="svc")],
        configuration={"toxiproxy_url": proxied.api},
    )
    run: ChaosRun = start_chaos(exp)
    assert run.wait(60) != 0
    ext = run.squall()
    assert ext["verdict"] == "failed", ext["reason"]
    assert "did not retry" in ext["reason"]
    proxied.assert_clean()
