"""The resilience score: how much of a run's (and a suite's) resilience held, 0-100.

Per run, from its verdict and its checks (steady-state probes and verifiers):

* ``passed``        -> 100
* ``failed``        -> 50 x (checks that held / all checks); 0 if it has no checks.
  A failed run never scores more than half, and it scores more the fewer of
  its checks failed.
* ``aborted``       -> 0 (a stop condition fired: the system left its safe zone)
* ``inconclusive``  -> not scored (nothing was learned); it is left out of the
  suite score, and the gate fails with exit code 3 anyway.

Suite score = sum(weight x run score) / sum(weight), over the scored runs
(weight from the suite, default 1). If nothing was scored the suite has no
score (``None``).

Points lost: each failed check of a failed run costs an equal share of the
run's lost points, scaled by the run's share of the total weight, so a report
can say e.g. "checkout-slo after: -12.5 points".
"""

from collections.abc import Sequence
from dataclasses import dataclass

from squall.outcome.record import Check, Verdict


@dataclass(frozen=True)
class PointsLost:
    """A check (or a whole verdict) that cost the suite points."""

    experiment: str
    what: str
    points: float


def score(verdict: Verdict | str, checks: Sequence[Check]) -> float | None:
    """A run's score 0-100 from its verdict and checks (None = not scored)."""
    verdict = Verdict(verdict)
    if verdict is Verdict.PASSED:
        return 100.0
    if verdict is Verdict.ABORTED:
        return 0.0
    if verdict is Verdict.INCONCLUSIVE:
        return None
    if not checks:
        return 0.0
    held = sum(1 for c in checks if c.held)
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
    verdict: Verdict | str,
    checks: Sequence[Check],
    weight: float,
    total_weight: float,
) -> list[PointsLost]:
    """Which checks of one run cost the suite how many points."""
    verdict = Verdict(verdict)
    value = score(verdict, checks)
    if value is None or value >= 100.0 or total_weight <= 0:
        return []
    lost = (100.0 - value) * weight / total_weight
    failed = [c for c in checks if not c.held]
    if verdict is Verdict.ABORTED or not failed:
        return [PointsLost(name, f"verdict {verdict}", lost)]
    share = lost / len(failed)
    return [PointsLost(name, f"{c.name} ({c.kind})", share) for c in failed]


def shown(value: float | None) -> str:
    """A score as every page and summary prints it: ``100``, ``37.5``, ``68.8``, or ``n/a`` when not scored."""
    if value is None:
        return "n/a"
    text = f"{round(float(value), 1):.1f}"
    return text.removesuffix(".0")
