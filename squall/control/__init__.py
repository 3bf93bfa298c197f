"""The squall Chaos Toolkit control: SLI timeline, stop conditions, no fault left behind, honest verdicts.

Declare it in an experiment (or globally in Chaos Toolkit settings)::

    controls:
      - name: squall
        provider:
          type: python
          module: squall.control
          arguments:
            sli:
              - {name: checkout, url: "http://127.0.0.1:8080/checkout", interval_s: 0.5, timeout_s: 0.4}
            stop_conditions:
              - {name: success-floor, kind: success_rate_below, threshold: 0.9, for_s: 10}
              - {name: budget, kind: burn_rate_above, slo: 0.99, threshold: 2.0, window_s: 30}
            report_dir: reports/checkout   # or $SQUALL_REPORT_DIR; `report: false` disables

Arguments: ``sli`` targets (``name``, ``url``, ``method``, ``interval_s`` default 1,
``timeout_s`` default 2, ``expect_status``, ``headers``; one request in flight per
target, ticks missed while it hangs are skipped; or ``source: prometheus`` with
``url`` the Prometheus server, ``success_ratio`` and optional ``latency_ms`` PromQL
where ``{window}`` becomes ``window_s`` (default 30), ``objective`` default 0.99,
see ``promsli``), ``stop_conditions``
(``success_rate_below``: ``threshold``, ``for_s``; ``burn_rate_above``: ``slo``,
``threshold``, ``window_s``; optional ``target`` and ``min_samples``, judged only
on samples taken since the method started), ``report``, ``report_dir``,
``max_samples`` (default 20,000), ``tracing`` (OpenTelemetry spans of the run over
OTLP/HTTP: ``endpoint``, ``headers``, ``service_name``, ``trace_url_template``,
``enabled``; also switched on by ``OTEL_EXPORTER_OTLP_ENDPOINT``, see
``squall.telemetry.tracing``) and ``check_traffic`` (default true: a proxy
fault the embedded proxy saw no traffic through makes the run inconclusive),
and ``load`` (``squall.load``: Locust in its own process for the whole method,
``targets`` or a ``locustfile``, ``users``, ``spawn_rate``, ``wait_s``,
``before_s``/``during_s``/``after_s``, ``experiment_share``, ``workers``,
``max_samples``; requests in the control or the experiment group by the
``squall.group`` baggage member; read by ``squall.verify.no_regression`` and
``retry_amplification``; every Locust process stopped by PID at the end, on
any error and on SIGINT/SIGTERM).

What it closes in Chaos Toolkit (chaostoolkit-lib 1.44):

- faults are removed from the fault ledger on normal end, after rollbacks, on
  SIGINT/SIGTERM within a second (whatever the rollback strategy) and on any
  exception; ``squall cleanup`` handles SIGKILL;
- a before-method steady state not met, a steady-state failure during the
  method (any hypothesis strategy) or a failed ``squall.verify`` check sets
  ``deviated``; a fault never injected or met by no traffic makes the run
  inconclusive; a stop condition aborts the method (and rollbacks still play);
  each of these makes ``chaos run`` exit non-zero, with the reason in
  ``journal["extensions"]`` (see docs/internals.md).

Chaos Toolkit swallows exceptions raised by controls, so bad arguments are
reported by interrupting the run before anything is injected.

The package's layout is the run's lifecycle; each concept has its module:

- ``settings``        the control's arguments, validated into frozen dataclasses
- ``sampling``        the background SLI sampler (bounded, one request in flight per target; verifiers may hold it)
- ``stopconditions``  success-rate floors and error-budget burn rates over the samples
- ``promsli``         SLIs read from Prometheus: the preflight before anything is injected, PromQL burn rates
- ``guard``           SIGINT/SIGTERM handling that removes the run's faults within a second
- ``faults``          removing the run's faults through the ledger, and the sweep for interrupted actions
- ``checks``          steady-state and verifier checks, fault windows, the traffic each fault met
- ``run``             one controlled run: what it observes while the experiment runs
- ``finish``          the end: stop, clean up, decide (``squall.outcome``), write the run record, mask, render
- ``journal``         secret masking, marking the journal, rendering the report
"""

import functools
import logging
from collections.abc import Callable
from typing import Any, TypeVar

from chaoslib import substitute
from chaoslib.exceptions import InterruptExecution

from squall.control.journal import set_extension
from squall.control.run import ControlledRun
from squall.control.settings import parse
from squall.errors import ExperimentInvalid

__all__ = [
    "after_activity_control",
    "after_experiment_control",
    "after_hypothesis_control",
    "after_method_control",
    "after_rollback_control",
    "before_activity_control",
    "before_experiment_control",
    "before_hypothesis_control",
    "before_method_control",
    "before_rollback_control",
    "cleanup_control",
    "configure_control",
]

#: the run being controlled in this process (chaoslib runs one experiment per Runner)
_current: ControlledRun | None = None

logger = logging.getLogger("chaostoolkit.squall")
F = TypeVar("F", bound=Callable[..., Any])


