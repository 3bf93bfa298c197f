"""Render realistic journals and read the three artifacts back as a user (or a CI parser) would."""

import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
import report_journals as J
from report_parsing import cases, parse_html, parse_junit

from squall.reporting import render


def _render(journal: dict, tmp_path: Path) -> dict[str, Path]:
    paths = render(journal, tmp_path / "out")
    assert set(paths) == {"html", "junit", "markdown"}
    assert all(p.is_file() and p.stat().st_size > 0 for p in paths.values())
    return paths


def test_passed_run_shows_verdict_timeline_evidence_and_exact_numbers(tmp_path: Path) -> None:
    paths = _render(J.passed_run(), tmp_path)
    page = parse_html(paths["html"])
    assert page.meta("squall-verdict") == "passed"
    assert "Passed — Checkout survives slow payments" in page.text
    assert "Every steady-state check and verifier held." in page.text
    # Self-contained: no script, no external fetch of any kind.
    assert page.count("script") == 0
    for tag, attrs in page.tags:
        for attr in ("src", "href"):
            value = attrs.get(attr) or ""
            assert not value.startswith(("http:", "https:", "//")), (tag, attrs)
    assert page.count("link") == 0
    html = paths["html"].read_text()
    assert "@media print" in html and "@import" not in html and "url(http" not in html
    # Two SLI charts (success rate, p95) plus the run strip, with the fault window shaded.
    assert page.count("svg") >= 3
    assert html.count('fill="url(#sq-hatch)"') >= 3
    # Exact per-segment numbers: 30 checkout samples inside the 15 s fault at 0.5 s, 1 in 9 succeeded.
    assert "during fault" in page.text and "before fault" in page.text and "after fault" in page.text
    # Tolerances as human text, evidence readable (no Python reprs), timings with ms precision.
    assert "success_rate in [0.95, 1]" in page.text
    assert "attempts per request 2.4 " in page.text
    assert "backoff gaps (ms) 102, 206, 410, 98.7, 199, 402" in page.text
    assert "fallback share 93%" in page.text
    assert "time to recover (s) 1.8" in page.text
    assert "{'" not in page.text and "None" not in page.text
    assert "12.0 ms" in page.text  # the latency action took 0.012 s
    assert "0 seconds" not in page.text
    # Breaker state changes: a table with times relative to the run start.
    assert "+9.000 s" in page.text and "open" in page.text
    # Environment.
    assert "chaostoolkit-lib 1.44.0" in page.text and "squall 0.1.0" in page.text


def test_passed_run_junit_has_one_case_per_check_and_the_verdict(tmp_path: Path) -> None:
    root = parse_junit(_render(J.passed_run(), tmp_path)["junit"])
    by_name = cases(root)
    assert set(by_name) == {
        "steady state before: checkout-slo",
        "steady state after: checkout-slo",
        "verifier: retries-work",
        "verifier: fallback-serves",
        "verdict: Checkout survives slow payments",
    }
    assert {c.get("classname") for c in by_name.values()} == {"checkout-survives-slow-payments"}
    suite = root.find("testsuite")
    assert suite is not None
    assert (suite.get("tests"), suite.get("failures"), suite.get("errors")) == ("5", "0", "0")
    assert float(by_name["verifier: retries-work"].get("time", "")) == pytest.approx(12.0)
    assert float(by_name["steady state before: checkout-slo"].get("time", "")) == pytest.approx(1.234)
    assert not list(root.iter("failure"))


