"""Inline SVG charts: SLI timelines with fault windows and stop events, a run strip, sparklines.

Every text placed in SVG is escaped here (the charts are marked safe for the
template). Colours are the Okabe-Ito palette, which stays distinct for the
common forms of colour blindness; lines also differ by dash pattern.
"""

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Literal

from markupsafe import Markup, escape

from squall.reporting import formatting as fmt
from squall.reporting.records import FaultWindow, Phase, StopEvent
from squall.reporting.svg_labels import STRIP_LANES, Boxes, fault_label, label_width, place_labels
from squall.reporting.timeline import Bucket

PALETTE = ("#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00", "#000000")
DASHES = ("", "6 3", "2 2", "8 3 2 3", "4 4", "1 3", "10 2")
FAULT = "#D55E00"
STOP = "#882255"
W, H = 960, 230
LEFT, RIGHT, TOP, BOTTOM = 64, 16, 22, 34


def _nice_step(span: float, target_ticks: int = 8) -> float:
    raw = max(span, 1e-9) / target_ticks
    power = 10.0 ** math.floor(math.log10(raw))
    for m in (1.0, 2.0, 2.5, 5.0, 10.0):
        if raw <= m * power:
            return m * power
    return 10.0 * power


def _x_ticks(t0: float, t1: float, x: Callable[[float], float]) -> str:
    span = t1 - t0
    unit, name = (3600.0, "h") if span >= 7200 else ((60.0, "min") if span >= 120 else (1.0, "s"))
    step = _nice_step(span / unit) * unit
    parts = []
    k = 0
    while k * step <= span + 1e-9 and k < 200:
        px = x(t0 + k * step)
        anchor = "end" if px > W - RIGHT - 20 else "middle"
        parts.append(
            f'<line x1="{px:.1f}" x2="{px:.1f}" y1="{H - BOTTOM}" y2="{H - BOTTOM + 4}" class="axis"/>'
            f'<text x="{px:.1f}" y="{H - BOTTOM + 16}" text-anchor="{anchor}">{k * step / unit:g} {name}</text>'
        )
        k += 1
    return "".join(parts)


@dataclass(frozen=True)
class Guide:
    """A horizontal reference line on a chart: an SLO target or a stop condition's threshold."""

    value: float
    label: str
    kind: Literal["slo", "stop"]


def _overlays(
    windows: Sequence[FaultWindow], stops: Sequence[StopEvent], t0: float, t1: float,
    x: Callable[[float], float], top: float, bottom: float, label_rows: int = 3, boxes: Boxes | None = None,
) -> tuple[str, str]:
    """Fault shading (drawn under the lines), fault labels and stop markers (drawn over them)."""
    under, over = [], []
    shown = [w for w in windows if w.start is not None]
    spans = [(x(max(w.start or t0, t0)), x(min(w.end if w.end is not None else t1, t1)), fault_label(w.description))
             for w in shown]
    for w, (a, b, text), place in zip(shown, spans, place_labels(spans, label_rows, W - RIGHT), strict=True):
        under.append(
            f'<g class="fault"><title>{escape(w.description)}</title><rect x="{a:.1f}" y="{top}" '
            f'width="{max(b - a, 1.5):.1f}" height="{bottom - top}" fill="url(#sq-hatch)" stroke="{FAULT}" '
            f'stroke-opacity="0.5"/></g>'
        )
        if place is not None:
            row, lx = place
            if boxes is not None:
                boxes.fits(lx, top + 11 + 12 * row, text)
            over.append(f'<text x="{lx:.1f}" y="{top + 11 + 12 * row}" class="fault-label">{escape(text)}</text>')
    for e in stops:
        if e.t is None:
            continue
        px = x(min(max(e.t, t0), t1))
        label = escape(f"stop: {e.condition} — {e.reason}")
        over.append(
            f'<g><title>{label}</title><line x1="{px:.1f}" x2="{px:.1f}" y1="{top}" y2="{bottom}" '
            f'stroke="{STOP}" stroke-width="2" stroke-dasharray="5 3"/>'
            f'<path d="M{px - 6:.1f},{top - 8} h12 l-6,8 z" fill="{STOP}"/>'
            f'<text x="{px + 8:.1f}" y="{top - 1}" class="stop-label">stop</text></g>'
        )
    return "".join(under), "".join(over)


