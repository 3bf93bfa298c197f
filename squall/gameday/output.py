"""A game day as Markdown (for a CI job page) and as JUnit XML (for CI test reports)."""

import xml.etree.ElementTree as ET
from pathlib import Path

from squall.gameday.decide import required_names
from squall.gameday.model import GameDayResult
from squall.outcome import points_lost, shown
from squall.reporting.formatting import duration

_MARK = {"passed": "✅", "failed": "❌", "aborted": "🛑", "inconclusive": "❔", "invalid": "⚠️", "interrupted": "⏹️"}


def _md(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def _score(score: float | None) -> str:
    return shown(score)


def _shown(path: Path) -> str:
    """A path relative to the working directory when it is below it (what a CI log can link)."""
    try:
        return str(path.resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(path)


def summary_markdown(result: GameDayResult) -> str:
    """The Markdown summary: verdict, score, a row per experiment, what cost points, what changed."""
    lines = [
        f"## {_MARK.get(result.verdict, '')} squall game day `{_md(result.suite)}`: {result.verdict} (exit {int(result.exit_code)})"
        + (" — fragile" if result.fragile else ""),
        "",
        f"**Resilience score:** {_score(result.score)}"
        + (f" (minimum {result.min_score:g})" if result.min_score is not None else ""),
        "",
    ]
    if result.fragile:
        lines += ["**Fragile run** (`squall demo --fragile`): the service's resilience mechanisms were switched off; "
                  "it is not a baseline for later game days.", ""]
    lines += [f"- {_md(r)}" for r in result.reasons]
    lines += ["", f"Reports: `{_shown(result.run_dir)}` (open `index.html`)"]
    if result.problems:
        lines += ["", "### Problems (nothing was run or injected)", ""]
        lines += [f"- {_md(p)}" for p in result.problems]
    if result.experiments:
        required = required_names([(e.name, e.required) for e in result.experiments], result.min_score)
        lines += ["", "| experiment | verdict | score | weight | required | time | reason |", "|---|---|---:|---:|---|---:|---|"]
        for e in result.experiments:
            lines.append(
                f"| {_md(e.name)} | {_MARK.get(e.verdict, '')} {e.verdict} | {_score(e.score)} | {e.weight:g} | "
                f"{'yes' if e.name in required else 'no'} | {duration(e.duration_s)} | {_md(e.reason)} |"
            )
        total_weight = sum(e.weight for e in result.experiments if e.score is not None)
        lost = [
            p for e in result.experiments for p in points_lost(e.name, e.verdict, e.checks, e.weight, total_weight)
        ]
        if lost:
            lines += ["", "### What cost points", ""]
            lines += [f"- {_md(p.experiment)}: {_md(p.what)} — {p.points:.1f} points" for p in lost]
    changed = [c for c in result.changes if c.verdict_before is not None and (c.verdict_changed or c.score_delta)]
    if changed:
        lines += ["", "### Changed since the last game day", ""]
        for c in changed:
            delta = "" if c.score_delta is None else f" (score {c.score_delta:+.1f})"
            lines.append(f"- {_md(c.experiment)}: {c.verdict_before} → {c.verdict_now}{delta}")
    return "\n".join(lines) + "\n"


def junit_xml(result: GameDayResult) -> bytes:
    """JUnit XML: a testsuite per experiment, a testcase for its verdict and one per check."""
    root = ET.Element("testsuites", name=f"squall game day {result.suite}", time=f"{result.duration_s:.3f}")
    if result.problems:
        suite = ET.SubElement(root, "testsuite", name="validation", tests="1", failures="0", errors="1")
        case = ET.SubElement(suite, "testcase", classname="squall.validate", name=result.suite)
        ET.SubElement(case, "error", message="invalid input", type="invalid").text = "\n".join(result.problems)
    for e in result.experiments:
        suite = ET.SubElement(root, "testsuite", name=e.name, time=f"{e.duration_s:.3f}")
        cls = f"squall.{result.suite}.{e.name}"
        failures = errors = skipped = 0
        case = ET.SubElement(suite, "testcase", classname=cls, name="verdict", time=f"{e.duration_s:.3f}")
        if e.verdict == "failed":
            failures += 1
            ET.SubElement(case, "failure", message=e.reason, type="failed")
        elif e.verdict == "aborted":
            errors += 1
            ET.SubElement(case, "error", message=e.reason, type="aborted")
        elif e.verdict == "inconclusive":
            errors += 1
            ET.SubElement(case, "error", message=e.reason, type="inconclusive")
        for check in e.checks:
            c = ET.SubElement(suite, "testcase", classname=cls, name=f"{check.kind}: {check.name}")
            if not check.ok:
                failures += 1
                ET.SubElement(c, "failure", message=check.summary or "check failed", type=check.kind)
        report = e.report_paths.get("html")
        if report is not None:
            ET.SubElement(case, "system-out").text = f"report: {report}"
        suite.set("tests", str(1 + len(e.checks)))
        suite.set("failures", str(failures))
        suite.set("errors", str(errors))
        suite.set("skipped", str(skipped))
    ET.indent(root)
    body: bytes = ET.tostring(root, encoding="utf-8")
    return b'<?xml version="1.0" encoding="UTF-8"?>\n' + body


def write_outputs(result: GameDayResult, junit_path: Path | None = None) -> None:
    """Write summary.md and junit.xml into the run folder (and the JUnit copy the caller asked for)."""
    result.run_dir.mkdir(parents=True, exist_ok=True)
    result.summary_md = summary_markdown(result)
    result.summary_path = result.run_dir / "summary.md"
    result.summary_path.write_text(result.summary_md, encoding="utf-8")
    data = junit_xml(result)
    result.junit_path = result.run_dir / "junit.xml"
    result.junit_path.write_bytes(data)
    if junit_path is not None:
        junit_path.parent.mkdir(parents=True, exist_ok=True)
        junit_path.write_bytes(data)