def test_failed_verifier_is_a_failure_everywhere_with_its_message(tmp_path: Path) -> None:
    paths = _render(J.failed_verifier_run(), tmp_path)
    page = parse_html(paths["html"])
    assert page.meta("squall-verdict") == "failed"
    assert 'Failed — Checkout survives slow payments Verifier "retries-work" failed' in page.text
    # the score is the one formula over the run's checks (3 of 4 held in a failed run: 50 x 3/4),
    # never a number a journal claims
    assert "37.5 resilience score" in page.text
    assert "✗ failed retries-work" in page.text
    assert "backoff gaps (ms) none" in page.text
    root = parse_junit(paths["junit"])
    failure = cases(root)["verifier: retries-work"].find("failure")
    assert failure is not None
    assert failure.get("message") == "the dependency saw 1.0 attempts per client request (expected > 1)"
    assert cases(root)["verifier: fallback-serves"].find("failure") is None
    suite = root.find("testsuite")
    assert suite is not None and suite.get("failures") == "2"  # the verifier and the verdict
    props = {p.get("name"): p.get("value") for p in root.iter("property")}
    assert props["verdict"] == "failed" and props["score"] == "37.5"
    md = paths["markdown"].read_text()
    assert md.startswith("### ❌ FAILED: Checkout survives slow payments")
    assert "| retries-work | verifier | ❌ failed | the dependency saw 1.0 attempts per client request " \
        "(expected \\> 1) |" in md
    assert "resilience score **37.5**/100" in md
    assert "| fallback-serves | verifier | ✅ passed | 93% of responses carried the fallback marker |" in md


def test_aborted_run_marks_the_stop_event_and_fails_the_verdict_case(tmp_path: Path) -> None:
    paths = _render(J.aborted_run(), tmp_path)
    page = parse_html(paths["html"])
    assert page.meta("squall-verdict") == "aborted"
    assert "Aborted — " in page.text
    assert "success-floor at +12.000 s: success rate 42% < 50% for 10 s" in page.text
    assert "success-floor: success rate below 50% for 10 s" in page.text  # the condition, in words
    html = paths["html"].read_text()
    assert html.count('stroke="#882255"') >= 3  # the stop marker on the strip and both charts
    root = parse_junit(paths["junit"])
    verdict = cases(root)["verdict: Checkout survives slow payments"].find("failure")
    assert verdict is not None and verdict.get("type") == "aborted"
    assert "⛔ ABORTED" in paths["markdown"].read_text()


def test_crashed_run_degrades_gracefully(tmp_path: Path) -> None:
    paths = _render(J.crashed_run(), tmp_path)
    page = parse_html(paths["html"])
    assert page.meta("squall-verdict") == "inconclusive"
    assert "crashed or was killed halfway" in page.text
    assert "no squall control data" in page.text
    assert "did not finish" in page.text  # the run entry without status
    root = parse_junit(paths["junit"])
    error = cases(root)["verdict: Checkout survives slow payments"].find("error")
    assert error is not None and error.get("type") == "inconclusive"
    assert "duration unknown" in paths["markdown"].read_text()


ODD_JOURNALS = [
    {},
    {"experiment": None, "run": None, "steady_states": "x", "extensions": "nope"},
    {"experiment": {"title": 42, "method": "x", "configuration": ["a"], "secrets": {"s": "flat"}}},
    {"status": "completed", "run": [None, 1, "x", {"activity": None}, {"activity": {"name": None}, "start": "soon"}]},
    {"steady_states": {"before": {"probes": [{"activity": {"tolerance": {"type": "range", "range": "x"}}}]},
                       "during": [{"probes": None}, None, {"activity": {}, "tolerance_met": "yes"}]}},
    {"extensions": [{"name": "squall", "verdict": "weird", "score": "high", "started": "then",
                     "timeline": {"samples": [["x"], None, [1, 2], [1.0, None, 1, "200", "fast", 7],
                                              [3.0, "a", 1, None, 5.0, None], [3.0, "a", 1, 200, 4.0, None],
                                              [2.0, "a", 0, None, None, "timeout"]]},
                     "fault_windows": [None, {"start": None}, {"start": 1.5, "end": None}],
                     "stop_events": [{"t": "later"}], "checks": [{"kind": "verifier", "evidence": [1, 2]},
                                                                   {"kind": "verifier", "evidence": {"a": {"b": {"c": {}}}}}],
                     "cleanup": [{}], "phases": [{}], "faults_observed": [{}], "stop_conditions": [None, 3]}]},
    {"start": "2026-01-01T00:00:00", "end": "garbage", "status": "interrupted", "rollbacks": [{}]},
]


