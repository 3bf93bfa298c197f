"""The gate's decision: one exit code and verdict for a whole game day, with the reasons.

Precedence (the first that applies wins):

1. any experiment aborted by a stop condition -> 2
2. any experiment inconclusive              -> 3
3. a required experiment failed, or the score is below the minimum -> 1
4. otherwise                                -> 0

A game day stopped by SIGINT/SIGTERM is "interrupted" with code 2 (decided by the runner).

Which experiments are required: those marked ``required: true`` or listed in
``gate.required``; when a suite sets neither a minimum score nor any required
experiment, every experiment is required (a failure anywhere fails the gate).
"""

from collections.abc import Sequence

from squall.exitcodes import ExitCode
from squall.gameday.model import ExperimentResult, SuiteVerdict
from squall.gameday.suite import Suite
from squall.outcome import shown


def decide(
    suite: Suite,
    results: Sequence[ExperimentResult],
    score: float | None,
    min_score: float | None = None,
) -> tuple[ExitCode, SuiteVerdict, list[str]]:
    """The exit code, verdict and reasons of a game day (`min_score` overrides the suite's)."""
    threshold = min_score if min_score is not None else suite.min_score
    required = required_names([(e.name, e.required) for e in suite.experiments], threshold)
    aborted = [r for r in results if r.verdict == "aborted"]
    inconclusive = [r for r in results if r.verdict == "inconclusive"]
    if aborted:
        return ExitCode.ABORTED, "aborted", [f"{r.name}: aborted — {r.reason}" for r in aborted]
    if inconclusive:
        return ExitCode.INCONCLUSIVE, "inconclusive", [f"{r.name}: inconclusive — {r.reason}" for r in inconclusive]
    reasons = [
        f"{r.name}: required experiment failed — {r.reason}"
        for r in results
        if r.verdict == "failed" and r.name in required
    ]
    if threshold is not None and (score is None or score < threshold):
        text = shown(score)
        reasons.append(f"resilience score {text} is below the minimum {threshold:g}")
    if reasons:
        return ExitCode.FAILED, "failed", reasons
    failed = [r.name for r in results if r.verdict == "failed"]
    note = f" ({', '.join(failed)} failed but is not required)" if failed else ""
    scored = "" if score is None else f", score {shown(score)}"
    return ExitCode.PASSED, "passed", [f"gate passed{scored}{note}"]


def required_names(experiments: Sequence[tuple[str, bool]], min_score: float | None) -> set[str]:
    """The experiments (name, marked required) that must pass: the marked ones, or all when nothing else gates."""
    if min_score is None and not any(marked for _, marked in experiments):
        return {name for name, _ in experiments}
    return {name for name, marked in experiments if marked}
