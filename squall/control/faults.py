"""Removing one run's faults through the ledger: at once (signals, aborts, the end), then a sweep for races."""

import logging
import threading
from collections.abc import Callable
from typing import Any

from squall.cleanup import cleanup, undo
from squall.errors import SquallError
from squall.ledger import Ledger

logger = logging.getLogger("chaostoolkit.squall")


class FaultRemover:
    """Undoes what a run's ledger entries still list; safe to call from any thread, one removal at a time."""

    def __init__(self, ledger: Ledger, run_id: str, before: Callable[[], None] | None = None) -> None:
        self.ledger = ledger
        self.run_id = run_id
        self.log: list[dict[str, Any]] = []  # the journal's "cleanup" list
        self._before = before
        self._lock = threading.Lock()
        self._swept: set[str] = set()

    def remove(self) -> None:
        """Undo every open entry of the run (idempotent); failures stay open and are logged."""
        with self._lock:
            if self._before is not None:
                self._before()
            for result in cleanup(self.ledger, run_id=self.run_id):
                self.log.append({"description": result.entry.description, "removed": result.removed, "message": result.message})
                if result.removed:
                    logger.info("squall: removed %s (%s)", result.entry.description, result.message)
                else:
                    logger.error("squall: could not remove %s: %s", result.entry.description, result.message)

    def sweep(self, interrupted: bool) -> None:
        """Undo again what may have raced an interrupt (undo is idempotent).

        An action interrupted while its request was in flight may strike its entry
        as failed-to-apply although the server applied it, or apply it just after
        a removal; so entries struck failed-to-apply, and after an interrupt also
        those removed by the control, are undone once more when the method is over.
        """
        with self._lock:
            for entry in self.ledger.entries(self.run_id):
                if entry.id in self._swept or entry.is_open:
                    continue
                if entry.outcome == "failed-to-apply" or (interrupted and entry.outcome == "cleaned-up"):
                    self._swept.add(entry.id)
                    try:
                        message = undo(entry)
                    except SquallError as exc:
                        if entry.outcome != "failed-to-apply":  # never applied: nothing there to remove
                            self.log.append({"description": entry.description, "removed": False, "message": str(exc)})
                        continue
                    logger.info("squall: swept %s (%s)", entry.description, message)
