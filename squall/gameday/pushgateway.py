"""A game day's or gate's result as the Pushgateway series of ``squall.telemetry.pushgateway``, and the push."""

from collections.abc import Mapping
from typing import Any

from squall.control import checks as vd
from squall.gameday.model import ExperimentResult, GameDayResult
from squall.outcome.reader import read_journal_file
from squall.telemetry.pushgateway import ExperimentOutcome, MechanismOutcome, RunOutcome, push

__all__ = ["outcome_of", "push_result"]


def _mechanisms(result: ExperimentResult) -> list[MechanismOutcome]:
    """Each squall.verify activity of the run's journal: its function (the mechanism), name and verdict."""
    journal = read_journal_file(result.journal_path) if result.journal_path is not None else None
    out = []
    for run in (journal or {}).get("run") or []:
        if not isinstance(run, Mapping) or not isinstance(run.get("activity"), Mapping):
            continue
        module, func = vd.provider_of(run["activity"])
        if module.startswith(vd.VERIFY_PREFIX):
            check: dict[str, Any] = vd.verifier_check(run)
            out.append(MechanismOutcome(mechanism=func, check=str(check["name"]), outcome=str(check["verdict"])))
    return out


def outcome_of(result: GameDayResult, job: str) -> RunOutcome:
    """The pushed form of ``result``; the run id is the game day's stamp (each experiment keeps its own run id)."""
    return RunOutcome(
        job=job,
        suite=result.suite,
        run_id=result.stamp,
        verdict=str(result.verdict),
        score=result.score,
        exit_code=int(result.exit_code),
        duration_s=result.duration_s,
        experiments=tuple(
            ExperimentOutcome(name=e.name, run_id=e.run_id or "", verdict=str(e.verdict.value), score=e.score,
                              mechanisms=tuple(_mechanisms(e)))
            for e in result.experiments
        ),
    )


def push_result(url: str, result: GameDayResult, job: str) -> str | None:
    """Push ``result``; None when accepted, else a warning (never a changed verdict or exit code)."""
    try:
        outcome = outcome_of(result, job)
    except Exception as exc:  # reading journals back must not turn a push into a crash
        return f"could not push the result to the Pushgateway at {url}: {exc} (the verdict is unchanged)"
    return push(url, outcome)
