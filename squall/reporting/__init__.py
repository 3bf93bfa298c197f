"""Reports of a run: ``report.html`` (self-contained), ``junit.xml`` and ``summary.md``.

``render(journal, out_dir)`` is what the control calls when a run ends and
what ``squall report`` calls for a journal on disk. ``model.build`` is the one
place that reads journals; the writers read only the model.
"""

import os
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from squall.errors import ReportError
from squall.reporting.html import render_html
from squall.reporting.junit import render_junit
from squall.reporting.markdown import render_markdown
from squall.reporting.model import build
from squall.reporting.records import Report
from squall.reporting.textsafe import safe_utf8

__all__ = ["FILES", "Report", "build", "render", "write"]

#: artifact key -> file name inside the report folder
FILES = {"html": "report.html", "junit": "junit.xml", "markdown": "summary.md"}

STEP_SUMMARY_ENV = "GITHUB_STEP_SUMMARY"


def render(journal: dict[str, Any], out_dir: Path, mask_patterns: Iterable[str] = ()) -> dict[str, Path]:
    """Write report.html, junit.xml and summary.md for a journal into out_dir; return their paths."""
    return write(build(journal, extra_patterns=mask_patterns), out_dir)


def write(report: Report, out_dir: Path) -> dict[str, Path]:
    """Write the three artifacts of a report model into out_dir; return their paths."""
    out_dir = Path(out_dir)
    paths = {key: out_dir / name for key, name in FILES.items()}
    markdown = safe_utf8(render_markdown(report, FILES["html"]))
    summary = markdown.decode("utf-8")
    contents: dict[str, bytes] = {
        "html": safe_utf8(render_html(report)),  # a journal's lone surrogates cannot be UTF-8
        "junit": render_junit(report),
        "markdown": markdown,
    }
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
        for key, path in paths.items():
            tmp = path.with_name(f".{path.name}.tmp")
            tmp.write_bytes(contents[key])
            tmp.replace(path)  # a reader never sees half a report
    except OSError as exc:
        raise ReportError(f'cannot write the report into "{out_dir}": {exc.strerror or exc}') from exc
    step_summary = os.environ.get(STEP_SUMMARY_ENV)
    if step_summary:
        try:
            with open(step_summary, "a", encoding="utf-8") as fh:
                fh.write(summary + "\n")
        except OSError as exc:
            raise ReportError(
                f'cannot append the summary to ${STEP_SUMMARY_ENV} ("{step_summary}"): {exc.strerror or exc}'
            ) from exc
    return paths
