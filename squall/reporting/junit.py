"""junit.xml: one testcase per steady-state check and verifier, plus one for the run's verdict.

The shape is the common denominator of CI parsers (Jenkins, GitLab, GitHub
actions that read JUnit): ``<testsuites><testsuite><testcase classname name
time>`` with ``<failure message type>`` / ``<error>`` / ``<skipped>`` children.
"""

import xml.etree.ElementTree as ET
from datetime import UTC, datetime

from squall.outcome import shown
from squall.reporting.records import Check, CheckKind, Report, Verdict
from squall.reporting.textsafe import safe_text

_DECLARATION = "<?xml version='1.0' encoding='utf-8'?>\n"


def _clean(text: str) -> str:
    return safe_text(text)  # XML 1.0 cannot carry control bytes, lone surrogates, U+FFFE or U+FFFF


def _seconds(value: float | None) -> str:
    return f"{max(value or 0.0, 0.0):.3f}"


def _case_name(check: Check) -> str:
    return f"{check.kind.value}: {check.name}"


def _add_check(suite: ET.Element, classname: str, check: Check) -> str:
    case = ET.SubElement(
        suite, "testcase", classname=classname, name=_clean(_case_name(check)), time=_seconds(check.duration_s)
    )
    if check.kind is CheckKind.VERIFIER:
        detail = [check.summary]
    else:
        detail = [f"expected: {check.tolerance}", f"measured: {check.value}", check.error]
    for e in check.evidence:
        if e.text and not e.children and not e.headers:
            detail.append(f"{e.label}: {e.text}")
    text = _clean("\n".join(d for d in detail if d))
    if check.ok is False:
        message = check.error or check.summary or "check failed"
        ET.SubElement(case, "failure", message=_clean(message), type=check.kind.name.lower()).text = text
        return "failure"
    if check.ok is None:
        ET.SubElement(case, "skipped", message=_clean(check.summary or "no result recorded"))
        return "skipped"
    ET.SubElement(case, "system-out").text = text
    return "ok"


def render_junit(report: Report) -> bytes:
    """The JUnit XML document as UTF-8 bytes."""
    classname = report.slug
    root = ET.Element("testsuites", name="squall")
    suite = ET.SubElement(root, "testsuite", name=_clean(report.title))
    counts = {"failure": 0, "error": 0, "skipped": 0, "ok": 0}
    for check in report.checks:
        counts[_add_check(suite, classname, check)] += 1
    verdict_case = ET.SubElement(
        suite, "testcase", classname=classname, name=_clean(f"verdict: {report.title}"),
        time=_seconds(report.duration_s),
    )
    reason = _clean(report.reason)
    if report.verdict is Verdict.PASSED:
        ET.SubElement(verdict_case, "system-out").text = reason
        counts["ok"] += 1
    elif report.verdict is Verdict.INCONCLUSIVE:
        ET.SubElement(verdict_case, "error", message=reason, type="inconclusive").text = reason
        counts["error"] += 1
    else:
        ET.SubElement(verdict_case, "failure", message=reason, type=report.verdict.value).text = reason
        counts["failure"] += 1
    total = sum(counts.values())
    attrs = {
        "tests": str(total),
        "failures": str(counts["failure"]),
        "errors": str(counts["error"]),
        "skipped": str(counts["skipped"]),
        "time": _seconds(report.duration_s),
    }
    for key, value in attrs.items():
        suite.set(key, value)
        root.set(key, value)
    if report.started is not None:
        suite.set("timestamp", datetime.fromtimestamp(report.started, UTC).strftime("%Y-%m-%dT%H:%M:%S"))
    props = ET.Element("properties")
    for name, value in [("verdict", report.verdict.value), ("run_id", report.run_id),
                        ("score", "" if report.score is None else shown(report.score))]:
        if value:
            ET.SubElement(props, "property", name=name, value=_clean(value))
    suite.insert(0, props)
    ET.indent(root)
    # Serialised as text and cleaned as a whole, so no attribute or text can carry an XML-illegal code point.
    return (_DECLARATION + safe_text(ET.tostring(root, encoding="unicode"))).encode("utf-8")
