"""Defensive readers of journal values: a journal may have any shape, these never raise."""

import re
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any


def as_dict(value: Any) -> Mapping[str, Any]:
    """The value if it is a mapping, else an empty one."""
    return value if isinstance(value, Mapping) else {}


def as_list(value: Any) -> list[Any]:
    """The value as a list if it is a list or tuple, else an empty list."""
    return list(value) if isinstance(value, (list, tuple)) else []


def num(value: Any) -> float | None:
    """The value as a float if it is a number (not a bool), else None."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    return float(value)


def ts(value: Any) -> float | None:
    """A journal time (unix seconds or ISO 8601) as unix seconds, or None."""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return float(value)
    if isinstance(value, str) and value:
        try:
            parsed = datetime.fromisoformat(value)
        except ValueError:
            return None
        if parsed.tzinfo is None:  # Chaos Toolkit before 1.x wrote naive UTC times
            parsed = parsed.replace(tzinfo=UTC)
        return parsed.timestamp()
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
