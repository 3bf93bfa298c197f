"""Labels on the report's charts: what a fault is called there, and where labels go so that none overlaps another."""

import math
import re
from collections.abc import Sequence

CHAR_W = 6.8  # viewBox units per character of a 10 px bold label: generous, so estimated boxes never undershoot
LABEL_PAD = 8.0  # space kept free after a label
MAX_LABEL_CHARS = 44
STRIP_LANES = 6  # fault lanes of the run strip at most


def fault_label(description: str) -> str:
    """What a fault is, short enough for a chart: ``hang (until removed) on inventory-1 (downstream)`` -> ``hang on inventory-1``.

    A request scope in brackets (``HTTP 503 [POST /payments*] on payments (...)``) is kept whole.
    """
    pieces = re.split(r"(\[[^\[\]]*\])", description)  # odd pieces: scopes, kept as they are
    short = "".join(p if i % 2 else re.sub(r"\s*\([^()]*\)", "", p) for i, p in enumerate(pieces))
    text = " ".join(short.split()) or " ".join(description.split()) or "fault"
    return text if len(text) <= MAX_LABEL_CHARS else text[: MAX_LABEL_CHARS - 1] + "…"


def label_width(text: str) -> float:
    """The width a label's text takes at most, in viewBox units."""
    return len(text) * CHAR_W


def place_labels(
    spans: Sequence[tuple[float, float, str]], rows: int, right: float, *, keep_bars: bool = False,
) -> list[tuple[int, float] | None]:
    """A (row, x) for each (start px, end px, text), so that no two labels overlap; None where none fits.

    ``keep_bars``: a row also keeps its windows' bars apart (the run strip's lanes), not only the labels.
    """
    ends = [-math.inf] * rows
    out: list[tuple[int, float] | None] = []
    for a, b, text in spans:
        w = label_width(text)
        x = max(min(a + 3, right - w), 0.0)
        row = next((r for r in range(rows) if ends[r] <= min(x, a)), None)
        if row is None:
            out.append(None)
            continue
        ends[row] = max(x + w + LABEL_PAD, b + 2 if keep_bars else -math.inf)
        out.append((row, x))
    return out


class Boxes:
    """Text boxes placed so far in one SVG; a new label goes where it overlaps none of them."""

    def __init__(self) -> None:
        self.boxes: list[tuple[float, float, float, float]] = []

    def fits(self, x0: float, y: float, text: str) -> bool:
        box = (x0, y - 10.0, x0 + label_width(text), y + 2.0)
        if any(box[0] < b[2] and b[0] < box[2] and box[1] < b[3] and b[1] < box[3] for b in self.boxes):
            return False
        self.boxes.append(box)
        return True
