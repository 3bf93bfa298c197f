"""The report's activity table shows the role each activity declares (inject, heal, probe, verify)."""

from pathlib import Path

from report_journals import action_def, passed_run, run_entry

from squall.reporting import render
from squall.reporting.model import build


def test_activities_carry_their_declared_role_and_unknown_modules_are_never_imported(tmp_path: Path) -> None:
    journal = passed_run()
    start = 1_764_300_030.0
    journal["run"] += [
        run_entry(action_def("reset payments", func="reset_peer", arguments={"proxy": "payments"}), start, 0.1),
        run_entry(action_def("team fault", module="team_faults_never_imported", func="break_it"), start + 1, 0.1),
    ]
    report = build(journal)
    roles = {a.name: a.role for a in report.activities}
    assert roles["payments-latency"] == "inject" and roles["heal-payments"] == "heal"
    assert roles["retries-work"] == "verify" and roles["checkout-slo"] == "probe"
    assert roles["reset payments"] == "inject"  # not a heal, whatever its name suggests
    assert roles["team fault"] == ""
    html = render(journal, tmp_path)["html"].read_text()
    assert "action · inject" in html and "probe · verify" in html
