"""Results where the team looks: each game day's or gate's verdict, score and per-mechanism outcome to a Pushgateway.

Pushed with prometheus-client's ``push_to_gateway`` under the grouping key
``{job: squall-gate | squall-gameday, suite, run_id}``, so every series carries
the run id (and each experiment's series its own ``experiment_run_id``: the
``X-Chaos-Run-Id`` of its traffic). Series (docs/internals.md):

- ``squall_run_verdict{verdict}`` 1 for the verdict, 0 for the others;
  ``squall_run_score``, ``squall_run_exit_code``, ``squall_run_duration_seconds``,
  ``squall_run_timestamp_seconds``
- ``squall_experiment_verdict{experiment, experiment_run_id, verdict}`` (1/0 likewise),
  ``squall_experiment_score{experiment, experiment_run_id}``
- ``squall_mechanism_outcome{experiment, experiment_run_id, mechanism, check, outcome}`` 1 per verifier

A push that fails returns a warning; it never changes a verdict or an exit code.
"""

import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from urllib.error import URLError

from prometheus_client import CollectorRegistry, Gauge, push_to_gateway

from squall.errors import ExperimentInvalid

__all__ = ["ExperimentOutcome", "MechanismOutcome", "RunOutcome", "check_url", "push"]

VERDICTS = ("passed", "failed", "aborted", "inconclusive", "invalid", "interrupted")
PUSH_TIMEOUT_S = 10.0


@dataclass(frozen=True)
class MechanismOutcome:
    """One verifier's verdict: the mechanism it checks (its function) and the check's name."""

    mechanism: str
    check: str
    outcome: str


@dataclass(frozen=True)
class ExperimentOutcome:
    """One experiment of the run."""

    name: str
    run_id: str
    verdict: str
    score: float | None
    mechanisms: Sequence[MechanismOutcome] = ()


@dataclass(frozen=True)
class RunOutcome:
    """A gate's or game day's result, as pushed."""

    job: str  # squall-gate | squall-gameday
    suite: str
    run_id: str
    verdict: str
    score: float | None
    exit_code: int
    duration_s: float
    experiments: Sequence[ExperimentOutcome] = field(default_factory=tuple)


def check_url(url: str) -> str:
    """The Pushgateway URL, or ExperimentInvalid saying what was expected."""
    if not isinstance(url, str) or not url.startswith(("http://", "https://")) or len(url.split("://", 1)[1]) == 0:
        raise ExperimentInvalid(f'--pushgateway "{url}" is not an http(s) URL (expected e.g. "http://127.0.0.1:9091")')
    return url.rstrip("/")


def registry_of(outcome: RunOutcome) -> CollectorRegistry:
    """The series of ``outcome`` in a registry of their own."""
    registry = CollectorRegistry(auto_describe=True)
    verdict = Gauge("squall_run_verdict", "1 for the run's verdict, 0 for the others.", ["verdict"], registry=registry)
    for name in VERDICTS:
        verdict.labels(name).set(1 if outcome.verdict == name else 0)
    if outcome.score is not None:
        Gauge("squall_run_score", "The run's resilience score (0-100).", registry=registry).set(outcome.score)
    Gauge("squall_run_exit_code", "The exit code the command gave.", registry=registry).set(outcome.exit_code)
    Gauge("squall_run_duration_seconds", "How long the run took.", registry=registry).set(outcome.duration_s)
    Gauge("squall_run_timestamp_seconds", "When the result was pushed (unix time).", registry=registry).set(time.time())
    labels = ["experiment", "experiment_run_id"]
    exp_verdict = Gauge("squall_experiment_verdict", "1 for each experiment's verdict, 0 for the others.",
                        [*labels, "verdict"], registry=registry)
    exp_score = Gauge("squall_experiment_score", "Each experiment's resilience score (0-100).", labels, registry=registry)
    mechanism = Gauge("squall_mechanism_outcome", "1 per verifier: the mechanism it checked and its outcome.",
                      [*labels, "mechanism", "check", "outcome"], registry=registry)
    for exp in outcome.experiments:
        for name in VERDICTS[:4]:
            exp_verdict.labels(exp.name, exp.run_id, name).set(1 if exp.verdict == name else 0)
        if exp.score is not None:
            exp_score.labels(exp.name, exp.run_id).set(exp.score)
        for m in exp.mechanisms:
            mechanism.labels(exp.name, exp.run_id, m.mechanism, m.check, m.outcome).set(1)
    return registry


def push(url: str, outcome: RunOutcome, timeout_s: float = PUSH_TIMEOUT_S) -> str | None:
    """Push ``outcome`` to the Pushgateway at ``url``; None when it was accepted, else a warning to show."""
    try:
        push_to_gateway(check_url(url), job=outcome.job, registry=registry_of(outcome),
                        grouping_key={"suite": outcome.suite, "run_id": outcome.run_id}, timeout=timeout_s)
    except (URLError, OSError, ValueError, ExperimentInvalid) as exc:
        reason = getattr(exc, "reason", None) or exc
        return f"could not push the result to the Pushgateway at {url}: {reason} (the verdict is unchanged)"
    return None
