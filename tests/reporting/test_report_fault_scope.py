"""A scoped HTTP fault's scope is in the report: the fault windows table and the charts' labels keep it."""

from pathlib import Path

import report_journals as J
from report_parsing import parse_html

from squall.reporting import render
from squall.reporting.svg_labels import fault_label

SCOPED = "HTTP 503 [POST /payments*, baggage squall.group=experiment] on payments (100% of requests, upstream)"


def test_the_chart_label_keeps_the_scope_and_drops_the_details() -> None:
    assert fault_label("HTTP 503 [path ~ ^/(a|b)] on payments (100% of requests, upstream)") == \
        "HTTP 503 [path ~ ^/(a|b)] on payments"  # parentheses inside a scope are the scope's
    assert fault_label("hang (until removed) on inventory-1 (downstream)") == "hang on inventory-1"
    assert fault_label(SCOPED) == "HTTP 503 [POST /payments*, baggage squall.g…"


def test_a_scoped_fault_window_shows_its_scope(tmp_path: Path) -> None:
    journal = J.passed_run()
    ext = next(e for e in journal["extensions"] if e.get("name") == "squall")
    ext["fault_windows"][0]["description"] = SCOPED
    html = render(journal, tmp_path / "out")["html"]
    page = parse_html(html)
    assert SCOPED in page.text  # the fault windows table: the whole description
    text = html.read_text()
    assert ">HTTP 503 [POST /payments*, baggage squall.g…</text>" in text  # the charts' label
    assert "<title>HTTP 503 [POST /payments*, baggage squall.group=experiment] on payments" in text
