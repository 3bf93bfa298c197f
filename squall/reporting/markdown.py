"""summary.md: a short verdict table for a CI job page (GitHub's step summary and the like)."""

import re

from squall.outcome import shown
from squall.reporting import formatting as fmt
from squall.reporting.records import CheckKind, Report, Verdict

ICONS = {Verdict.PASSED: "✅", Verdict.FAILED: "❌", Verdict.ABORTED: "⛔", Verdict.INCONCLUSIVE: "❔"}
MAX_ROWS = 50

_SPECIAL = re.compile(r"([\\`*_\[\]|<>#])")


def md(text: str, limit: int = 300) -> str:
    """Text safe inside a Markdown table cell: one line, markup characters escaped."""
    text = " ".join(str(text).split())
    if len(text) > limit:
        text = text[: limit - 1] + "…"
    return _SPECIAL.sub(r"\\\1", text).replace("&", "&amp;")


def _result(ok: bool | None, verifier: bool) -> str:
    if ok:
        return "✅ passed" if verifier else "✅ held"
    return "❌ failed" if ok is False else ("❔ inconclusive" if verifier else "❔ unknown")


def render_markdown(report: Report, html_name: str = "report.html") -> str:
    """The Markdown summary of one run."""
    lines = [
        f"### {ICONS[report.verdict]} {report.verdict.value.upper()}{' (fragile)' if report.fragile else ''}: "
        f"{md(report.title, 120)}",
        "",
        f"> {md(report.reason[:1].upper() + report.reason[1:], 500)}",
        "",
    ]
    facts = [f"took {fmt.duration(report.duration_s)}" if report.duration_s is not None
             else "duration unknown (no end recorded)"]
    if report.score is not None:
        facts.insert(0, f"resilience score **{shown(report.score)}**/100")
    if report.fault_windows:
        facts.append(f"{len(report.fault_windows)} fault(s) injected")
    if report.stop_events:
        facts.append(f"{len(report.stop_events)} stop event(s)")
    if report.run_id:
        facts.append(f"run `{report.run_id.replace('`', '')}`")
    lines += [" · ".join(facts), ""]
    checks = report.checks
    if checks:
        lines += ["| check | when | result | detail |", "|---|---|---|---|"]
        for c in checks[:MAX_ROWS]:
            verifier = c.kind is CheckKind.VERIFIER
            detail = c.summary if verifier else (
                f"measured {c.value}, expected {c.tolerance}" if not c.error else c.error)
            lines.append(f"| {md(c.name, 80)} | {c.kind.value} | {_result(c.ok, verifier)} | {md(detail)} |")
        if len(checks) > MAX_ROWS:
            lines.append(f"| … {len(checks) - MAX_ROWS} more | | | see {html_name} |")
        lines.append("")
    failed = [a for a in report.activities if a.status == "failed"]
    if failed:
        lines.append(f"{len(failed)} of {len(report.activities)} activities failed, first: "
                     f"**{md(failed[0].name, 80)}**: {md(failed[0].error or 'no message')}")
        lines.append("")
    not_removed = [c for c in report.cleanup if not c.removed]
    if not_removed:
        lines.append(f"⚠️ {len(not_removed)} fault(s) could not be removed: "
                     + "; ".join(md(c.description, 100) for c in not_removed[:5]))
        lines.append("")
    lines.append(f"Full report: `{html_name}`")
    return "\n".join(lines) + "\n"
