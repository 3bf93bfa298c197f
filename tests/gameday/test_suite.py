"""Suite files: the keys from the issue work as shown; mistakes are named with file, key and expectation."""

from pathlib import Path

import pytest
import yaml

from squall.errors import ExperimentInvalid
from squall.gameday.suite import load_suite, suite_from_experiments, validate_suite

ISSUE_SUITE = """\
name: payments-weekly
schedule: {cron: "0 10 * * TUE", timezone: Europe/Berlin}
settle_s: 30
experiments:
  - path: payment-latency.yaml
    weight: 3
    required: true
    vars: {checkout_url: "http://127.0.0.1:8080/checkout"}
  - path: inventory-hang.yaml
gate: {min_score: 80}
reports: {dir: reports/payments, keep_days: 60}
notify: {webhook: "http://127.0.0.1:9000/hook"}
"""


@pytest.fixture
def issue_suite(tmp_path: Path) -> Path:
    sub = tmp_path / "gamedays"
    sub.mkdir()
    valid = yaml.safe_dump({"title": "t", "description": "d", "method": [{
        "type": "probe", "name": "p", "provider": {"type": "python", "module": "os.path", "func": "exists",
                                                  "arguments": {"path": "/"}}}]})
    (sub / "payment-latency.yaml").write_text(valid)
    (sub / "inventory-hang.yaml").write_text(valid)
    path = sub / "suite.yaml"
    path.write_text(ISSUE_SUITE)
    return path


def test_issue_suite_loads_with_paths_relative_to_the_suite_file(issue_suite: Path) -> None:
    suite = load_suite(issue_suite)
    assert validate_suite(issue_suite) == []
    assert suite.name == "payments-weekly"
    assert suite.schedule is not None and suite.schedule.cron == "0 10 * * TUE"
    assert suite.schedule.timezone == "Europe/Berlin"
    assert suite.settle_s == 30
    first, second = suite.experiments
    assert first.path == issue_suite.parent / "payment-latency.yaml"
    assert (first.weight, first.required, first.vars) == (3, True, {"checkout_url": "http://127.0.0.1:8080/checkout"})
    assert (second.weight, second.required, second.vars) == (1, False, {})
    assert suite.min_score == 80
    assert suite.reports_dir == issue_suite.parent / "reports" / "payments"
    assert suite.keep_days == 60
    assert suite.webhook == "http://127.0.0.1:9000/hook"


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        ({"setle_s": 3}, ['setle_s: unknown key "setle_s" (expected one of: name,']),
        ({"schedule": {"cron": "0 10 * * TUESDAY"}}, ["schedule.cron: expected a cron expression", "'0 10 * * TUESDAY'"]),
        ({"schedule": {"cron": "0 10 * * TUE", "timezone": "Europe/Berlinn"}}, ['unknown time zone "Europe/Berlinn"']),
        ({"gate": {"min_score": 180}}, ["gate.min_score: expected a number between 0 and 100, got 180"]),
        ({"gate": {"required": ["nope"]}}, ['gate.required[0]: "nope" is not an experiment of this suite']),
        ({"notify": {"webhook": "ftp://x"}}, ["notify.webhook: expected an http:// or https:// URL, got 'ftp://x'"]),
        ({"experiments": [{"path": "missing.yaml"}]}, ['experiments[0].path: experiment file "missing.yaml" not found']),
        ({"experiments": [{"path": "payment-latency.yaml", "weight": "heavy"}]}, ["experiments[0].weight: expected a number, got 'heavy'"]),
        ({"experiments": []}, ["experiments: expected a non-empty list"]),
        ({"reports": {"keep_days": 0}}, ["reports.keep_days: expected a whole number of days >= 1, got 0"]),
    ],
)
def test_each_mistake_names_the_file_the_key_and_what_was_expected(
    issue_suite: Path, change: dict, expected: list[str]
) -> None:
    doc = yaml.safe_load(ISSUE_SUITE)
    doc.update(change)
    issue_suite.write_text(yaml.safe_dump(doc))
    problems = validate_suite(issue_suite)
    assert len(problems) == 1, problems
    assert problems[0].startswith(f"{issue_suite}: ")
    for fragment in expected:
        assert fragment in problems[0]
    with pytest.raises(ExperimentInvalid, match="invalid suite"):
        load_suite(issue_suite)


def test_unreadable_or_malformed_suites_are_problems_not_crashes(tmp_path: Path) -> None:
    assert validate_suite(tmp_path / "nope.yaml") == [
        f"{tmp_path / 'nope.yaml'}: does not exist (expected a game-day suite file in YAML)"]
    bad = tmp_path / "bad.yaml"
    bad.write_text("name: [unclosed\n")
    (problem,) = validate_suite(bad)
    assert "not valid YAML" in problem and "line" in problem
    listy = tmp_path / "list.yaml"
    listy.write_text("- a\n- b\n")
    assert "expected a mapping" in validate_suite(listy)[0]


def test_experiments_given_on_the_command_line_are_all_required(tmp_path: Path) -> None:
    a, b = tmp_path / "a.yaml", tmp_path / "sub" / "a.yaml"
    suite = suite_from_experiments([a, b])
    assert [e.name for e in suite.experiments] == ["a", "a-2"]
    assert all(e.required for e in suite.experiments)
    assert suite.settle_s == 0


def test_validate_suite_also_checks_its_experiments_without_running_them(tmp_path: Path) -> None:
    (tmp_path / "bad.yaml").write_text(yaml.safe_dump({
        "title": "t", "description": "d",
        "method": [{"type": "action", "name": "x",
                    "provider": {"type": "python", "module": "os.path", "func": "existz", "arguments": {"path": "/"}}}],
    }))
    suite = tmp_path / "suite.yaml"
    suite.write_text("name: s\nexperiments: [bad.yaml]\n")
    problems = validate_suite(suite)
    assert problems and all(p.startswith(f"{suite}: experiments[0]: ") for p in problems)
    assert any("existz" in p for p in problems)


def test_gate_required_marks_experiments_by_name_or_path(issue_suite: Path) -> None:
    doc = yaml.safe_load(ISSUE_SUITE)
    doc["experiments"][0]["required"] = False
    doc["gate"]["required"] = ["inventory-hang", "payment-latency.yaml"]
    issue_suite.write_text(yaml.safe_dump(doc))
    suite = load_suite(issue_suite)
    assert [e.required for e in suite.experiments] == [True, True]
    assert suite.gate_required == ("payment-latency", "inventory-hang")
