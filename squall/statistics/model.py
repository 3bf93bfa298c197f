"""What a comparison takes and gives: one group's requests, one compared figure, the whole comparison."""

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

Verdict = Literal["passed", "failed", "inconclusive"]

#: worst first: one failed figure fails the comparison, else one inconclusive figure makes it inconclusive
_SEVERITY: dict[str, int] = {"failed": 2, "inconclusive": 1, "passed": 0}


def worst(verdicts: Sequence[str]) -> Verdict:
    """The comparison's verdict from its figures' verdicts: failed beats inconclusive beats passed."""
    found = max(verdicts, key=_SEVERITY.__getitem__, default="passed")
    return "failed" if found == "failed" else "inconclusive" if found == "inconclusive" else "passed"


@dataclass(frozen=True)
class Sample:
    """One group's requests in the compared window (control or experiment group)."""

    #: per request: counted as a success by the SLI
    ok: Sequence[bool]
    #: per request, successes and failures alike (same length as ``ok``), in milliseconds
    latency_ms: Sequence[float]

    def __len__(self) -> int:
        return len(self.ok)


@dataclass(frozen=True)
class Effect:
    """One compared figure: its value in each group, the difference, its interval and the verdict on it."""

    #: "success_ratio", "p95_ms", "p99_ms", ...
    name: str
    control: float
    experiment: float
    #: experiment - control (for the success ratio a drop is negative)
    difference: float
    #: the interval of the difference at the comparison's confidence
    low: float
    high: float
    #: the allowed margin for the difference: -max_drop for the success ratio, +max_increase_ms for latency
    limit: float
    verdict: Verdict
    #: how the interval was made, in words for the report
    method: str
    #: requests per group below which this figure is not judged (inconclusive whatever its interval)
    minimum_per_group: int = 0
    #: when inconclusive: about how many requests per group would settle this figure (None: no practical number)
    needed_per_group: int | None = None

    def to_json(self) -> dict[str, Any]:
        """Plain JSON values (non-finite numbers, e.g. for an empty group, become null)."""
        return {
            "name": self.name,
            "control": _finite(self.control),
            "experiment": _finite(self.experiment),
            "difference": _finite(self.difference),
            "low": _finite(self.low),
            "high": _finite(self.high),
            "limit": _finite(self.limit),
            "verdict": self.verdict,
            "method": self.method,
            "minimum_per_group": self.minimum_per_group,
            "needed_per_group": self.needed_per_group,
        }


@dataclass(frozen=True)
class Comparison:
    """The statistical verdict on the experiment group against the control group."""

    #: passed | failed | inconclusive (failed beats inconclusive beats passed)
    verdict: Verdict
    #: one plain sentence stating the verdict, for the report
    sentence: str
    effects: tuple[Effect, ...]
    n_control: int
    n_experiment: int
    confidence: float
    #: two-sided Mann-Whitney U p-value of the latency distributions (informative; never decides the verdict)
    mann_whitney_p: float | None
    #: when inconclusive: about how many requests per group would settle it (None: no practical number)
    needed_per_group: int | None

    def to_json(self) -> dict[str, Any]:
        """The comparison as plain JSON values, for journals and reports."""
        return {
            "verdict": self.verdict,
            "sentence": self.sentence,
            "effects": [effect.to_json() for effect in self.effects],
            "n_control": self.n_control,
            "n_experiment": self.n_experiment,
            "confidence": self.confidence,
            "mann_whitney_p": _finite(self.mann_whitney_p) if self.mann_whitney_p is not None else None,
            "needed_per_group": self.needed_per_group,
        }


def _finite(value: float) -> float | None:
    return float(value) if math.isfinite(value) else None
