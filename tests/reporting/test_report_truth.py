"""The report tells the truth at a glance: asserted from the rendered report.html (its text and its inline SVG)."""

import re
from pathlib import Path
from typing import Any

import pytest
import report_journals as J
import report_svg as S
from report_parsing import parse_html

from squall.reporting import render
from squall.reporting.formatting import duration

P95 = "p95 latency per time bucket"
SUCCESS = "success rate per time bucket"
STRIP = "run overview"


def slow_service_run() -> dict[str, Any]:
    """A 30 s run sampled every 0.25 s (timeout 0.5 s); from +10 s to +20 s the dependency hangs, so every
    sample times out and the sampler, one request in flight, only gets one out every 0.75 s."""
    journal = J.passed_run()
    t0 = J.T0
    rows: list[list[Any]] = []
    t = t0
    while t < t0 + 30.0:
        if t0 + 10.0 <= t < t0 + 20.0:
            rows.append([round(t, 3), "checkout", 0, None, 500.0 + (len(rows) % 7), "timeout"])
            t += 0.75
        else:
            rows.append([round(t, 3), "checkout", 1, 200, 12.0 + (len(rows) % 5), None])
            t += 0.25
    ext = journal["extensions"][0]
    ext["started"], ext["ended"] = t0, t0 + 30.0
    ext["timeline"] = {"interval_s": 0.25, "targets": [{"name": "checkout", "url": "http://127.0.0.1:8080/checkout",
                                                        "interval_s": 0.25}], "samples": rows}
    ext["fault_windows"] = [
        {"id": "a", "kind": "toxiproxy.toxic", "description": "hang (until removed) on inventory-1 (downstream)",
         "start": t0 + 10.0, "end": t0 + 20.0, "outcome": "removed"},
        {"id": "b", "kind": "toxiproxy.toxic", "description": "hang (until removed) on inventory-2 (downstream)",
         "start": t0 + 10.1, "end": t0 + 20.1, "outcome": "removed"},
    ]
    ext["stop_conditions"] = [{"name": "success-floor", "kind": "success_rate_below", "threshold": 0.2, "for_s": 20}]
    journal["experiment"]["controls"] = [{"name": "squall", "provider": {"type": "python", "module": "squall.control",
                                          "arguments": {"sli": [{"name": "checkout", "url": "${checkout_url}",
                                                                 "interval_s": 0.25, "timeout_s": 0.5}]}}}]
    slo = J.probe_def("checkout-slo", True, arguments={"url": "${checkout_url}", "min_success_rate": 0.99,
                                                       "max_p95_ms": 300, "requests": 30})
    journal["experiment"]["steady-state-hypothesis"]["probes"] = [slo]
    return journal


@pytest.fixture
def slow_report(tmp_path: Path) -> Path:
    return render(slow_service_run(), tmp_path / "out")["html"]


def test_every_sample_is_visible_when_the_service_is_slower_than_the_sampling_interval(slow_report: Path) -> None:
    chart = S.charts(slow_report)[P95]
    runs = S.line_runs(chart, "checkout")
    points = [p for run in runs for p in run]
    drawn_buckets = int(re.search(r"Every drawn bucket \((\d+) rows\)", parse_html(slow_report).text)[1])
    assert len(points) == drawn_buckets  # one point per bucket that holds a sample
    marked = S.markers(chart, "point") + S.markers(chart, "capped")
    alone = [run[0] for run in runs if len(run) == 1]
    invisible = [p for p in alone if not any(abs(p[0] - m[0]) < 0.2 and abs(p[1] - m[1]) < 0.2 for m in marked)]
    assert invisible == [], f"{len(invisible)} of {len(points)} samples are a bare move: nothing is drawn for them"
    # the hang is one line, not a scatter of dashes: the sampler slowed down, it did not stop
    during = [run for run in runs if any(y < S.axis_y(chart, "0 ms") - 100 for _, y in run)]
    assert len(during) == 1 and len(during[0]) >= 12


def test_fault_windows_are_named_by_what_they_are_and_their_labels_never_overlap(slow_report: Path) -> None:
    for name, chart in S.charts(slow_report).items():
        names = [label.text for label in S.labels(chart, "fault-label")]
        assert not [n for n in names if re.fullmatch(r"fault \d+", n)], name
        assert S.overlapping(S.labels(chart, "fault-label") + S.labels(chart, "guide-label")
                             + S.labels(chart, "cap-label")) == [], name
    strip = [label.text for label in S.labels(S.charts(slow_report)[STRIP], "fault-label")]
    assert strip == ["hang on inventory-1", "hang on inventory-2"]  # both named, though 0.1 s apart