DEFS = Markup(
    '<svg width="0" height="0" style="position:absolute" aria-hidden="true" '
    'xmlns="http://www.w3.org/2000/svg"><defs><pattern id="sq-hatch" width="6" height="6" patternUnits="userSpaceOnUse" '
    'patternTransform="rotate(45)"><rect width="6" height="6" fill="#D55E00" fill-opacity="0.10"/>'
    '<line x1="0" y1="0" x2="0" y2="6" stroke="#D55E00" stroke-opacity="0.35" stroke-width="2"/>'
    "</pattern></defs></svg>"
)
"""Shared SVG definitions (the fault hatch), placed once at the top of the page."""


MARK_ALL = 40  # up to this many points per target every point gets a marker; beyond, only isolated ones do
SLO_COLOUR = "#117733"


def _guides(guides: Sequence[Guide], y: Callable[[float], float], boxes: Boxes) -> str:
    parts = []
    for g in guides:
        py = y(g.value)
        colour, dash = (SLO_COLOUR, "6 4") if g.kind == "slo" else (STOP, "2 3")
        text = escape(g.label)
        parts.append(
            f'<g class="guide {g.kind}"><title>{text}</title><line x1="{LEFT}" x2="{W - RIGHT}" y1="{py:.1f}" '
            f'y2="{py:.1f}" stroke="{colour}" stroke-width="1.3" stroke-dasharray="{dash}"/></g>'
        )
        right = W - RIGHT - 4 - label_width(g.label)
        spots = [(right - k * 60.0, py + dy) for k in range(8) for dy in (-4.0, 12.0)]
        spot = next(((lx, ly) for lx, ly in spots if lx >= LEFT + 4 and TOP + 8 <= ly <= H - BOTTOM - 2
                     and boxes.fits(lx, ly, g.label)), None)
        if spot is not None:
            parts.append(f'<text x="{spot[0]:.1f}" y="{spot[1]:.1f}" class="guide-label {g.kind}-label">{text}</text>')
    return "".join(parts)


