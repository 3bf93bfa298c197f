"""A real game day against the demo system and the embedded proxy: robust checkout passes, fragile regresses."""

from collections.abc import Callable
from pathlib import Path

import pytest

from squall.demo.resilience import Mechanisms
from squall.demo.topology import DemoOptions, running
from squall.exitcodes import ExitCode
from squall.gameday.history import History
from squall.gameday.runner import run_suite
from squall.ledger import Ledger
from squall.toxiproxy_client import ToxiproxyClient

DEMO_EXPERIMENTS = Path(__file__).resolve().parents[2] / "squall" / "demo" / "experiments"


@pytest.mark.slow
def test_a_regression_in_checkout_shows_as_a_lower_score_and_a_changed_verdict(
    tmp_path: Path, passing: Path, write_suite: Callable[..., Path]
) -> None:
    suite = write_suite({
        "name": "checkout-resilience",
        "experiments": [
            {"path": str(DEMO_EXPERIMENTS / "replica-kill.yaml"), "weight": 3},
            {"path": "passing.yaml"},
        ],
        "gate": {"min_score": 90},
    })
    results = {}
    for label, mechanisms in (("robust", Mechanisms()), ("fragile", Mechanisms.fragile())):
        options = DemoOptions(checkout_port=0, admin_port=0, mechanisms=mechanisms,
                              state_dir=tmp_path / f"state-{label}", restart_delay_s=0.5)
        with running(options) as system:
            results[label] = run_suite(suite, env=system.environment(), progress=False)
            with ToxiproxyClient(system.toxiproxy_url) as client:
                assert all(client.toxics(name) == [] for name in system.proxies)  # no fault left behind
    assert Ledger().open_entries() == []

    robust, fragile = results["robust"], results["fragile"]
    assert robust.exit_code == ExitCode.PASSED, robust.reasons
    assert robust.score == 100 and {e.verdict for e in robust.experiments} == {"passed"}
    assert all("html" in e.report_paths for e in robust.experiments)
    assert "replica-kill" in robust.index_path.read_text()

    assert fragile.exit_code == ExitCode.FAILED, fragile.reasons
    kill = fragile.experiments[0]
    assert kill.verdict == "failed" and kill.score is not None and kill.score <= 50
    assert fragile.score == pytest.approx((3 * kill.score + 100) / 4)
    assert any(not c.ok and c.kind == "verifier" for c in kill.checks)  # the failover verifier cost the points
    html = fragile.index_path.read_text()
    assert "passed</td><td>failed <strong>(changed)</strong>" in html.replace("\n", "")
    rows = History.in_folder(tmp_path / "reports").rows(kind="suite")
    assert [r.verdict for r in rows] == ["failed", "passed"]
