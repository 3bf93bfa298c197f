"""Trace ids in a report: the run's trace in the header, and each evidence table's trace ids as links.

The run record's ``trace`` (written by the control with tracing on) names the
run's trace id and the ``trace_url_template`` of the team's trace viewer. Links
are plain ``<a href>``: only to http(s) URLs, only for well-formed trace ids,
every part escaped (a journal is untrusted input).
"""

import re
from collections.abc import Iterable, Mapping
from dataclasses import replace
from typing import Any

from markupsafe import Markup

from squall.reporting.records import Check, Evidence

_TRACE_ID = re.compile(r"^[0-9a-f]{32}$")
#: the evidence column (``fmt.label("trace_id")``) whose cells become links
TRACE_COLUMN = "trace id"


def trace_url(template: Any, trace_id: Any) -> str:
    """The viewer's URL of a trace ('' when the template or the id is not usable)."""
    if not isinstance(template, str) or not template.startswith(("http://", "https://")) or "{trace_id}" not in template:
        return ""
    if not isinstance(trace_id, str) or not _TRACE_ID.match(trace_id):
        return ""
    return template.replace("{trace_id}", trace_id)


def run_trace(record: Mapping[str, Any]) -> tuple[str, str, str]:
    """(trace id, its URL, the URL template) of the run record's ``trace`` ('' for what is missing)."""
    trace = record.get("trace")
    if not isinstance(trace, Mapping):
        return "", "", ""
    trace_id = str(trace.get("trace_id") or "")
    if not _TRACE_ID.match(trace_id):
        return "", "", ""
    template = trace.get("url_template")
    template = template if isinstance(template, str) and trace_url(template, trace_id) else ""
    return trace_id, trace_url(template, trace_id), template


def _link(template: str, cell: str) -> str:
    url = trace_url(template, cell)
    return Markup('<a href="{}">{}</a>').format(url, cell) if url else cell


def _linked(items: Iterable[Evidence], template: str) -> tuple[Evidence, ...]:
    out = []
    for e in items:
        if e.children:
            e = replace(e, children=_linked(e.children, template))
        elif TRACE_COLUMN in e.headers:
            col = e.headers.index(TRACE_COLUMN)
            e = replace(e, rows=tuple(tuple(_link(template, c) if i == col else c for i, c in enumerate(row))
                                      for row in e.rows))
        out.append(e)
    return tuple(out)


def link_traces(checks: list[Check], template: str) -> list[Check]:
    """The checks with every evidence table's trace ids as links to the viewer (unchanged without a template)."""
    if not template:
        return checks
    return [replace(c, evidence=_linked(c.evidence, template)) if c.evidence else c for c in checks]
