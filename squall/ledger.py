"""The fault ledger: every fault is written down before it is applied and struck off when removed.

The ledger is an append-only JSON-lines file guarded by ``flock``, so two
experiments (two processes) can share it. Each fault is an ``apply`` line;
removing it appends a ``strike`` line with the same id. What is applied and not
struck is *open*: rollbacks, the control's exit handlers and ``squall cleanup``
undo open entries through ``squall.cleanup``.

Entries carry the owning run id and pid, so a run cleans up only its own faults
and ``squall cleanup`` can tell a crashed run's faults (pid gone) from a live one's.

No damage may hide a fault. Each record is written whole (one ``os.write`` of
the line and its newline, under the lock), after a newline of its own if the
file does not end in one (a torn line from a killed writer stays on its own
line). The reader never raises for content: a line it cannot use (not UTF-8,
not JSON, not an object, a required field missing or of the wrong type) is
skipped and listed in ``Ledger.skipped`` with its line number and why;
unknown fields (a newer squall's) are kept in ``Entry.extra``.
"""

import fcntl
import json
import math
import os
import re
import time
import uuid
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import IO, Any, TypeGuard

from squall import config
from squall.errors import LedgerError


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


def _decode(raw: bytes) -> tuple[list[dict[str, Any]], str]:
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
        records, why = _decode(raw)
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


class Ledger:
    """A fault ledger file shared safely between processes."""

    def __init__(self, path: Path | str | None = None) -> None:
        self.path = Path(path) if path is not None else config.ledger_path()
        #: lines the last read could not use (line number and why); they never stop a read
        self.skipped: list[SkippedLine] = []

    # -- writing ---------------------------------------------------------
    def apply(
        self,
        kind: str,
        target: Mapping[str, Any],
        undo: Mapping[str, Any],
        description: str,
        run_id: str | None = None,
    ) -> Entry:
        """Record a fault *before* it is applied; return the entry to strike later."""
        entry = Entry(
            id=uuid.uuid4().hex[:16],
            kind=kind,
            target=dict(target),
            undo=dict(undo),
            description=description,
            run_id=run_id or config.run_id(),
            pid=os.getpid(),
            applied_at=time.time(),
        )
        record = {"op": "apply", **asdict(entry)}
        for name in ("struck_at", "outcome", "extra"):
            record.pop(name)
        self._append(record)
        return entry

    def strike(self, entry_id: str, outcome: str = "removed") -> None:
        """Record that a fault is gone (removed, cleaned up, or never applied)."""
        self._append({"op": "strike", "id": entry_id, "at": time.time(), "outcome": outcome})

    # -- reading ---------------------------------------------------------
    def entries(self, run_id: str | None = None) -> list[Entry]:
        """Every entry (open and struck), oldest first, optionally of one run; unusable lines go to ``skipped``."""
        with self._locked("rb") as fh:
            data = fh.read() if fh is not None else b""
        found, self.skipped = parse(data)
        out = list(found.values())
        if run_id is not None:
            out = [e for e in out if e.run_id == run_id]
        return out

    def open_entries(self, run_id: str | None = None) -> list[Entry]:
        """Faults that may still be in place, newest first (the order to undo them in)."""
        return [e for e in reversed(self.entries(run_id)) if e.is_open]

    def compact(self) -> None:
        """Drop struck entries older than a day, keeping the file small (unusable lines are kept)."""
        cutoff = time.time() - 86400
        with self._locked("r+b") as fh:
            if fh is None:
                return
            data = fh.read()
            found, _ = parse(data)
            old = {e.id for e in found.values() if e.struck_at is not None and e.struck_at < cutoff}
            keep = []
            for raw in data.split(b"\n"):
                if not raw.strip():
                    continue
                records, why = _decode(raw)
                ids = [rec.get("id") for rec in records]
                if why or not ids or not all(isinstance(i, str) and i in old for i in ids):
                    keep.append(raw + b"\n")  # only whole lines about old struck entries go
            fh.seek(0)
            fh.truncate()
            fh.write(b"".join(keep))
            fh.flush()
            os.fsync(fh.fileno())

    # -- plumbing --------------------------------------------------------
    def _append(self, record: Mapping[str, Any]) -> None:
        """Write one record as one whole line (one write, under the lock), on a line of its own."""
        data = (json.dumps(record, separators=(",", ":"), default=str) + "\n").encode("ascii")
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            # 0600: undo data holds API addresses as configured, credentials included.
            # O_RDWR (not O_WRONLY): the last byte is read to see whether a torn line needs ending.
            fd = os.open(self.path, os.O_RDWR | os.O_APPEND | os.O_CREAT | os.O_CLOEXEC, 0o600)
        except OSError as exc:
            raise LedgerError(f"cannot write to fault ledger {self.path}: {exc.strerror}") from exc
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            size = os.fstat(fd).st_size
            if size and os.pread(fd, 1, size - 1) != b"\n":
                data = b"\n" + data  # a writer died mid-line: keep its torn line apart from ours
            written = os.write(fd, data)
            while written < len(data):  # only on a full disk or a signal mid-write; still under the lock
                written += os.write(fd, data[written:])
            os.fsync(fd)
        except OSError as exc:
            raise LedgerError(f"cannot write to fault ledger {self.path}: {exc.strerror}") from exc
        finally:
            os.close(fd)  # closing releases the lock

    @contextmanager
    def _locked(self, mode: str) -> Iterator[IO[bytes] | None]:
        """The ledger file opened in binary ``mode`` under a shared (read) or exclusive lock; None if absent."""
        if not self.path.exists():
            yield None
            return
        try:
            fh = open(self.path, mode)  # noqa: SIM115 - closed by the with below
            fcntl.flock(fh.fileno(), fcntl.LOCK_SH if mode == "rb" else fcntl.LOCK_EX)
        except OSError as exc:
            raise LedgerError(f"cannot read fault ledger {self.path}: {exc.strerror}") from exc
        with fh:
            yield fh