def chart(
    title: str,
    series: dict[str, list[Bucket]],
    metric: Callable[[Bucket], float | None],
    windows: Sequence[FaultWindow],
    stops: Sequence[StopEvent],
    t0: float,
    t1: float,
    y_max: float | None = None,
    y_format: Callable[[float], str] = lambda v: f"{v:g}",
    *,
    guides: Sequence[Guide] = (),
    join_s: Mapping[str, float] | None = None,
    capped: Callable[[Bucket], bool] | None = None,
    cap_label: Callable[[str], str] | None = None,
    pauses: Sequence[tuple[float, float, str]] = (),
    bands: Mapping[str, Sequence[tuple[float, float, float]]] | None = None,
) -> Markup:
    """A line chart of one metric per target over the run: every bucket visible as a point or a line,
    fault windows shaded and named, stop events marked, SLO targets and stop thresholds drawn, and
    values the sampler's timeout cut short (``capped``) marked as lower bounds (``cap_label(target)``);
    ``bands``: per target, ``(t, low, high)`` intervals shaded in the target's colour under its line."""
    t1 = max(t1, t0 + 1e-6)
    values = [v for bs in series.values() for b in bs if (v := metric(b)) is not None]
    values += [g.value for g in guides]
    values += [high for band in (bands or {}).values() for _, _, high in band]
    top_value = y_max if y_max is not None else max(max(values, default=0.0) * 1.08, 1e-6)
    y_step = _nice_step(top_value, 5)
    if y_max is None:
        top_value = math.ceil(top_value / y_step - 1e-9) * y_step
    plot_w, plot_h = W - LEFT - RIGHT, H - TOP - BOTTOM

    def x(t: float) -> float:
        return LEFT + (t - t0) / (t1 - t0) * plot_w

    def y(v: float) -> float:
        return TOP + plot_h - min(max(v / top_value, 0.0), 1.0) * plot_h

    grid = []
    for k in range(round(top_value / y_step) + 1):
        v = k * y_step
        py = y(v)
        grid.append(
            f'<line x1="{LEFT}" x2="{W - RIGHT}" y1="{py:.1f}" y2="{py:.1f}" class="grid"/>'
            f'<text x="{LEFT - 6}" y="{py + 4:.1f}" text-anchor="end">{escape(y_format(v))}</text>'
        )
    boxes = Boxes()
    under, over = _overlays(windows, stops, t0, t1, x, TOP, H - BOTTOM, boxes=boxes)
    under += "".join(  # sampling held by a verifier: no samples there, on purpose
        f'<g class="pause"><title>{escape(f"SLI sampling paused: {why}")}</title><rect x="{x(max(a, t0)):.1f}" '
        f'y="{TOP}" width="{max(x(min(b, t1)) - x(max(a, t0)), 1.5):.1f}" height="{H - BOTTOM - TOP}" '
        f'fill="#777" fill-opacity="0.14"/></g>' for a, b, why in pauses if b >= t0 and a <= t1)
    names = list(series)
    for target, band in (bands or {}).items():
        if target in names and len(band) > 1:
            colour = PALETTE[names.index(target) % len(PALETTE)]
            upper = " ".join(f"{x(t):.1f},{y(high):.1f}" for t, _, high in band)
            lower = " ".join(f"{x(t):.1f},{y(low):.1f}" for t, low, _ in reversed(band))
            under += (f'<polygon class="band" points="{upper} {lower}" fill="{colour}" fill-opacity="0.16">'
                      f"<title>{escape(target)}: 95% interval</title></polygon>")
    lines, marks = [], []
    for i, (target, buckets) in enumerate(series.items()):
        colour, dash = PALETTE[i % len(PALETTE)], DASHES[i % len(DASHES)]
        join = (join_s or {}).get(target, 0.0)
        points: list[tuple[float, float, bool, bool]] = []  # x, y, joined to the previous, capped
        prev: Bucket | None = None
        for b in buckets:
            v = metric(b)
            if v is None:
                prev = None
                continue
            joined = prev is not None and b.t0 - prev.t1 <= max(join, (b.t1 - b.t0) * 1.5)
            points.append((x((b.t0 + b.t1) / 2), y(v), joined, capped is not None and capped(b)))
            prev = b
        d = " ".join(f"{'L' if j else 'M'}{px:.1f},{py:.1f}" for px, py, j, _ in points)
        if d:
            dash_attr = f' stroke-dasharray="{dash}"' if dash else ""
            lines.append(
                f'<path d="{d}" fill="none" stroke="{colour}" stroke-width="1.8"'
                f' stroke-linejoin="round"{dash_attr}><title>{escape(target)}</title></path>'
            )
        dots, tris, first_cap = [], [], None
        for k, (px, py, joined, cap) in enumerate(points):
            alone = not joined and (k + 1 == len(points) or not points[k + 1][2])
            if cap:
                tris.append(f"M{px - 3.5:.1f},{py + 3:.1f} L{px:.1f},{py - 4:.1f} L{px + 3.5:.1f},{py + 3:.1f} Z")
                first_cap = first_cap or (px, py)
            elif alone or len(points) <= MARK_ALL:
                dots.append(f"M{px - 2.4:.1f},{py:.1f} a2.4,2.4 0 1,0 4.8,0 a2.4,2.4 0 1,0 -4.8,0")
        if dots:
            marks.append(f'<path class="point" d="{" ".join(dots)}" fill="{colour}"><title>{escape(target)}</title></path>')
        if tris:
            what = cap_label(target) if cap_label else "≥ timeout"
            marks.append(f'<path class="capped" d="{" ".join(tris)}" fill="#fff" stroke="{colour}" stroke-width="1.4">'
                         f"<title>{escape(target)}: {escape(what)}</title></path>")
        if first_cap is not None:
            what = cap_label(target) if cap_label else "≥ timeout"
            lx = min(first_cap[0] + 6, W - RIGHT - label_width(what))
            for ly in (first_cap[1] + 16, first_cap[1] - 8, first_cap[1] + 30):
                if TOP + 8 <= ly <= H - BOTTOM - 2 and boxes.fits(lx, ly, what):
                    marks.append(f'<text x="{lx:.1f}" y="{ly:.1f}" class="cap-label">{escape(what)}</text>')
                    break
    return Markup(
        f'<svg class="chart" viewBox="0 0 {W} {H}" role="img" aria-label="{escape(title)}" '
        f'xmlns="http://www.w3.org/2000/svg"><title>{escape(title)}</title>'
        f'{"".join(grid)}{under}{_guides(guides, y, boxes)}{"".join(lines)}{"".join(marks)}{over}'
        f'<line x1="{LEFT}" x2="{W - RIGHT}" y1="{H - BOTTOM}" y2="{H - BOTTOM}" class="axis"/>'
        f"{_x_ticks(t0, t1, x)}</svg>"
    )


