"""Trace ids in the report: the run's trace in the header, evidence trace ids as links, everything escaped."""

import time
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

from squall.reporting import render

RUN_TRACE = "0af7651916cd43dd8448eb211c80319c"
CALL_TRACE = "4bf92f3577b34da6a3ce929d0e0e4736"
TEMPLATE = "https://tempo.example/explore?trace={trace_id}&x=1"


class _Links(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.hrefs: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "a":
            self.hrefs += [v or "" for k, v in attrs if k == "href"]


def _journal(trace: Any, call_traces: list[str]) -> dict[str, Any]:
    t = time.time() - 60
    attempts = [[{"ts": t + i, "status": 503, "duration_ms": 2.0, "injected": True, "error": None, "trace_id": tid}]
                for i, tid in enumerate(call_traces)]
    ext: dict[str, Any] = {
        "name": "squall", "run_id": "r-123", "verdict": "failed", "reason": 'verifier "retries" failed: no retry',
        "started": t, "ended": t + 10,
        "checks": [{"name": "retries", "kind": "verifier", "ok": False, "verdict": "failed", "summary": "no retry",
                    "evidence": {"requests": len(call_traces), "attempt_events": attempts}, "start": t, "end": t + 5}],
    }
    if trace is not None:
        ext["trace"] = trace
    return {"experiment": {"title": "checkout drill", "description": "", "method": []}, "status": "failed",
            "start": "2026-01-01T00:00:00", "end": "2026-01-01T00:00:10", "run": [], "extensions": [ext]}


def _html(journal: dict[str, Any], tmp_path: Path) -> tuple[str, list[str]]:
    html = render(journal, tmp_path / "out")["html"].read_text()
    links = _Links()
    links.feed(html)
    return html, links.hrefs


def test_the_header_and_the_evidence_link_to_the_trace_viewer(tmp_path: Path) -> None:
    trace = {"trace_id": RUN_TRACE, "url": TEMPLATE.format(trace_id=RUN_TRACE), "url_template": TEMPLATE}
    html, hrefs = _html(_journal(trace, [CALL_TRACE]), tmp_path)
    assert TEMPLATE.format(trace_id=RUN_TRACE) in hrefs
    assert TEMPLATE.format(trace_id=CALL_TRACE) in hrefs
    assert "&amp;x=1" in html  # the & of the URL is escaped in the attribute
    assert "trace <a href" in html


def test_without_a_template_trace_ids_are_shown_but_not_linked(tmp_path: Path) -> None:
    html, hrefs = _html(_journal({"trace_id": RUN_TRACE, "url": None, "url_template": None}, [CALL_TRACE]), tmp_path)
    assert RUN_TRACE in html and CALL_TRACE in html
    assert not [h for h in hrefs if RUN_TRACE in h or CALL_TRACE in h]


def test_a_tampered_journal_cannot_inject_markup_or_a_script_link(tmp_path: Path) -> None:
    evil = '"><script>alert(1)</script>'
    trace = {"trace_id": RUN_TRACE, "url_template": 'https://x.example/"><b>{trace_id}'}
    html, hrefs = _html(_journal(trace, [CALL_TRACE, evil]), tmp_path)
    assert "<script>alert(1)" not in html and "<b>" not in html
    assert "&lt;script&gt;" in html  # shown, as text
    assert not [h for h in hrefs if "script" in h]
    # a javascript: template never becomes a link
    trace = {"trace_id": RUN_TRACE, "url_template": "javascript:alert('{trace_id}')"}
    _, hrefs = _html(_journal(trace, [CALL_TRACE]), tmp_path / "js")
    assert not [h for h in hrefs if h.startswith("javascript")]


def test_a_journal_without_tracing_shows_no_trace(tmp_path: Path) -> None:
    html, _ = _html(_journal(None, []), tmp_path)
    assert "· trace" not in html
