"""The frozen types of a run's outcome: its verdict, its checks and the record that holds them."""

import enum
from dataclasses import dataclass


class Verdict(enum.StrEnum):
    """What a run concluded; ``PRECEDENCE`` orders them (the first that applies wins)."""

    PASSED = "passed"
    FAILED = "failed"
    ABORTED = "aborted"
    INCONCLUSIVE = "inconclusive"


#: aborted (a stop condition fired) > inconclusive (nothing was learned) > failed > passed
PRECEDENCE: tuple[Verdict, ...] = (Verdict.ABORTED, Verdict.INCONCLUSIVE, Verdict.FAILED, Verdict.PASSED)

#: where a check sits in the run (the ``kind`` the control writes into the journal)
CHECK_KINDS = ("steady-state-before", "steady-state-during", "steady-state-after", "verifier", "probe")


@dataclass(frozen=True)
class Check:
    """One check of a run: a steady-state probe, a during-method summary or a verifier.

    ``ok`` is None when the check has no result (it never finished, or a verifier
    could not tell: its ``verdict`` is then ``inconclusive``).
    """

    name: str
    kind: str
    ok: bool | None
    summary: str = ""
    verdict: Verdict | None = None

    @property
    def held(self) -> bool:
        """True only for a check that ran and held."""
        return self.ok is True


@dataclass(frozen=True)
class RunRecord:
    """What one run concluded, as every consumer reads it."""

    verdict: Verdict
    reason: str
    checks: tuple[Check, ...] = ()
    score: float | None = None
    title: str = ""
    run_id: str = ""
    started: float | None = None
    ended: float | None = None
    #: "squall" (the control's extension), "chaostoolkit" (a plain journal) or "none" (no journal)
    source: str = "squall"
    fragile: bool = False

    @property
    def duration_s(self) -> float | None:
        """How long the run took, when both ends are known."""
        if self.started is None or self.ended is None:
            return None
        return max(0.0, self.ended - self.started)

    @property
    def failed_checks(self) -> tuple[Check, ...]:
        """The checks that ran and did not hold."""
        return tuple(c for c in self.checks if c.ok is False)
