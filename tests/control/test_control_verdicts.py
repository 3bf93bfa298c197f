"""Honest verdicts: what makes `chaos run` exit non-zero, and what the journal extension records."""

import importlib
import json

import pytest
from chaos_harness import ChaosRun, Proxied, Upstream, action, experiment, probe, wait_action

from squall.ledger import Ledger

TOX = "squall.actions.toxiproxy"


def _sli(url: str, interval_s: float = 0.1) -> list[dict]:
    return [{"name": "svc", "url": url, "interval_s": interval_s, "timeout_s": 2.0}]


def _ok_ratio(rows: list) -> float:
    return sum(r[2] for r in rows) / len(rows)


def test_timeline_drops_inside_the_fault_window_and_recovers_after(proxied: Proxied, start_chaos, tmp_path) -> None:
    exp = experiment(
        method=[
            wait_action(1.0),
            action("error storm", TOX, "add_http_error", proxy="svc", status=503),
            wait_action(1.5),
            action("heal", TOX, "heal", proxy="svc"),
            wait_action(1.5),
        ],
        arguments={"sli": _sli(proxied.url, interval_s=0.2)},  # report on: into $SQUALL_REPORT_DIR
        configuration={"toxiproxy_url": proxied.api},
    )
    run: ChaosRun = start_chaos(exp)
    assert run.wait(60) == 0, run.output[-3000:]
    ext = run.squall()
    assert ext["verdict"] == "passed"
    assert ext["score"] == 100.0  # the game-day score of this one run
    assert [p["name"] for p in ext["phases"]] == ["method", "rollbacks"]
    (window,) = ext["fault_windows"]
    assert window["outcome"] == "removed" and window["end"] > window["start"]
    rows = ext["timeline"]["samples"]
    assert all(len(r) == 6 for r in rows)
    before = [r for r in rows if r[0] < window["start"] - 0.1]
    inside = [r for r in rows if window["start"] + 0.1 < r[0] < window["end"] - 0.1]
    after = [r for r in rows if r[0] > window["end"] + 0.3]
    assert before and inside and after
    # generous bounds: a loaded machine may lose a sample or two outside the window
    assert _ok_ratio(before) >= 0.75
    assert _ok_ratio(inside) < 0.2 and 503 in {r[3] for r in inside if not r[2]}
    assert _ok_ratio(after) >= 0.75
    (observed,) = ext["faults_observed"]
    assert observed["injected"] is True and observed["observed_traffic"] > 0
    reporting = importlib.import_module("squall.reporting")
    if hasattr(reporting, "render"):  # the report engineer's renderer, once it lands
        assert (tmp_path / "report" / "report.html").exists()


def test_before_method_steady_state_not_met_fails_the_run(proxied: Proxied, start_chaos) -> None:
    exp = experiment(
        method=[action("slow down svc", TOX, "add_latency", proxy="svc", latency_ms=100)],
        hypothesis=[probe("service answers", "ctl_helpers", "value", tolerance=1, x=0)],
        arguments={"report": False},
        configuration={"toxiproxy_url": proxied.api},
    )
    run: ChaosRun = start_chaos(exp)
    assert run.wait(60) != 0  # plain Chaos Toolkit exits 0 here with the method skipped
    journal = run.journal()
    assert journal["deviated"] is True
    ext = run.squall()
    assert ext["verdict"] == "failed"
    assert "before the method was not met" in ext["reason"] and "service answers" in ext["reason"]
    assert ext["fault_windows"] == []  # the method never ran
    (check,) = ext["checks"]
    assert check["kind"] == "steady-state-before" and check["ok"] is False and check["value"] == 0


def test_steady_state_failure_during_the_method_fails_the_run(upstream: Upstream, start_chaos) -> None:
    exp = experiment(
        method=[wait_action(1.2)],
        hypothesis=[probe("service answers", "ctl_helpers", "value", tolerance=1, x=0)],
        arguments={"report": False},
    )
    run: ChaosRun = start_chaos(exp, "--hypothesis-strategy", "during-method-only", "--hypothesis-frequency", "0.3")
    assert run.wait(60) != 0  # plain Chaos Toolkit exits 0 here
    ext = run.squall()
    assert ext["verdict"] == "failed"
    assert "during the method" in ext["reason"]
    during = [c for c in ext["checks"] if c["kind"] == "steady-state-during"]
    assert during and during[0]["ok"] is False


