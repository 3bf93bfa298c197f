"""Undo what the fault ledger still lists: used by rollbacks, the control's exit handlers and `squall cleanup`.

Each ledger kind belongs to the activity module that applies it; that module
exports ``undo_entry(entry) -> str`` (a one-line description of what it did)
and must be idempotent: a fault that is already gone counts as removed.

Nothing one entry does stops the others: an undo that fails for any reason
(an unreachable API, undo data a newer or damaged squall wrote) leaves that
entry open and the next one is tried; a removal the ledger cannot record
(a read-only file) is still a removal, reported with ``struck=False``.
"""

import importlib
import logging
from dataclasses import dataclass

from squall.errors import LedgerError, SquallError
from squall.ledger import Entry, Ledger

logger = logging.getLogger("squall.cleanup")

#: ledger kind prefix -> module that knows how to undo it
UNDOERS: dict[str, str] = {
    "toxiproxy.": "squall.actions.toxiproxy",
    "k8s.": "squall.actions.kubernetes",
    "process.": "squall.actions.process",
}


@dataclass(frozen=True)
class CleanupResult:
    """What happened to one open ledger entry."""

    entry: Entry
    removed: bool
    message: str
    #: the ledger records the removal; False if it could not (the fault is gone all the same)
    struck: bool = False


def undo(entry: Entry) -> str:
    """Remove one fault; raise SquallError if it could not be removed."""
    for prefix, module in UNDOERS.items():
        if entry.kind.startswith(prefix):
            return str(importlib.import_module(module).undo_entry(entry))
    raise SquallError(f"ledger entry {entry.id} has unknown kind {entry.kind!r}")


def cleanup(
    ledger: Ledger,
    run_id: str | None = None,
    only_orphaned: bool = False,
) -> list[CleanupResult]:
    """Undo open entries (of one run, or orphaned ones whose process died, or all), newest first.

    Every entry is attempted even if an earlier one fails; removed entries are
    struck off, failed ones stay open so a later cleanup can retry. Lines the
    ledger could not read are in ``ledger.skipped`` afterwards.
    """
    results = []
    for entry in ledger.open_entries(run_id):
        if only_orphaned and entry.owner_alive():
            continue
        try:
            message = undo(entry)
        except SquallError as exc:
            results.append(CleanupResult(entry, False, str(exc)))
            continue
        except Exception as exc:  # noqa: BLE001 - undo data we cannot use must not stop the other removals
            logger.debug("undo of ledger entry %s failed", entry.id, exc_info=True)
            results.append(CleanupResult(entry, False, f"cannot undo ledger entry {entry.id}: "
                                                       f"{type(exc).__name__}: {exc} (its undo data is not usable)"))
            continue
        try:
            ledger.strike(entry.id, outcome="cleaned-up")
        except LedgerError as exc:
            results.append(CleanupResult(entry, True, f"{message}; but {exc}, so it stays listed", struck=False))
            continue
        results.append(CleanupResult(entry, True, message, struck=True))
    return results
