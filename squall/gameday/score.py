"""The resilience score: how much of a suite's resilience held, 0-100.

Per experiment, from its verdict and its checks (steady-state probes and
verifiers, each pass/fail, as the control records them in the journal):

* ``passed``        -> 100
* ``failed``        -> 50 x (checks that held / all checks); 0 if it has no checks.
  A failed experiment never scores more than half, and it scores more the
  fewer of its checks failed.
* ``aborted``       -> 0 (a stop condition fired: the system left its safe zone)
* ``inconclusive``  -> not scored (the fault was not injected or not observed,
  so nothing was learned); it is left out of the suite score, and the gate
  fails with exit code 3 anyway.

Suite score = sum(weight x experiment score) / sum(weight), over the scored
experiments (weight from the suite, default 1). If nothing was scored the
suite has no score (``None``).

Points lost: each failed check of a failed experiment costs an equal share of
the experiment's lost points, scaled by the experiment's share of the total
weight, so the report can say e.g. "checkout-slo after: -12.5 points".
"""

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

Verdict = Literal["passed", "failed", "aborted", "inconclusive"]
VERDICTS: tuple[Verdict, ...] = ("passed", "failed", "aborted", "inconclusive")


@dataclass(frozen=True)
class Check:
    """One pass/fail check of an experiment run."""

    name: str
    kind: str
    ok: bool
    summary: str = ""


@dataclass(frozen=True)
class PointsLost:
    """A check (or a whole verdict) that cost the suite points."""

    experiment: str
    what: str
    points: float


def experiment_score(verdict: Verdict, checks: Sequence[Check]) -> float | None:
    """An experiment's score 0-100 from its verdict and checks (None = not scored)."""
    if verdict == "passed":
        return 100.0
    if verdict == "aborted":
        return 0.0
    if verdict == "inconclusive":
        return None
    if not checks:
        return 0.0
    held = sum(1 for c in checks if c.ok)
    return 50.0 * held / len(checks)


def suite_score(scored: Sequence[tuple[float, float | None]]) -> float | None:
    """The weighted mean of (weight, score) pairs, skipping unscored ones; None if nothing was scored."""
    pairs = [(w, s) for w, s in scored if s is not None]
    total = sum(w for w, _ in pairs)
    if not pairs:
        return None
    if total <= 0:
        return sum(s for _, s in pairs) / len(pairs)
    return sum(w * s for w, s in pairs) / total


def points_lost(
    name: str,
    verdict: Verdict,
    checks: Sequence[Check],
    weight: float,
    total_weight: float,
) -> list[PointsLost]:
    """Which checks of one experiment cost the suite how many points."""
    score = experiment_score(verdict, checks)
    if score is None or score >= 100.0 or total_weight <= 0:
        return []
    lost = (100.0 - score) * weight / total_weight
    failed = [c for c in checks if not c.ok]
    if verdict == "aborted" or not failed:
        return [PointsLost(name, f"verdict {verdict}", lost)]
    share = lost / len(failed)
    return [PointsLost(name, f"{c.name} ({c.kind})", share) for c in failed]