def test_fail_fast_interrupts_the_method(upstream: Upstream, start_chaos) -> None:
    exp = experiment(
        method=[wait_action(30)],
        hypothesis=[probe("service answers", "ctl_helpers", "value", tolerance=1, x=0)],
        arguments={"report": False},
    )
    run: ChaosRun = start_chaos(exp, "--hypothesis-strategy", "during-method-only", "--hypothesis-frequency", "0.3", "--fail-fast")
    assert run.wait(25) != 0  # the 30 s hold is cut short, or wait() times out
    ext = run.squall()
    assert ext["verdict"] == "aborted"
    assert "fail-fast" in ext["reason"]


def test_failed_verifier_fails_the_run(proxied: Proxied, start_chaos) -> None:
    exp = experiment(
        method=[
            {
                "type": "probe",
                "name": "fallback served",
                "provider": {
                    "type": "python",
                    "module": "squall.verify",
                    "func": "fallback",
                    "arguments": {"url": proxied.url, "header": "X-Fallback", "requests": 3, "timeout_s": 2},
                },
            }
        ],
        arguments={"report": False},
    )
    run: ChaosRun = start_chaos(exp)
    assert run.wait(60) != 0
    ext = run.squall()
    assert ext["verdict"] == "failed"
    assert 'verifier "fallback served" failed' in ext["reason"]
    (check,) = ext["checks"]
    assert check["kind"] == "verifier" and check["ok"] is False
    assert ext["score"] == 0.0  # failed: 50 x (0 of 1 checks held)


def test_fault_that_meets_no_traffic_is_inconclusive(proxied: Proxied, upstream: Upstream, start_chaos) -> None:
    exp = experiment(
        method=[action("slow down svc", TOX, "add_latency", proxy="svc", latency_ms=100), wait_action(0.6)],
        arguments={"sli": _sli(upstream.url), "report": False},  # the SLI bypasses the proxy
        configuration={"toxiproxy_url": proxied.api},
    )
    run: ChaosRun = start_chaos(exp)
    assert run.wait(60) != 0
    ext = run.squall()
    assert ext["verdict"] == "inconclusive"
    assert ext["score"] is None  # nothing was learned, nothing is scored
    assert "met no traffic" in ext["reason"]
    assert ext["faults_observed"][0]["observed_traffic"] == 0
    proxied.assert_clean()


def test_fault_action_that_failed_is_inconclusive(proxied: Proxied, start_chaos) -> None:
    exp = experiment(
        method=[action("slow down nope", TOX, "add_latency", proxy="nope", latency_ms=100)],
        arguments={"sli": _sli(proxied.url), "report": False},
        configuration={"toxiproxy_url": proxied.api},
    )
    run: ChaosRun = start_chaos(exp)
    assert run.wait(60) != 0
    ext = run.squall()
    assert ext["verdict"] == "inconclusive"
    assert 'action "slow down nope" failed' in ext["reason"]


@pytest.mark.parametrize(
    ("arguments", "expected"),
    [
        ({"stop_conditions": [{"name": "x", "kind": "succes_rate_below", "threshold": 0.9}], "sli": [{"url": "http://127.0.0.1:9/"}]},
         'unknown kind "succes_rate_below"'),
        ({"sli": [{"name": "svc", "url": "127.0.0.1:8080"}]}, 'url "127.0.0.1:8080" is not an http(s) URL'),
    ],
)
def test_invalid_arguments_stop_the_run_before_anything_is_injected(proxied: Proxied, start_chaos, arguments: dict, expected: str) -> None:
    exp = experiment(
        method=[action("slow down svc", TOX, "add_latency", proxy="svc", latency_ms=100)],
        arguments={**arguments, "report": False},
        configuration={"toxiproxy_url": proxied.api},
    )
    run: ChaosRun = start_chaos(exp)
    assert run.wait(60) != 0
    ext = run.squall()
    assert ext["verdict"] == "inconclusive"
    assert expected in ext["reason"]
    assert ext["fault_windows"] == []
    assert run.journal()["run"] == []


