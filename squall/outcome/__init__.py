"""The run record: one verdict, one score, one reader, one writer.

Every part of squall that needs a run's outcome reads it from here: the control
builds the record and decides with ``decide()``; reports, game days, the gate
and history read journals only through ``from_journal()`` and score only with
``score()``. None of them decides a verdict of its own.
"""

from squall.outcome.decide import Findings, decide
from squall.outcome.reader import NotAJournal, from_journal, is_journal, require_journal, squall_extension
from squall.outcome.record import PRECEDENCE, Check, RunRecord, Verdict
from squall.outcome.score import PointsLost, points_lost, score, shown, suite_score

__all__ = [
    "PRECEDENCE",
    "Check",
    "Findings",
    "NotAJournal",
    "PointsLost",
    "RunRecord",
    "Verdict",
    "decide",
    "from_journal",
    "is_journal",
    "points_lost",
    "require_journal",
    "score",
    "shown",
    "squall_extension",
    "suite_score",
]
