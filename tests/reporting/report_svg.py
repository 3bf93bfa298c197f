"""Read the charts of a rendered report.html back: each inline <svg> parsed as XML, its points, labels and lines."""

import re
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from pathlib import Path

NS = "{http://www.w3.org/2000/svg}"
#: a deliberately generous width per character of a 10-11 px label (DejaVu Sans Bold averages ~7 px at 11 px)
CHAR_W = 6.2
_NUM = r"-?\d+(?:\.\d+)?"


@dataclass(frozen=True)
class Label:
    text: str
    x: float
    y: float
    css: str

    def box(self) -> tuple[float, float, float, float]:
        """The area the text covers (baseline y; 10 px tall), with an estimated width."""
        return self.x, self.y - 9.0, self.x + len(self.text) * CHAR_W, self.y + 2.0


def charts(html: Path) -> dict[str, ET.Element]:
    """Every chart of the page by its aria-label ("run overview", "success rate per time bucket", ...)."""
    text = html.read_text(encoding="utf-8")
    out = {}
    for m in re.finditer(r'<svg class="chart[^"]*".*?</svg>', text, re.S):
        root = ET.fromstring(m.group(0))
        out[root.get("aria-label", "")] = root
    return out


def labels(svg: ET.Element, css: str) -> list[Label]:
    """The text elements whose class contains `css`."""
    return [Label("".join(t.itertext()), float(t.get("x", 0)), float(t.get("y", 0)), t.get("class", ""))
            for t in svg.iter(f"{NS}text") if css in t.get("class", "").split()]


def overlapping(items: list[Label]) -> list[tuple[str, str]]:
    """Pairs of labels whose boxes intersect."""
    pairs = []
    for i, a in enumerate(items):
        for b in items[i + 1:]:
            ax0, ay0, ax1, ay1 = a.box()
            bx0, by0, bx1, by1 = b.box()
            if ax0 < bx1 and bx0 < ax1 and ay0 < by1 and by0 < ay1:
                pairs.append((a.text, b.text))
    return pairs


def line_runs(svg: ET.Element, target: str) -> list[list[tuple[float, float]]]:
    """The target's line as runs of points: each "M" starts a run, each "L" continues it."""
    for path in svg.iter(f"{NS}path"):
        title = path.find(f"{NS}title")
        if path.get("fill") == "none" and title is not None and title.text == target:
            runs: list[list[tuple[float, float]]] = []
            for op, x, y in re.findall(rf"([ML])({_NUM}),({_NUM})", path.get("d", "")):
                if op == "M":
                    runs.append([])
                runs[-1].append((float(x), float(y)))
            return runs
    return []


def markers(svg: ET.Element, css: str) -> list[tuple[float, float]]:
    """Centres of the point markers (class "point": circles; class "capped": triangles) drawn in the chart."""
    found = []
    for path in svg.iter(f"{NS}path"):
        if path.get("class") != css:
            continue
        d = path.get("d", "")
        if css == "point":  # "Mx,y a r,r ..." starts at the circle's left edge
            found += [(float(x) + 2.4, float(y)) for x, y in re.findall(rf"M({_NUM}),({_NUM}) a", d)]
        else:  # "Mx,y Lx,y Lx,y Z": the apex is the middle point, 4 px above the value
            found += [(float(x), float(y) + 4.0) for x, y in re.findall(rf"M{_NUM},{_NUM} L({_NUM}),({_NUM})", d)]
    return found


def guide_lines(svg: ET.Element) -> dict[str, float]:
    """Horizontal reference lines by their title: the y where each is drawn."""
    out = {}
    for g in svg.iter(f"{NS}g"):
        if "guide" in g.get("class", "").split():
            title, line = g.find(f"{NS}title"), g.find(f"{NS}line")
            if title is not None and line is not None:
                out[title.text or ""] = float(line.get("y1", "nan"))
    return out


def axis_y(svg: ET.Element, tick: str) -> float:
    """The y of a value-axis tick label (e.g. "100%", "0 ms"): its grid line."""
    for t in svg.iter(f"{NS}text"):
        if "".join(t.itertext()) == tick and t.get("text-anchor") == "end":
            return float(t.get("y", "nan")) - 4.0  # the label sits 4 px below its grid line
    raise AssertionError(f"no y-axis tick {tick!r}")
