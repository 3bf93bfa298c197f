"""Game-day suite files: load, validate, and the frozen model the runner works from.

A suite is YAML; every path in it is relative to the suite file::

    name: payments-weekly
    schedule: {cron: "0 10 * * TUE", timezone: Europe/Berlin}
    settle_s: 30
    experiments:
      - path: payment-latency.yaml
        weight: 3
        required: true
        vars: {checkout_url: "http://127.0.0.1:8080/checkout"}
      - path: inventory-hang.yaml
    gate: {min_score: 80}
    reports: {dir: reports/payments, keep_days: 60}
    notify: {webhook: "http://127.0.0.1:9000/hook"}
"""

import os
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from squall.errors import ExperimentInvalid, FileInvalid
from squall.loader import load

DEFAULT_SETTLE_S = 10.0
SUITE_KEYS = ("name", "description", "schedule", "settle_s", "experiments", "gate", "reports", "notify")
DEFAULT_EXPERIMENT_TIMEOUT_S = 900.0
EXPERIMENT_KEYS = ("path", "name", "weight", "required", "vars", "timeout_s")
SCHEDULE_KEYS = ("cron", "timezone")
GATE_KEYS = ("min_score", "required")
REPORTS_KEYS = ("dir", "keep_days")
NOTIFY_KEYS = ("webhook", "timeout_s")


@dataclass(frozen=True)
class SuiteExperiment:
    """One experiment of a suite, with its score weight, gate role and variables."""

    path: Path
    name: str
    weight: float = 1.0
    required: bool = False
    vars: dict[str, str] = field(default_factory=dict)
    #: past this the experiment is stopped with SIGTERM (its faults removed) and counts as inconclusive
    timeout_s: float = DEFAULT_EXPERIMENT_TIMEOUT_S


@dataclass(frozen=True)
class Schedule:
    """When a suite runs: a cron expression (5 fields, or 6 with seconds last) in a time zone."""

    cron: str
    timezone: str = "UTC"


@dataclass(frozen=True)
class Suite:
    """A validated game-day suite; paths are absolute."""

    name: str
    experiments: tuple[SuiteExperiment, ...]
    path: Path | None = None
    schedule: Schedule | None = None
    settle_s: float = DEFAULT_SETTLE_S
    min_score: float | None = None
    reports_dir: Path = Path("reports")
    keep_days: int | None = None
    webhook: str | None = None
    webhook_timeout_s: float = 5.0

    @property
    def gate_required(self) -> tuple[str, ...]:
        """Names of the experiments that must pass for the gate to pass."""
        return tuple(e.name for e in self.experiments if e.required)


def slugify(text: str) -> str:
    """A file-system- and URL-safe name."""
    slug = re.sub(r"[^a-zA-Z0-9._-]+", "-", text).strip("-.").lower()
    return slug or "experiment"


def suite_from_experiments(
    paths: Iterable[Path | str], *, name: str = "gate", reports_dir: Path | None = None
) -> Suite:
    """An ad-hoc suite of experiment files, each required, no settle time (what `squall gate FILE...` runs)."""
    # abspath, not resolve(): a symlink loop must reach the loader (and be reported), not raise here
    exps = unique_names(
        SuiteExperiment(path=Path(os.path.abspath(p)), name=slugify(Path(p).stem), required=True)
        for p in paths
    )
    return Suite(
        name=name,
        experiments=tuple(exps),
        settle_s=0.0,
        reports_dir=(reports_dir or Path("reports") / name).resolve(),
    )


def load_suite(path: Path | str) -> Suite:
    """Load and validate a suite file; raise ExperimentInvalid listing every problem."""
    from squall.gameday.suite_check import check

    problems, suite = check(Path(path))
    if problems or suite is None:
        raise ExperimentInvalid("invalid suite:\n  " + "\n  ".join(problems))
    return suite


def validate_suite(path: Path | str) -> list[str]:
    """Every problem of a suite file (and of its experiment files), each naming the file, the key and what was expected.

    Checks nothing over the network; the runner also checks that Toxiproxy answers.
    """
    from squall.gameday.suite_check import check

    problems, suite = check(Path(path))
    if suite is None:
        return problems
    from squall.gameday.preflight import static_problems

    for i, exp in enumerate(suite.experiments):
        problems.extend(f"{path}: experiments[{i}]: {p}" for p in static_problems(exp.path))
    return problems


def looks_like_suite(path: Path | str) -> bool:
    """True if a YAML/JSON file is a suite rather than an experiment (an unreadable file is not: its check says why)."""
    try:
        data = load(path).doc
    except FileInvalid:
        return False
    return is_suite_document(data)


def is_suite_document(data: Any) -> bool:
    """True if a loaded document is a suite (has a list of `experiments`, no `method`) rather than an experiment."""
    return isinstance(data, dict) and isinstance(data.get("experiments"), list) and "method" not in data


def unique_names(exps: Iterable[SuiteExperiment]) -> list[SuiteExperiment]:
    seen: dict[str, int] = {}
    out = []
    for e in exps:
        n = seen.get(e.name, 0) + 1
        seen[e.name] = n
        out.append(e if n == 1 else SuiteExperiment(e.path, f"{e.name}-{n}", e.weight, e.required, e.vars))
    return out