def test_run_id_from_the_environment_tags_sli_traffic_and_secrets_are_masked(proxied: Proxied, start_chaos) -> None:
    secret = "tok-s3cr3t-4815162342"
    exp = experiment(
        method=[
            action("slow down svc", TOX, "add_latency", proxy="svc", latency_ms=50),
            action("say it", "ctl_helpers", "echo", text="token is ${token}"),
            wait_action(0.5),
        ],
        arguments={"sli": [{"name": "svc", "url": proxied.url + "?t=${token}", "interval_s": 0.1}], "report": False},
        configuration={"toxiproxy_url": proxied.api},
        secrets={"app": {"token": secret}},
    )
    run: ChaosRun = start_chaos(exp, env={"SQUALL_RUN_ID": "gameday-run-42"})
    assert run.wait(60) == 0, run.output[-3000:]
    ext = run.squall()
    assert ext["run_id"] == "gameday-run-42"
    assert ext["secrets_masked"] == ["app.token"]
    assert secret not in json.dumps(run.journal())
    assert "token is [masked]" in json.dumps(run.journal()["run"])
    events = proxied.client.stats("svc")["http"]["events"]
    assert events and {e["run_id"] for e in events} == {"gameday-run-42"}


def test_declared_globally_in_settings_it_still_fails_an_unmet_steady_state(upstream: Upstream, start_chaos) -> None:
    exp = experiment(method=[wait_action(0.1)], hypothesis=[probe("service answers", "ctl_helpers", "value", tolerance=1, x=0)])
    del exp["controls"]
    settings = {"controls": {"squall": {"provider": {"type": "python", "module": "squall.control", "arguments": {"report": False}}}}}
    run: ChaosRun = start_chaos(exp, settings=settings)
    assert run.wait(60) != 0
    assert run.squall()["verdict"] == "failed"


def test_report_goes_to_report_dir_else_env_else_reports_slug(upstream: Upstream, start_chaos, tmp_path) -> None:
    chosen = tmp_path / "chosen"
    run: ChaosRun = start_chaos(experiment(method=[wait_action(0.1)], arguments={"report_dir": str(chosen)}))
    assert run.wait(60) == 0
    assert (chosen / "report.html").exists() and not (tmp_path / "report").exists()
    run = start_chaos(experiment(method=[wait_action(0.1)]), unset=["SQUALL_REPORT_DIR"])
    assert run.wait(60) == 0
    (made,) = (tmp_path / "reports").glob("squall-control-test-*Z")
    assert (made / "report.html").exists()


def test_credentials_in_the_toxiproxy_url_stay_out_of_the_journal(proxied: Proxied, start_chaos) -> None:
    password = "pa55-w0rd-x17"
    api = proxied.api.replace("http://", f"http://squall:{password}@")
    exp = experiment(
        method=[action("slow down svc", TOX, "add_latency", proxy="svc", latency_ms=50), wait_action(0.3)],
        rollbacks=[action("heal svc", TOX, "heal", proxy="svc")],
        arguments={"sli": [{"name": "svc", "url": proxied.url, "interval_s": 0.1}], "report": False},
        configuration={"toxiproxy_url": api},
    )
    run: ChaosRun = start_chaos(exp)
    assert run.wait(60) == 0, run.output[-3000:]
    journal = json.dumps(run.journal())
    assert password not in journal and password not in run.output
    assert "http://[masked]@127.0.0.1" in journal  # where it was, the reader sees it was masked
    assert run.squall()["verdict"] == "passed"
    ledger = Ledger()
    assert ledger.open_entries() == [] and len(ledger.entries()) == 1
    assert ledger.path.stat().st_mode & 0o077 == 0  # the ledger keeps the real address: owner-only
