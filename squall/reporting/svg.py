"""Inline SVG charts: SLI timelines with fault windows and stop events, a run strip, sparklines.

Every text placed in SVG is escaped here (the charts are marked safe for the
template). Colours are the Okabe-Ito palette, which stays distinct for the
common forms of colour blindness; lines also differ by dash pattern.
"""

import math
from collections.abc import Callable, Sequence

from markupsafe import Markup, escape

from squall.reporting import formatting as fmt
from squall.reporting.records import FaultWindow, Phase, StopEvent
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


LABEL_W = 46.0  # px a "fault N" label needs before the next one may start on the same row


def _label_rows(starts: Sequence[float]) -> list[int]:
    """A row per label so that labels of windows starting close together do not overprint."""
    ends: list[float] = []
    rows = []
    for a in starts:
        row = next((r for r, end in enumerate(ends) if end <= a), len(ends))
        if row == len(ends):
            ends.append(0.0)
        ends[row] = a + LABEL_W
        rows.append(row)
    return rows


def _overlays(
    windows: Sequence[FaultWindow], stops: Sequence[StopEvent], t0: float, t1: float,
    x: Callable[[float], float], top: float, bottom: float,
) -> tuple[str, str]:
    """Fault shading (drawn under the lines) and stop markers (drawn over them)."""
    under, over = [], []
    shown = [(i, w) for i, w in enumerate(windows, 1) if w.start is not None]
    spans = [(x(max(w.start, t0)), x(min(w.end if w.end is not None else t1, t1)))
             for _, w in shown if w.start is not None]
    for (i, w), (a, b), row in zip(shown, spans, _label_rows([a for a, _ in spans]), strict=True):
        label = escape(f"fault {i}: {w.description}")
        under.append(
            f'<rect x="{a:.1f}" y="{top}" width="{max(b - a, 1.5):.1f}" height="{bottom - top}" '
            f'fill="url(#sq-hatch)" stroke="{FAULT}" stroke-opacity="0.5"><title>{label}</title></rect>'
            f'<text x="{a + 3:.1f}" y="{top + 11 + 11 * row}" class="fault-label">fault {i}</text>'
        )
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
) -> Markup:
    """A line chart of one metric per target over the run, fault windows shaded, stop events marked."""
    t1 = max(t1, t0 + 1e-6)
    values = [v for bs in series.values() for b in bs if (v := metric(b)) is not None]
    top_value = y_max if y_max is not None else max(max(values, default=0.0) * 1.05, 1e-6)
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
    under, over = _overlays(windows, stops, t0, t1, x, TOP, H - BOTTOM)
    lines = []
    for i, (target, buckets) in enumerate(series.items()):
        colour, dash = PALETTE[i % len(PALETTE)], DASHES[i % len(DASHES)]
        d, prev_t1 = [], None
        for b in buckets:
            v = metric(b)
            if v is None:
                prev_t1 = None
                continue
            gap = prev_t1 is None or b.t0 - prev_t1 > (b.t1 - b.t0) * 1.5
            d.append(f"{'M' if gap else 'L'}{x((b.t0 + b.t1) / 2):.1f},{y(v):.1f}")
            prev_t1 = b.t1
        if d:
            dash_attr = f' stroke-dasharray="{dash}"' if dash else ""
            lines.append(
                f'<path d="{" ".join(d)}" fill="none" stroke="{colour}" stroke-width="1.8"'
                f' stroke-linejoin="round"{dash_attr}><title>{escape(target)}</title></path>'
            )
    return Markup(
        f'<svg class="chart" viewBox="0 0 {W} {H}" role="img" aria-label="{escape(title)}" '
        f'xmlns="http://www.w3.org/2000/svg"><title>{escape(title)}</title>'
        f'{"".join(grid)}{under}{"".join(lines)}{over}'
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
    h = 92
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
    shown = [(i, w, x(w.start), x(w.end if w.end is not None else t1))
             for i, w in enumerate(windows, 1) if w.start is not None]
    for (i, w, a, b), row in zip(shown, _label_rows([a for _, _, a, _ in shown]), strict=True):
        # The strip has room for one row of labels; a crowded window keeps its tooltip.
        text = f'<text x="{a + 4:.1f}" y="56" class="fault-label">fault {i}</text>' if row == 0 else ""
        parts.append(
            f'<g><title>{escape(f"fault {i}: {w.description}")}</title><rect x="{a:.1f}" y="42" '
            f'width="{max(b - a, 2):.1f}" height="20" fill="url(#sq-hatch)" stroke="{FAULT}"/>{text}</g>'
        )
    _, over = _overlays([], stops, t0, t1, x, 14, 66)
    ticks = _x_ticks(t0, t1, x).replace(f'y1="{H - BOTTOM}"', 'y1="70"').replace(
        f'y2="{H - BOTTOM + 4}"', 'y2="74"').replace(f'y="{H - BOTTOM + 16}"', 'y="86"')
    return Markup(
        f'<svg class="chart strip" viewBox="0 0 {W} {h}" role="img" aria-label="run overview" '
        f'xmlns="http://www.w3.org/2000/svg">{"".join(parts)}{over}'
        f'<line x1="{LEFT}" x2="{W - RIGHT}" y1="70" y2="70" class="axis"/>{ticks}</svg>'
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