def _guarded(func: F) -> F:
    """Chaos Toolkit logs a failing control at debug level and carries on: say it loudly, and never pass the run."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except InterruptExecution:
            raise
        except Exception as exc:  # chaoslib would swallow it silently
            logger.exception("squall control: %s failed", func.__name__)
            if _current is not None:
                _current.inconclusive.append(f"the squall control failed in {func.__name__} ({exc})")
            return None

    return wrapper  # type: ignore[return-value]


def _events(run: ControlledRun) -> Any:
    """A chaoslib run-event handler: gives the control the journal and a hook before rollbacks are decided."""
    from chaoslib.run import RunEventHandler

    class Events(RunEventHandler):  # type: ignore[misc]
        def running(self, experiment: Any, journal: Any, configuration: Any, secrets: Any, schedule: Any, settings: Any) -> None:
            run.journal, run.schedule = journal, schedule

        def signal_exit(self) -> None:
            # chaoslib just marked the run "interrupted", which skips rollbacks under the
            # default strategy; an abort by a stop condition must still roll back
            if run.abort_reason and run.journal is not None:
                run.journal["status"] = "aborted"

        def continuous_hypothesis_completed(self, experiment: Any, journal: Any, exception: Any = None) -> None:
            # --fail-fast: chaoslib stops probing but lets the method run on; stop the method too
            if journal.get("status") == "failed" and not run.method_done and getattr(run.schedule, "fail_fast", False):
                run.abort("fail-fast", "the steady state deviated during the method (--fail-fast)")

    return Events()


def configure_control(
    configuration: dict[str, Any] | None = None,
    secrets: dict[str, Any] | None = None,
    settings: dict[str, Any] | None = None,
    experiment: dict[str, Any] | None = None,
    event_registry: Any = None,
    **arguments: Any,
) -> None:
    """Validate the arguments, set the run id and guard SIGINT/SIGTERM for this run."""
    global _current
    if _current is not None:  # declared twice (settings and experiment): one run, one control
        return
    parsed, invalid = None, None
    try:
        parsed = parse(substitute(arguments, configuration or {}, secrets or {}))
    except ExperimentInvalid as exc:
        invalid = str(exc)
    except Exception as exc:  # a raising configure_control would unregister the control
        logger.exception("squall control: reading the arguments failed")
        invalid = f"the arguments could not be read ({exc})"
    _current = ControlledRun(parsed, invalid, configuration, secrets, experiment)
    _current.guard.install()
    if event_registry is not None:
        event_registry.register(_events(_current))


@_guarded
def before_experiment_control(context: dict[str, Any], **kwargs: Any) -> None:
    """Start the SLI timeline; refuse to run on invalid arguments (nothing is injected yet)."""
    run = _current
    if run is None:
        return
    run.begin()
    if run.invalid:
        raise InterruptExecution(f"squall control: {run.invalid}")


@_guarded
def before_hypothesis_control(context: dict[str, Any], **kwargs: Any) -> None:
    """Open the steady-state phase."""
    if _current is None:
        return
    kind = _current.hypothesis_kind()
    if kind != "steady-state-during":
        if kind == "steady-state-after":
            _current.guard.raise_allowed = True
        _current.phase_start(kind)


@_guarded
def after_hypothesis_control(context: dict[str, Any], state: Any = None, **kwargs: Any) -> None:
    """Record the steady-state probes as checks."""
    if _current is None:
        return
    kind = _current.hypothesis_kind()
    _current.record_hypothesis(kind, state)
    if kind != "steady-state-during":
        _current.phase_end(kind)
        if kind == "steady-state-after":
            _current.guard.raise_allowed = False


@_guarded
def before_method_control(context: dict[str, Any], **kwargs: Any) -> None:
    """Arm the stop conditions."""
    if _current is not None:
        _current.method_started()


@_guarded
def after_method_control(context: dict[str, Any], state: Any = None, **kwargs: Any) -> None:
    """Disarm the stop conditions."""
    if _current is not None:
        _current.method_ended()


@_guarded
def before_activity_control(context: dict[str, Any], **kwargs: Any) -> None:
    """Refuse to start another method activity once the run was interrupted or aborted; open its span."""
    if _current is not None and _current.method_active:
        _current.guard.raise_pending()
    if _current is not None and isinstance(context, dict):
        _current.activity_started(context)


@_guarded
def after_activity_control(context: dict[str, Any], state: Any = None, **kwargs: Any) -> None:
    """Record verifier results and failed fault actions; close the activity's span."""
    if _current is not None and isinstance(context, dict):
        try:
            _current.record_activity(context, state)
        finally:
            _current.activity_ended(context, state)


@_guarded
def before_rollback_control(context: dict[str, Any], **kwargs: Any) -> None:
    """Open the rollbacks phase."""
    if _current is not None:
        _current.phase_start("rollbacks")
        _current.guard.raise_allowed = True


@_guarded
def after_rollback_control(context: dict[str, Any], state: Any = None, **kwargs: Any) -> None:
    """Remove whatever faults the rollbacks left in place."""
    if _current is not None:
        _current.guard.raise_allowed = False
        _current.phase_end("rollbacks")
        _current.remove_faults()


def after_experiment_control(context: dict[str, Any], state: Any = None, **kwargs: Any) -> None:
    """Remove what is left, decide the verdict, write the journal extension and render the report."""
    if _current is None or not isinstance(state, dict):
        return
    try:
        _current.finish(state)
    except Exception as exc:  # without a verdict the run must not pass
        logger.exception("squall control: deciding the verdict failed")
        if state.get("status") == "completed":
            state["status"] = "failed"
        set_extension(state, {
            "name": "squall", "run_id": _current.run_id, "verdict": "inconclusive",
            "reason": f"the squall control failed while deciding the verdict ({exc})",
        })


def cleanup_control() -> None:
    """Restore the signal handlers and remove any fault still listed (also after an unexpected error)."""
    global _current
    run, _current = _current, None
    if run is not None:
        run.close()