def test_many_windows_close_together_keep_their_labels_apart(tmp_path: Path) -> None:
    journal = slow_service_run()
    ext = journal["extensions"][0]
    ext["fault_windows"] = [
        {"id": str(i), "kind": "toxiproxy.toxic", "description": f"latency {100 * i} ms on payments-{i} (downstream)",
         "start": J.T0 + 10.0 + 0.2 * i, "end": J.T0 + 12.0 + 0.2 * i, "outcome": "removed"} for i in range(12)]
    html = render(journal, tmp_path / "out")["html"]
    for name, chart in S.charts(html).items():
        shown = S.labels(chart, "fault-label")
        assert S.overlapping(shown + S.labels(chart, "guide-label") + S.labels(chart, "cap-label")) == [], name
        assert shown and all(label.text.startswith("latency ") for label in shown), name  # named, not numbered
    assert "latency 1100 ms on payments-11 (downstream)" in html.read_text()  # the rest keep their full tooltip


def test_slo_targets_and_stop_thresholds_are_drawn_where_their_values_are(slow_report: Path) -> None:
    success, p95 = S.charts(slow_report)[SUCCESS], S.charts(slow_report)[P95]
    top, bottom = S.axis_y(success, "100%"), S.axis_y(success, "0%")
    at = S.guide_lines(success)
    assert at["SLO ≥ 99%"] == pytest.approx(bottom + (top - bottom) * 0.99, abs=0.2)
    assert at["stop: success-floor < 20%"] == pytest.approx(bottom + (top - bottom) * 0.20, abs=0.2)
    zero, two_hundred, lines = S.axis_y(p95, "0 ms"), S.axis_y(p95, "200 ms"), S.guide_lines(p95)
    assert lines["SLO p95 ≤ 300 ms"] == pytest.approx(zero + (two_hundred - zero) * 1.5, abs=0.2)
    texts = {label.text for label in S.labels(success, "guide-label") + S.labels(p95, "guide-label")}
    assert {"SLO ≥ 99%", "stop: success-floor < 20%", "SLO p95 ≤ 300 ms"} <= texts


def test_latencies_cut_by_the_samplers_timeout_are_marked_as_lower_bounds(slow_report: Path) -> None:
    chart = S.charts(slow_report)[P95]
    capped = S.markers(chart, "capped")
    assert len(capped) >= 12  # every hung sample is drawn as "at least"
    assert [label.text for label in S.labels(chart, "cap-label")] == ["≥ 500 ms: the sampler's timeout"]
    text = parse_html(slow_report).text
    during = re.search(r"checkout during fault (\d+) 0% (.*?) timeout: \d+", text)
    assert during is not None, text[:3000]
    assert during[2].count("≥") == 4  # p50, p95, p99 and max of the hang are all lower bounds
    assert re.search(r"checkout before fault \d+ 100% \d", text)  # measured values stay plain


@pytest.mark.parametrize(("times", "expected"), [
    ((1.0, 30.0), ["before fault", "after fault"]),
    ((1.0, 15.0), ["before fault", "during fault"]),
])
def test_segments_follow_the_fault_windows_with_only_two_samples(
    tmp_path: Path, times: tuple[float, float], expected: list[str],
) -> None:
    journal = slow_service_run()
    ext = journal["extensions"][0]
    ext["timeline"]["samples"] = [[J.T0 + t, "checkout", 1, 200, 12.0, None] for t in times]
    page = parse_html(render(journal, tmp_path / "out")["html"])
    assert re.findall(r"checkout (before fault|during fault|between faults|after fault|whole run) 1 ", page.text) \
        == expected


def test_the_run_has_one_duration_the_one_its_journal_gives(tmp_path: Path) -> None:
    journal = slow_service_run()
    ext = journal["extensions"][0]
    ext["ended"] = ext["started"] + 0.8017  # the control's start to end (chaos's process lived longer)
    text = parse_html(render(journal, tmp_path / "out")["html"]).text
    assert duration(0.8017) == "801.7 ms"
    assert "took 801.7 ms" in text


