"""The report model: what every artifact shows, already masked and formatted for people."""

import enum
from dataclasses import dataclass, field

from squall.outcome import Verdict as Verdict  # re-exported: the report model speaks the one verdict type
from squall.reporting.loadview import LoadView
from squall.reporting.timeline import Timeline


class CheckKind(enum.StrEnum):
    """Where a check sits in the run."""

    BEFORE = "steady state before"
    DURING = "during method"
    AFTER = "steady state after"
    VERIFIER = "verifier"


@dataclass(frozen=True)
class Evidence:
    """One piece of a verifier's evidence, readable: a value, a series of numbers or a small table."""

    label: str
    text: str = ""
    numbers: tuple[float, ...] = ()
    headers: tuple[str, ...] = ()
    rows: tuple[tuple[str, ...], ...] = ()
    children: tuple["Evidence", ...] = ()


@dataclass(frozen=True)
class Check:
    """A steady-state probe, a during-method check or a verifier, with what it measured."""

    name: str
    kind: CheckKind
    ok: bool | None  # None: never ran or its result is unknown
    summary: str
    tolerance: str = "—"
    value: str = "—"
    start: float | None = None
    duration_s: float | None = None
    error: str = ""
    evidence: tuple[Evidence, ...] = ()


@dataclass(frozen=True)
class Activity:
    """One activity as it ran: where, how long, what it returned or raised."""

    name: str
    type: str  # action | probe
    phase: str
    provider: str
    status: str  # succeeded | failed | did not finish
    start: float | None
    duration_s: float | None
    output: str
    output_lines: int
    error: str = ""
    traceback: str = ""
    role: str = ""  # what it declares it does: inject, heal, probe, verify ("" when it declares nothing)


@dataclass(frozen=True)
class FaultWindow:
    """A fault that was in place from start to end (end None: never removed)."""

    description: str
    kind: str
    start: float | None
    end: float | None
    outcome: str


@dataclass(frozen=True)
class Objective:
    """A line the SLIs are judged against: an SLO target (from a steady-state probe) or a stop threshold."""

    metric: str  # "success_rate" (0..1) or "latency_ms"
    value: float
    label: str  # e.g. "SLO ≥ 99%", "SLO p95 ≤ 300 ms", "stop: success-floor < 20%"
    kind: str  # "slo" or "stop"


@dataclass(frozen=True)
class StopEvent:
    """A stop condition that fired."""

    t: float | None
    condition: str
    reason: str


@dataclass(frozen=True)
class CleanupItem:
    """What the end-of-run cleanup did to one fault."""

    description: str
    removed: bool
    message: str


@dataclass(frozen=True)
class Phase:
    """A phase of the run (steady state before, method, steady state after, rollbacks)."""

    name: str
    start: float | None
    end: float | None


@dataclass
class Report:
    """Everything a report shows about one run."""

    title: str
    slug: str
    description: str
    verdict: Verdict
    reason: str
    source: str  # "squall control" or "Chaos Toolkit journal"
    score: float | None = None
    run_id: str = ""
    started: float | None = None
    ended: float | None = None
    checks: list[Check] = field(default_factory=list)
    activities: list[Activity] = field(default_factory=list)
    fault_windows: list[FaultWindow] = field(default_factory=list)
    stop_conditions: list[str] = field(default_factory=list)
    objectives: list[Objective] = field(default_factory=list)
    fragile: bool = False  # a `squall demo --fragile` run: the service's resilience mechanisms were switched off
    trace_id: str = ""  # the run's OpenTelemetry trace (tracing on)
    trace_url: str = ""  # ... in the team's trace viewer (trace_url_template)
    stop_events: list[StopEvent] = field(default_factory=list)
    cleanup: list[CleanupItem] = field(default_factory=list)
    phases: list[Phase] = field(default_factory=list)
    faults_observed: list[tuple[str, str, str]] = field(default_factory=list)
    timeline: Timeline | None = None
    load: LoadView | None = None  # squall.load: control and experiment groups per second, the statistical verdict
    environment: list[tuple[str, str]] = field(default_factory=list)
    configuration: list[tuple[str, str]] = field(default_factory=list)
    secrets: list[tuple[str, str]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    #: verifiers' holds on the SLI sampling: (start, end, why)
    pauses: list[tuple[float, float, str]] = field(default_factory=list)
    #: what the reader should know about the report itself (a mask pattern that ran out of time), said once each
    warnings: list[str] = field(default_factory=list)

    @property
    def duration_s(self) -> float | None:
        """How long the run took, if both ends are known."""
        if self.started is None or self.ended is None:
            return None
        return max(0.0, self.ended - self.started)

    @property
    def verifiers(self) -> list[Check]:
        """The verifier checks."""
        return [c for c in self.checks if c.kind is CheckKind.VERIFIER]

    @property
    def steady_checks(self) -> list[Check]:
        """The steady-state and during-method checks."""
        return [c for c in self.checks if c.kind is not CheckKind.VERIFIER]

    @property
    def rollbacks(self) -> list[Activity]:
        """The rollback activities."""
        return [a for a in self.activities if a.phase == "rollbacks"]
