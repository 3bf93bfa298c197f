"""The results a game day produces: per experiment and for the whole suite."""

from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from squall.exitcodes import ExitCode
from squall.gameday.history import Change
from squall.outcome import Check, Verdict

SuiteVerdict = Literal["passed", "failed", "aborted", "inconclusive", "invalid", "interrupted"]


@dataclass(frozen=True)
class ExperimentResult:
    """One experiment's run within a game day."""

    name: str
    path: Path
    verdict: Verdict
    reason: str
    score: float | None
    weight: float
    required: bool
    checks: tuple[Check, ...]
    report_paths: dict[str, Path]
    journal_path: Path | None
    duration_s: float
    run_id: str | None
    returncode: int | None
    report_dir: Path
    title: str = ""
    fragile: bool = False  # run against `squall demo --fragile` (the journal says so)


@dataclass
class GameDayResult:
    """A whole game day: verdict, score, exit code and where its reports are."""

    suite: str
    stamp: str
    run_dir: Path
    started: float
    duration_s: float
    exit_code: ExitCode
    verdict: SuiteVerdict
    score: float | None
    reasons: list[str]
    experiments: list[ExperimentResult]
    min_score: float | None = None
    interrupted: int | None = None
    problems: list[str] = field(default_factory=list)
    changes: list[Change] = field(default_factory=list)
    index_path: Path | None = None
    summary_path: Path | None = None
    junit_path: Path | None = None
    summary_md: str = ""

    @property
    def fragile(self) -> bool:
        """True when the game day ran against `squall demo --fragile`: not the service's real resilience."""
        return any(e.fragile for e in self.experiments)
