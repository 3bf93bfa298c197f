"""Defensive readers of journal values: a journal may have any shape, these never raise."""

import re
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from squall.outcome.reader import as_dict as as_dict  # the one set of defensive readers of journals
from squall.outcome.reader import as_list as as_list
from squall.outcome.reader import num as num
from squall.reporting.masking import MAX_DEPTH, TOO_DEEP

#: unix times beyond this (year 5138) are not times a run had; datetime cannot show much later ones
MAX_TIME = 1e11


def when(value: Any) -> float | None:
    """A unix time in seconds (0 .. year 5138) from a number, else None."""
    f = num(value)
    return f if f is not None and 0 <= f < MAX_TIME else None


def ts(value: Any) -> float | None:
    """A journal time (unix seconds or ISO 8601) as unix seconds, or None."""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return when(value)
    if isinstance(value, str) and value:
        try:
            parsed = datetime.fromisoformat(value)
            if parsed.tzinfo is None:  # Chaos Toolkit before 1.x wrote naive UTC times
                parsed = parsed.replace(tzinfo=UTC)
            return when(parsed.timestamp())
        except (ValueError, OverflowError, OSError):
            return None
    return None


def extension(journal: Mapping[str, Any]) -> Mapping[str, Any]:
    """The ``squall`` entry of ``journal["extensions"]``, or an empty mapping."""
    for entry in as_list(as_dict(journal).get("extensions")):
        if isinstance(entry, Mapping) and entry.get("name") == "squall":
            return entry
    return {}


def slug(title: str) -> str:
    """A file-name-safe slug of an experiment title."""
    text = re.sub(r"[^a-z0-9]+", "-", title.lower()).strip("-")
    return text[:60].rstrip("-") or "experiment"


def bounded(value: Any, max_depth: int = MAX_DEPTH) -> Any:
    """A copy of a JSON-like value whose containers nested deeper than ``max_depth`` become a marker (no recursion)."""

    def fresh(v: Any, depth: int) -> tuple[Any, tuple[Any, Any, int] | None]:
        if isinstance(v, (Mapping, list, tuple)):
            if depth >= max_depth:
                return TOO_DEEP, None
            new: Any = {} if isinstance(v, Mapping) else []
            return new, (v, new, depth)
        return v, None

    root, job = fresh(value, 0)
    stack = [job] if job else []
    while stack:
        src, dst, depth = stack.pop()
        for k, v in (src.items() if isinstance(src, Mapping) else enumerate(src)):
            new, job = fresh(v, depth + 1)
            if isinstance(dst, dict):
                dst[k] = new
            else:
                dst.append(new)
            if job:
                stack.append(job)
    return root