@pytest.mark.parametrize("journal", ODD_JOURNALS, ids=[f"odd{i}" for i in range(len(ODD_JOURNALS))])
def test_odd_journals_never_raise_and_stay_valid(journal: dict, tmp_path: Path) -> None:
    paths = _render(journal, tmp_path)
    page = parse_html(paths["html"])
    assert page.meta("squall-verdict") in {"passed", "failed", "aborted", "inconclusive"}
    ET.parse(paths["junit"])  # well-formed XML
    assert paths["markdown"].read_text().startswith("### ")


def test_many_samples_are_downsampled_for_drawing_but_counted_exactly(tmp_path: Path) -> None:
    journal = J.passed_run()
    ext = journal["extensions"][0]
    samples = J.timeline_samples(J.T0, J.T0 + 42.0, 0.001, ["checkout"], fault=(J.T0 + 5.0, J.T0 + 20.0))
    ext["timeline"]["samples"] = samples
    from squall.reporting.model import build

    report = build(journal)
    assert report.timeline is not None
    assert report.timeline.sample_count == len(samples) == 42000
    assert len(report.timeline.buckets["checkout"]) <= 600
    during = next(s for s in report.timeline.segments if s.segment == "during fault")
    inside = [r for r in samples if J.T0 + 5.0 <= r[0] <= J.T0 + 20.0]
    assert during.count == len(inside)
    assert during.success_rate == pytest.approx(sum(r[2] for r in inside) / len(inside))
    page = parse_html(_render(journal, tmp_path)["html"])
    assert "42000 requests" in page.text or "42 000 requests" in page.text


def test_a_probe_that_explains_itself_shows_its_sentence_as_the_measured_value(tmp_path: Path) -> None:
    # squall.probes.sli.meets_slo returns its numbers with a one-line summary.
    output = {"ok": False, "summary": "success 80.00%, p95 412 ms over 10 requests — p95 412 ms > 300 ms",
              "success_rate": 0.8, "p95_ms": 412.0, "count": 10}
    journal = {
        "experiment": {"title": "slo", "description": "d"},
        "status": "completed", "deviated": True,
        "steady_states": {"before": {"steady_state_met": False, "probes": [{
            "activity": {"type": "probe", "name": "checkout-slo", "tolerance": True,
                         "provider": {"type": "python", "module": "squall.probes.sli", "func": "meets_slo"}},
            "output": output, "status": "succeeded", "tolerance_met": False,
            "start": "2026-11-28T05:00:00", "end": "2026-11-28T05:00:01", "duration": 1.0}]},
            "after": None, "during": []},
        "run": [], "rollbacks": [],
    }
    paths = render(journal, tmp_path)
    text = paths["html"].read_text()
    assert "success 80.00%, p95 412 ms over 10 requests — p95 412 ms &gt; 300 ms" in text
    checks = text[text.index("Steady-state checks"):text.index('id="activities"')]
    assert "checkout-slo" in checks and "success_rate" not in checks  # a sentence, not a dict dump


def test_a_hold_on_the_sampling_is_told_even_when_it_left_no_sample(tmp_path: Path) -> None:
    """A verifier that held the sampler for the whole run leaves no sample: the report still says why."""
    journal = J.passed_run()
    timeline = journal["extensions"][0]["timeline"]
    timeline["samples"] = []
    timeline["pauses"] = [[J.T0 + 5.0, J.T0 + 9.5, "verifier retries (attributes by time)"]]
    page = parse_html(_render(journal, tmp_path)["html"])
    assert "No SLI samples were recorded for this run." in page.text
    assert "SLI sampling paused: verifier retries (attributes by time), from +5.000 s to +9.500 s." in page.text
