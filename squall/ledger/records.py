"""The fault ledger's records: ``Entry``, and a reader of the JSON-lines file that survives any damage.

``parse(data)`` never raises for content. A line it cannot use (not UTF-8, not
JSON, not an object, an unknown ``op``, a required field missing or of the
wrong type) is reported as a ``SkippedLine`` with its number and why; whole
records inside a damaged line (an older squall appended the next record onto a
torn one) are still read; unknown fields (a newer squall's) are kept in
``Entry.extra``. Writing is ``squall.ledger.Ledger``'s.
"""

import json
import math
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, TypeGuard


@dataclass(frozen=True)
class Entry:
    """One fault as recorded before it was applied."""

    id: str
    kind: str  # e.g. "toxiproxy.toxic", "toxiproxy.disabled", "k8s.networkpolicy", "process.stopped"
    target: dict[str, Any]  # what the fault is on, for people: {"proxy": "payments", "toxic": "latency_downstream"}
    undo: dict[str, Any]  # what squall.cleanup needs to remove it; never secrets
    description: str
    run_id: str
    pid: int
    applied_at: float
    struck_at: float | None = None
    outcome: str | None = None  # "removed", "failed-to-apply", "cleaned-up", ...
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def is_open(self) -> bool:
        """True while the fault may still be in place."""
        return self.struck_at is None

    def owner_alive(self) -> bool:
        """True if the process that applied the fault still runs."""
        if self.pid <= 0:
            return False  # never signal a process group (0, -n)
        try:
            os.kill(self.pid, 0)
        except (ProcessLookupError, OverflowError):  # OverflowError: a pid no process can have
            return False
        except PermissionError:
            return True
        return True


@dataclass(frozen=True)
class SkippedLine:
    """A ledger line the reader could not use: its number (from 1) and why."""

    line: int
    reason: str


#: apply-record field -> (accepted types, what a person is told was expected)
_REQUIRED: dict[str, tuple[tuple[type, ...], str]] = {
    "id": ((str,), "a non-empty string"),
    "kind": ((str,), "a non-empty string"),
    "target": ((dict,), "an object"),
    "undo": ((dict,), "an object"),
    "description": ((str,), "a string"),
    "run_id": ((str,), "a string"),
    "pid": ((int,), "an integer"),
    "applied_at": ((int, float), "a number"),
}
_OPTIONAL = ("struck_at", "outcome", "extra")


def _field_error(rec: Mapping[str, Any], name: str, types: tuple[type, ...], expected: str) -> str | None:
    if name not in rec:
        return f"no {name!r} field"
    value = rec[name]
    if isinstance(value, bool) or not isinstance(value, types) or (expected.startswith("a non-empty") and not value):
        return f"{name!r} is {_short(value)} (expected {expected})"
    return None


def _short(value: Any) -> str:
    text = json.dumps(value, default=str)
    return text if len(text) <= 40 else text[:37] + "..."


def _is_time(value: Any) -> TypeGuard[int | float]:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def decode_line(raw: bytes) -> tuple[list[dict[str, Any]], str]:
    """One line -> ([record], "") as a rule; for a damaged line, the whole records found in it and why it is damaged."""
    try:
        text, why = raw.decode("utf-8"), ""
    except UnicodeDecodeError as exc:
        text, why = raw.decode("utf-8", errors="replace"), f"not UTF-8 (byte {exc.start})"
    if not why:
        try:
            rec = json.loads(text)
        except (ValueError, RecursionError) as exc:
            why = f"not JSON ({str(exc)[:60]}; a torn write?)"
        else:
            if isinstance(rec, dict):
                return [rec], ""
            return [], f"not a JSON object (got {type(rec).__name__})"
    found = _salvage(text)
    return found, why + (f"; {len(found)} whole record(s) in it were read" if found else "")


_RECORD_START = re.compile(r'\{\s*"op"\s*:')


def _salvage(text: str) -> list[dict[str, Any]]:
    """Whole records inside a damaged line: an older squall appended the next record onto a torn one."""
    decoder, found, pos = json.JSONDecoder(), [], 0
    while (match := _RECORD_START.search(text, pos)) is not None:
        try:
            rec, pos = decoder.raw_decode(text, match.start())
        except (ValueError, RecursionError):
            pos = match.start() + 1
            continue
        if isinstance(rec, dict):
            found.append(rec)
    return found


def _apply_entry(rec: dict[str, Any]) -> tuple[Entry | None, str]:
    for name, (types, expected) in _REQUIRED.items():
        error = _field_error(rec, name, types, expected)
        if error:
            return None, f"apply record: {error}"
    extra = {k: v for k, v in rec.items() if k not in _REQUIRED and k not in _OPTIONAL and k != "op"}
    if isinstance(rec.get("extra"), dict):
        extra = {**rec["extra"], **extra}
    struck_at = rec.get("struck_at")
    outcome = rec.get("outcome")
    entry = Entry(
        **{name: rec[name] for name in _REQUIRED},
        struck_at=float(struck_at) if _is_time(struck_at) else None,
        outcome=outcome if isinstance(outcome, str) and _is_time(struck_at) else None,
        extra=extra,
    )
    return entry, ""


def parse(data: bytes) -> tuple[dict[str, Entry], list[SkippedLine]]:
    """Read a whole ledger file's bytes: entries by id (oldest first), and the lines skipped. Never raises."""
    entries: dict[str, Entry] = {}
    skipped: list[SkippedLine] = []
    for number, raw in enumerate(data.split(b"\n"), start=1):
        if not raw.strip():
            continue
        records, why = decode_line(raw)
        reasons = [why] if why else []
        reasons += [r for r in (_use(rec, entries) for rec in records) if r]
        if reasons:
            skipped.append(SkippedLine(number, "; ".join(reasons)))
    return entries, skipped


def _use(rec: dict[str, Any], entries: dict[str, Entry]) -> str:
    """Apply one record to ``entries``; "" or why it cannot be used."""
    op = rec.get("op")
    if op == "apply":
        entry, why = _apply_entry(rec)
        if entry is None:
            return why
        if entry.id in entries:
            return f"apply record: id {entry.id!r} was already applied"
        entries[entry.id] = entry
        return ""
    if op == "strike":
        why = _field_error(rec, "id", (str,), "a non-empty string") or ""
        if not why and not _is_time(rec.get("at")):
            why = f"'at' is {_short(rec.get('at'))} (expected a time in seconds)"
        if not why and not isinstance(rec.get("outcome"), str | None):
            why = f"'outcome' is {_short(rec.get('outcome'))} (expected a string)"
        if why:
            return f"strike record: {why}"
        old = entries.get(rec["id"])
        if old is not None and old.is_open:  # a strike of an unknown id strikes nothing
            entries[old.id] = Entry(**{**old.__dict__, "struck_at": float(rec["at"]), "outcome": rec.get("outcome")})
        return ""
    return f"unknown op {_short(op)} (expected \"apply\" or \"strike\")"
