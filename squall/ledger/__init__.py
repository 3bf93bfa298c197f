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
unknown fields (a newer squall's) are kept in ``Entry.extra``. The records and
their reader live in ``squall.ledger.records``.
"""

import fcntl
import json
import os
import time
import uuid
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import asdict
from pathlib import Path
from typing import IO, Any

from squall import config
from squall.errors import LedgerError
from squall.ledger.records import Entry, SkippedLine, decode_line, parse

__all__ = ["Entry", "Ledger", "SkippedLine"]


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
                records, why = decode_line(raw)
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
