"""The fault ledger: every fault is written down before it is applied and struck off when removed.

The ledger is an append-only JSON-lines file guarded by ``flock``, so two
experiments (two processes) can share it. Each fault is an ``apply`` line;
removing it appends a ``strike`` line with the same id. What is applied and not
struck is *open*: rollbacks, the control's exit handlers and ``squall cleanup``
undo open entries through ``squall.cleanup``.

Entries carry the owning run id and pid, so a run cleans up only its own faults
and ``squall cleanup`` can tell a crashed run's faults (pid gone) from a live one's.
"""

import fcntl
import json
import os
import time
import uuid
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import IO, Any

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
        try:
            os.kill(self.pid, 0)
        except ProcessLookupError:
            return False
        except PermissionError:
            return True
        return True


class Ledger:
    """A fault ledger file shared safely between processes."""

    def __init__(self, path: Path | str | None = None) -> None:
        self.path = Path(path) if path is not None else config.ledger_path()

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
        record.pop("struck_at")
        record.pop("outcome")
        self._append(record)
        return entry

    def strike(self, entry_id: str, outcome: str = "removed") -> None:
        """Record that a fault is gone (removed, cleaned up, or never applied)."""
        self._append({"op": "strike", "id": entry_id, "at": time.time(), "outcome": outcome})

    # -- reading ---------------------------------------------------------
    def entries(self, run_id: str | None = None) -> list[Entry]:
        """Every entry (open and struck), oldest first, optionally of one run."""
        applied: dict[str, dict[str, Any]] = {}
        with self._locked("r") as fh:
            if fh is None:
                return []
            for line in fh:
                line = line.strip()
                if not line:
                    continue
                try:
                    rec = json.loads(line)
                except json.JSONDecodeError:
                    # A torn last line from a process killed mid-write: skip it,
                    # the entry it described was never applied.
                    continue
                if rec.get("op") == "apply":
                    rec.pop("op")
                    applied[rec["id"]] = rec
                elif rec.get("op") == "strike" and rec.get("id") in applied:
                    applied[rec["id"]]["struck_at"] = rec.get("at")
                    applied[rec["id"]]["outcome"] = rec.get("outcome")
        out = [Entry(**rec) for rec in applied.values()]
        if run_id is not None:
            out = [e for e in out if e.run_id == run_id]
        return out

    def open_entries(self, run_id: str | None = None) -> list[Entry]:
        """Faults that may still be in place, newest first (the order to undo them in)."""
        return [e for e in reversed(self.entries(run_id)) if e.is_open]

    def compact(self) -> None:
        """Drop struck entries older than a day, keeping the file small."""
        cutoff = time.time() - 86400
        with self._locked("r+") as fh:
            if fh is None:
                return
            lines = fh.readlines()
            struck = {}
            for line in lines:
                try:
                    rec = json.loads(line)
                except json.JSONDecodeError:
                    continue
                if rec.get("op") == "strike":
                    struck[rec["id"]] = rec.get("at", 0)
            keep = []
            for line in lines:
                try:
                    rec = json.loads(line)
                except json.JSONDecodeError:
                    continue
                at = struck.get(rec.get("id"))
                if at is not None and at < cutoff:
                    continue
                keep.append(line if line.endswith("\n") else line + "\n")
            fh.seek(0)
            fh.truncate()
            fh.writelines(keep)

    # -- plumbing --------------------------------------------------------
    def _append(self, record: Mapping[str, Any]) -> None:
        data = json.dumps(record, separators=(",", ":"), default=str) + "\n"
        with self._locked("a") as fh:
            assert fh is not None
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())

    @contextmanager
    def _locked(self, mode: str) -> Iterator[IO[str] | None]:
        try:
            if mode == "r" and not self.path.exists():
                yield None
                return
            self.path.parent.mkdir(parents=True, exist_ok=True)
            if mode == "r+" and not self.path.exists():
                yield None
                return
            fh: IO[str]
            if mode == "a":
                # 0600: undo data holds API addresses as configured, credentials included
                fh = os.fdopen(os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600), "a", encoding="utf-8")
            else:
                fh = open(self.path, mode, encoding="utf-8")  # noqa: SIM115 - closed by the with below
        except OSError as exc:
            raise LedgerError(f"cannot open fault ledger {self.path}: {exc.strerror}") from exc
        with fh:
            fcntl.flock(fh.fileno(), fcntl.LOCK_SH if mode == "r" else fcntl.LOCK_EX)
            try:
                yield fh
            finally:
                fcntl.flock(fh.fileno(), fcntl.LOCK_UN)