def test_a_verifier_that_returned_ok_false_is_a_failed_activity(tmp_path: Path) -> None:
    html = render(J.failed_verifier_run(), tmp_path / "out")["html"].read_text(encoding="utf-8")
    row = re.search(r'<tr class="([^"]*)"><td>retries-work<div class="fine">[^<]*</div>.*?</tr>', html, re.S)
    assert row is not None
    assert row[1] == "bad"
    cells = re.findall(r"<td[^>]*>(.*?)</td>", row[0], re.S)
    assert cells[2] == "failed"  # Chaos Toolkit's own status for the probe call was "succeeded"
    assert "the verifier&#39;s check failed: the dependency saw 1.0 attempts" in row[0]
    assert re.search(r'<span class="n">\d+</span> activities, <strong>1 failed</strong>', html)


def test_evidence_is_readable_tables_not_raw_json(tmp_path: Path) -> None:
    journal = J.passed_run()
    journal["run"][2]["output"] = {
        "verifier": "fallback", "ok": False, "summary": "only 0 of 3 answers carried the fallback marker",
        "evidence": {"requests": 3, "with_marker": 0, "rate": 0.0, "misses": ["timeout (no answer)"] * 3,
                     "client_statuses": [None, None, None], "client_latency_ms": [504.366, 501.651, 502.102],
                     "errors": {}, "healed": [{"proxy": "payments", "toxics_removed": ["latency_downstream"]}],
                     "gaps": [[{"gap_s": 1.002, "after_status": 429}], [{"gap_s": 1.001, "after_status": 429}]]}}
    html = render(journal, tmp_path / "out")["html"].read_text(encoding="utf-8")
    card = re.search(r"fallback-serves</h3>.*?</article>", html, re.S)
    assert card is not None
    text = " ".join(re.sub(r"<[^>]+>", " ", card[0]).split())
    for raw in ("null", "[", "{", '"'):
        assert raw not in text, f"{raw!r} in {text}"
    assert "timeout (no answer) ×3" in text
    assert "client, per request 3 rows # statuses latency (ms) 1 — 504 2 — 502 3 — 502" in text
    assert "errors none" in text and "rate 0%" in text
    assert "toxics removed latency_downstream" in text.replace("proxy toxics removed payments ", "toxics removed ")
    assert "gaps 2 rows request gap (s) after status 1 1 429 2 1 429" in text


def test_a_fragile_run_says_so(tmp_path: Path) -> None:
    journal = J.failed_verifier_run()
    plain = parse_html(render(journal, tmp_path / "plain")["html"])
    journal["extensions"][0]["fragile"] = True
    paths = render(journal, tmp_path / "fragile")
    page = parse_html(paths["html"])
    assert paths["markdown"].read_text(encoding="utf-8").startswith("### ❌ FAILED (fragile): ")
    assert "fragile" not in plain.text.lower()
    assert "FAILED (fragile)" in page.text  # the <title>, so also the browser tab
    assert "Fragile run: squall demo --fragile switched the service's timeouts" in page.text


def test_a_process_kill_is_a_fault_window_though_the_ledger_has_nothing_to_undo(tmp_path: Path) -> None:
    journal = J.passed_run()
    kill = J.action_def("kill-inventory-1", module="squall.actions.process", func="kill_process",
                        arguments={"pid_file": "${inventory_1_pidfile}", "signal_name": "SIGKILL"})
    journal["run"][0] = J.run_entry(kill, J.T0 + 5.0, 0.004, {
        "signal": "SIGKILL", "killed": [4242], "processes": [
            {"pid": 4242, "cmdline": "python -m squall.demo.replica --name inventory-1 --pid-file /tmp/d/inventory-1.pid"}]})
    journal["extensions"][0]["fault_windows"] = []
    html = render(journal, tmp_path / "out")["html"]
    text = parse_html(html).text
    assert "1 fault injected" in text
    assert "SIGKILL on inventory-1 (pid 4242) process.killed +5.000 s +5.004 s" in text
    assert re.findall(r"checkout (before fault|after fault|whole run) \d+ ", text) == ["before fault", "after fault"]
    assert [label.text for label in S.labels(S.charts(html)[STRIP], "fault-label")] == ["SIGKILL on inventory-1"]
