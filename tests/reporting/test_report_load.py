"""The report's load section: control and experiment per second with intervals, and the statistical verdict."""

import copy
from pathlib import Path
from typing import Any

import report_journals as J
from report_parsing import parse_html

from squall.reporting import render
from squall.reporting.loadview import wilson

SENTENCE = "Failed at 95% confidence: success ratio -40.00 points (interval -47.1 to -32.6 points; allowed down to -2.00)."


def _with_load(design: str = "groups", note: str = "") -> dict[str, Any]:
    journal = J.passed_run()
    ext = journal["extensions"][0]
    rows = []
    for k in range(30):  # 30 s of load from +3 s; the fault (+5 s .. +20 s) fails 40% of the experiment group
        sec = int(J.T0) + 3 + k
        faulted = 5 <= k + 3 < 20
        rows.append([sec, "control", 50, 50, 8.0, 12.0, 15.0, 10.0, 14.0])
        rows.append([sec, "experiment", 50, 30 if faulted else 50, 9.0, 40.0 if faulted else 12.5, 60.0, 30.0, 55.0])
    ext["timeline"]["load"] = {
        "settings": {"users": 8, "workers": 2, "experiment_share": 0.5}, "requests": 3000, "dropped": 0,
        "processes": 2, "pids": [1, 2], "seconds": rows,
    }
    evidence = {"design": design, "design_note": note, "sentence": SENTENCE, "verdict": "failed",
                "effects": [{"name": "success_ratio", "control": 1.0, "experiment": 0.6}], "n_control": 750,
                "n_experiment": 750}
    ext["checks"] = [{"name": "experiment-group-no-worse", "kind": "verifier", "ok": False, "verdict": "failed",
                      "summary": SENTENCE, "evidence": evidence, "tolerance": None, "value": None,
                      "start": J.T0 + 19.0, "end": J.T0 + 19.5}]
    return journal


def test_the_load_section_overlays_both_groups_with_intervals_and_states_the_verdict(tmp_path: Path) -> None:
    paths = render(_with_load(), tmp_path / "out")
    html = paths["html"].read_text()
    page = parse_html(paths["html"])
    assert 'id="load"' in html and 'href="#load"' in html
    assert f"Statistical verdict: {SENTENCE}" in " ".join(page.text.split())
    assert "control group" in page.text and "experiment group" in page.text
    load = html[html.index('id="load"'):html.index('id="faults"')]
    assert load.count('<svg class="chart"') == 2  # success rate and p95, per second
    assert load.count('class="band"') == 4  # a 95% interval band per group in each chart
    assert load.count("<path d=") >= 4  # a line per group in each chart
    assert "3000 requests sent by Locust" in page.text and "50% of them in the experiment group" in page.text
    # the verdict reaches the Markdown summary and JUnit through the verifier's check, not a second path
    assert SENTENCE[:60] in paths["markdown"].read_text()
    assert "Failed at 95% confidence" in paths["junit"].read_text()


def test_the_weaker_design_is_labelled_as_such(tmp_path: Path) -> None:
    note = "before-during comparison: the service does not forward the squall.group baggage member (a weaker design)"
    paths = render(_with_load("before-during", note), tmp_path / "out")
    page = parse_html(paths["html"])
    assert note in " ".join(page.text.split())


def test_a_damaged_load_record_never_breaks_the_report(tmp_path: Path) -> None:
    journal = _with_load()
    damaged = copy.deepcopy(journal)
    damaged["extensions"][0]["timeline"]["load"]["seconds"] = [
        "x", [None, "control", 5, 9], [1, "control", -1, 0, 1, 1], [1, "<script>", 3, 2, 1, 2, 3], 7]
    html = render(damaged, tmp_path / "out")["html"].read_text()
    assert "<script>" not in html and "&lt;script&gt;" in html


def test_wilson_interval_brackets_the_proportion() -> None:
    low, high = wilson(30, 50)
    assert 0.45 < low < 0.6 < high < 0.75  # 30 of 50
    assert wilson(50, 50)[1] == 1.0 and wilson(0, 50)[0] == 0.0
    assert wilson(0, 0) == (0.0, 1.0)