def legend_swatch(index: int) -> Markup:
    """A small line sample in a target's colour and dash, for the legend."""
    colour, dash = PALETTE[index % len(PALETTE)], DASHES[index % len(DASHES)]
    dash_attr = f' stroke-dasharray="{dash}"' if dash else ""
    return Markup(
        f'<svg width="28" height="10" viewBox="0 0 28 10" aria-hidden="true"><line x1="0" y1="5" '
        f'x2="28" y2="5" stroke="{colour}" stroke-width="2.5"{dash_attr}/></svg>'
    )


def run_strip(
    phases: Sequence[Phase], windows: Sequence[FaultWindow], stops: Sequence[StopEvent],
    t0: float, t1: float,
) -> Markup:
    """The run on one axis: its phases, the fault windows and stop events."""
    t1 = max(t1, t0 + 1e-6)
    plot_w = W - LEFT - RIGHT

    def x(t: float) -> float:
        return LEFT + (min(max(t, t0), t1) - t0) / (t1 - t0) * plot_w

    shades = ("#e8eef5", "#d6e2ee")
    parts = [f'<text x="{LEFT - 6}" y="26" text-anchor="end">phases</text>',
             f'<text x="{LEFT - 6}" y="56" text-anchor="end">faults</text>']
    for i, p in enumerate(phases):
        if p.start is None:
            continue
        a, b = x(p.start), x(p.end if p.end is not None else t1)
        parts.append(
            f'<g><title>{escape(p.name)}: {escape(fmt.duration((p.end or t1) - p.start))}</title>'
            f'<rect x="{a:.1f}" y="12" width="{max(b - a, 1):.1f}" height="20" fill="{shades[i % 2]}"/>'
            + (f'<text x="{a + 4:.1f}" y="26" class="phase-label">{escape(p.name)}</text>'
               if b - a > 7 * len(p.name) else "") + "</g>"
        )
    shown = [w for w in windows if w.start is not None]
    spans = [(x(w.start or t0), x(w.end if w.end is not None else t1), fault_label(w.description)) for w in shown]
    # Windows that overlap in time (or whose labels would) go on lanes of their own, each labelled.
    places = place_labels(spans, STRIP_LANES, W - RIGHT, keep_bars=True)
    lanes = max((p[0] + 1 for p in places if p is not None), default=1)
    for w, (a, b, label), place in zip(shown, spans, places, strict=True):
        lane = place[0] if place is not None else lanes - 1
        top = 42 + 22 * lane
        text = (f'<text x="{place[1]:.1f}" y="{top + 14}" class="fault-label">{escape(label)}</text>'
                if place is not None else "")
        parts.append(
            f'<g class="fault"><title>{escape(w.description)}</title><rect x="{a:.1f}" y="{top}" '
            f'width="{max(b - a, 2):.1f}" height="20" fill="url(#sq-hatch)" stroke="{FAULT}"/>{text}</g>'
        )
    axis = 42 + 22 * lanes + 6
    _, over = _overlays([], stops, t0, t1, x, 14, axis - 4)
    ticks = _x_ticks(t0, t1, x).replace(f'y1="{H - BOTTOM}"', f'y1="{axis}"').replace(
        f'y2="{H - BOTTOM + 4}"', f'y2="{axis + 4}"').replace(f'y="{H - BOTTOM + 16}"', f'y="{axis + 16}"')
    return Markup(
        f'<svg class="chart strip" viewBox="0 0 {W} {axis + 22}" role="img" aria-label="run overview" '
        f'xmlns="http://www.w3.org/2000/svg">{"".join(parts)}{over}'
        f'<line x1="{LEFT}" x2="{W - RIGHT}" y1="{axis}" y2="{axis}" class="axis"/>{ticks}</svg>'
    )


def sparkline(numbers: Sequence[float], width: int = 180, height: int = 28) -> Markup:
    """Bars for a short series of numbers (e.g. the gaps between retry attempts)."""
    values = [v for v in numbers if math.isfinite(v)]
    if len(values) < 2:
        return Markup("")
    top = max(max(values), 1e-9)
    bar = width / len(values)
    rects = "".join(
        f'<rect x="{i * bar + 0.5:.1f}" y="{height - max(v / top * height, 1):.1f}" '
        f'width="{max(bar - 1, 0.6):.1f}" height="{max(v / top * height, 1):.1f}"/>'
        for i, v in enumerate(values)
    )
    return Markup(
        f'<svg class="spark" width="{width}" height="{height}" viewBox="0 0 {width} {height}" '
        f'aria-hidden="true" xmlns="http://www.w3.org/2000/svg"><g fill="#0072B2">{rects}</g></svg>'
    )
