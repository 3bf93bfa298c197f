"""report.html: one self-contained page (inline CSS and SVG, no script, no fetches), from the model."""

from datetime import UTC, datetime
from pathlib import Path

import jinja2
from markupsafe import Markup, escape

from squall import __version__
from squall.outcome import shown
from squall.reporting import formatting as fmt
from squall.reporting import svg
from squall.reporting.records import Activity, Report
from squall.reporting.timeline import Bucket, SegmentStats

TEMPLATES = Path(__file__).parent / "templates"

_env = jinja2.Environment(
    loader=jinja2.FileSystemLoader(TEMPLATES),
    autoescape=True,  # every value from a journal is escaped; only our own SVG is marked safe
    trim_blocks=True,
    lstrip_blocks=True,
    undefined=jinja2.StrictUndefined,
)
_env.filters.update(
    duration=fmt.duration,
    clock=fmt.clock,
    date_time=fmt.date_time,
    percent=fmt.percent,
    number=fmt.number,
    score=shown,  # one way to print a score on every page (squall.outcome.shown)
    sparkline=svg.sparkline,
    swatch=svg.legend_swatch,
)

INLINE_OUTPUT_CHARS = 120
_CSS = Markup((TEMPLATES / "report.css").read_text(encoding="utf-8"))  # our own file, not journal data


def _charts(report: Report) -> dict[str, object]:
    tl = report.timeline
    t0 = min(x for x in (report.started, tl.start if tl else None) if x is not None) if (
        report.started is not None or tl) else None
    ends = [x for x in (report.ended, tl.end if tl else None) if x is not None]
    ends += [w.end for w in report.fault_windows if w.end is not None]
    ends += [e.t for e in report.stop_events if e.t is not None]
    t1 = max(ends) if ends else None
    charts: dict[str, object] = {"t0": t0}
    if t0 is None or t1 is None:
        return charts
    if report.phases or report.fault_windows or report.stop_events:
        charts["strip"] = svg.run_strip(report.phases, report.fault_windows, report.stop_events, t0, t1)
    if tl is not None:
        rates = [svg.Guide(o.value * 100, o.label, "slo" if o.kind == "slo" else "stop")
                 for o in report.objectives if o.metric == "success_rate"]
        latencies = [svg.Guide(o.value, o.label, "slo" if o.kind == "slo" else "stop")
                     for o in report.objectives if o.metric == "latency_ms"]
        charts["success"] = svg.chart(
            "success rate per time bucket", tl.buckets, lambda b: b.success_rate * 100,
            report.fault_windows, report.stop_events, t0, t1, y_max=100.0, y_format=lambda v: f"{v:g}%",
            guides=rates, join_s=tl.join_s, pauses=tl.pauses,
        )
        charts["p95"] = svg.chart(
            "p95 latency per time bucket", tl.buckets, lambda b: b.p95_ms,
            report.fault_windows, report.stop_events, t0, t1, y_format=lambda v: f"{v:g} ms",
            guides=latencies, join_s=tl.join_s, capped=lambda b: b.capped,
            cap_label=lambda target: cap_label(tl.timeout_ms.get(target)), pauses=tl.pauses,
        )
    if report.load is not None and report.load.groups:
        _load_charts(report, charts, t0, t1)
    return charts


def _load_charts(report: Report, charts: dict[str, object], t0: float, t1: float) -> None:
    """Control and experiment per second, each with its 95% interval (squall.load)."""
    assert report.load is not None
    groups = report.load.groups
    series = {g: [Bucket(s.t0, s.t0 + 1.0, s.requests, s.success_rate, s.p95_ms) for s in seconds]
              for g, seconds in groups.items()}
    success = {g: [(s.t0 + 0.5, s.success_low * 100, s.success_high * 100) for s in seconds]
               for g, seconds in groups.items()}
    p95 = {g: [(s.t0 + 0.5, s.p95_low, s.p95_high) for s in seconds if s.p95_low is not None and s.p95_high is not None]
           for g, seconds in groups.items()}
    charts["load_success"] = svg.chart(
        "load: success rate per second, per group, with 95% intervals", series, lambda b: b.success_rate * 100,
        report.fault_windows, report.stop_events, t0, t1, y_max=100.0, y_format=lambda v: f"{v:g}%",
        bands=success,
    )
    charts["load_p95"] = svg.chart(
        "load: p95 latency per second, per group, with 95% intervals", series, lambda b: b.p95_ms,
        report.fault_windows, report.stop_events, t0, t1, y_format=lambda v: f"{v:g} ms",
        bands={g: [(t, lo, hi) for t, lo, hi in band if lo is not None and hi is not None] for g, band in p95.items()},
    )


def cap_label(timeout_ms: float | None) -> str:
    """How a latency cut short by the sampler's timeout is labelled."""
    return f"≥ {fmt.number(timeout_ms)} ms: the sampler's timeout" if timeout_ms else "≥ the sampler's timeout"


def latency(stats: SegmentStats, value_ms: float | None) -> str:
    """A segment's latency in ms, marked ``≥`` when the sampler's timeout cut it (a lower bound)."""
    if value_ms is None:
        return "—"
    if stats.is_lower_bound(value_ms):
        return f"≥ {fmt.number(value_ms)} ms"
    return f"{fmt.number(value_ms)} ms"


def activity_rows(items: list[Activity], t0: float | None) -> Markup:
    """The table rows of activities (built here, not in the template: a long run has 10,000 of them)."""
    out = []
    for a in items:
        css = "bad" if a.status == "failed" else ("unknown" if a.status in ("did not finish", "inconclusive") else "")
        cell = ""
        if a.error:
            cell = f'<div class="error">{escape(a.error)}</div>'
            if a.traceback:
                cell += f"<details><summary>traceback</summary><pre>{escape(a.traceback)}</pre></details>"
        if a.output:
            if a.output_lines == 1 and len(a.output) <= INLINE_OUTPUT_CHARS:
                cell += f"<code>{escape(a.output)}</code>"
            else:
                lines = f"{a.output_lines} line{'' if a.output_lines == 1 else 's'}"
                cell += f"<details><summary>output · {lines}</summary><pre>{escape(a.output)}</pre></details>"
        out.append(
            f'<tr class="{css}"><td>{escape(a.name)}<div class="fine">{escape(a.type)}{f" · {escape(a.role)}" if a.role else ""}</div></td>'
            f"<td><code>{escape(a.provider)}</code></td><td>{escape(a.status)}</td>"
            f'<td class="num">{fmt.offset(a.start, t0)}</td><td class="num">{fmt.duration(a.duration_s)}</td>'
            f'<td class="out">{cell}</td></tr>'
        )
    return Markup("\n".join(out))


def render_html(report: Report) -> str:
    """The report page as a string."""
    template = _env.get_template("report.html.j2")
    return template.render(
        r=report,
        charts=_charts(report),
        defs=svg.DEFS,
        css=_CSS,
        squall_version=__version__,
        generated=datetime.now(UTC).strftime("%Y-%m-%d %H:%M:%S UTC"),
        started_iso=(
            datetime.fromtimestamp(report.started, UTC).isoformat() if report.started is not None else ""
        ),
        offset=fmt.offset,
        activity_rows=activity_rows,
        latency=latency,
    )
