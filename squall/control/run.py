"""One controlled run: run id, timeline, stop conditions, signal guard, fault removal and the journal extension."""

import logging
import os
import threading
import time
from collections.abc import Mapping
from contextlib import AbstractContextManager, nullcontext
from typing import Any

from squall import config
from squall.control import checks as vd
from squall.control import journal as jr
from squall.control.faults import FaultRemover
from squall.control.finish import finish_run
from squall.control.guard import SignalGuard
from squall.control.promsli import BurnRates, preflight
from squall.control.sampling import Timeline
from squall.control.settings import ControlSettings, SliTarget
from squall.control.stopconditions import evaluate
from squall.errors import SquallError
from squall.ledger import Ledger
from squall.load import LoadError, LoadRun
from squall.telemetry.tracing_config import TracingTarget, resolve
from squall.telemetry.tracing_suite import TRACEPARENT_ENV  # a game day's experiment span: the run span's parent

logger = logging.getLogger("chaostoolkit.squall")


class ControlledRun:
    """Everything the control keeps for one experiment run."""

    def __init__(
        self,
        settings: ControlSettings | None,
        invalid: str | None,
        configuration: Mapping[str, Any] | None,
        secrets: Mapping[str, Any] | None,
        experiment: Mapping[str, Any] | None,
    ) -> None:
        self.settings = settings or ControlSettings()
        self.invalid = invalid
        self.title = str((experiment or {}).get("title") or "experiment")
        # $SQUALL_RUN_ID: kept if a game-day runner set one, else made and exported
        # here, so activities and SLI traffic of this process share it
        self.run_id = config.run_id()
        self.ledger = Ledger(config.ledger_path(configuration))
        # OpenTelemetry tracing (off unless OTEL_EXPORTER_OTLP_*ENDPOINT or a `tracing:` section): decided here,
        # the SDK is imported only in begin() when it is on; its header values (tokens) are masked like secrets
        self.trace_target: TracingTarget | None = resolve(self.settings.tracing) if invalid is None else None
        self.tracing: Any = None  # squall.telemetry.tracing.RunTracing while a traced run is on
        self.mask = jr.SecretMask(secrets, configuration, experiment,
                                  extra=self.trace_target.headers.values() if self.trace_target else ())
        self.configuration = jr.configuration_used(configuration, self.mask)  # what the report shows as used
        self.unmask_logs = jr.mask_logs(self.mask)  # chaostoolkit.log must not carry a secret either
        self.started = time.time()
        self.ended: float | None = None
        self.phases: list[dict[str, Any]] = []
        self.checks: list[dict[str, Any]] = []
        self.during: dict[str, list[dict[str, Any]]] = {}
        self.failed: list[str] = []
        self.inconclusive: list[str] = []
        self.abort_reason: str | None = None
        self.stop_events: list[dict[str, Any]] = []
        self.method_active = False
        self.method_done = False
        self.armed_at = 0.0
        self.journal: dict[str, Any] | None = None
        self.schedule: Any = None
        self.finished = False
        self._seen: dict[int, Any] = {}  # id -> the object itself, so that an id is never reused
        self._lock = threading.RLock()
        self.watch = vd.TrafficWatch()
        self.faults = FaultRemover(self.ledger, self.run_id, before=self._snapshot_traffic if self.settings.check_traffic else None)
        self.timeline = Timeline(self.settings.sli, self.settings.max_samples, on_sample=self._on_sample,
                                 around=self._sampler_span)
        self.guard = SignalGuard(on_signal=self._on_signal)
        self.burn_rates = BurnRates(self.settings.sli)  # stop conditions computed by Prometheus
        self.load: LoadRun | None = None  # started in begin() when the arguments have a `load` section
        self._set_up_tracing()

    # -- lifecycle -----------------------------------------------------------
    def begin(self) -> None:
        """The experiment starts: sample SLIs and let signals interrupt it."""
        self.started = time.time()
        self.guard.raise_allowed = True
        if self.invalid is None:  # an unreachable Prometheus stops the run before anything is injected
            self.invalid = preflight(self.settings.sli)
        if self.invalid is None:
            self._start_tracing()
            self.timeline.start()
            self._start_load()

    def _start_load(self) -> None:
        if self.settings.load is None:
            return
        try:
            self.load = LoadRun(self.settings.load, self.run_id)
            self.load.start()
        except (LoadError, OSError) as exc:
            self.invalid = f"the load could not start ({exc})"
            self.stop_load()

    def stop_load(self) -> None:
        """Stop the Locust process(es) this run started (idempotent; their samples stay readable)."""
        if self.load is not None:
            self.load.stop()

    def _set_up_tracing(self) -> None:
        """With tracing on, import the SDK and make the exporter now (configure time), not inside the run."""
        if self.trace_target is None:
            return
        try:
            from squall.telemetry.tracing import start_tracing  # the SDK: imported only with tracing on

            self.tracing = start_tracing(self.trace_target, self.run_id)
        except Exception as exc:  # tracing never costs a run
            logger.warning("squall: tracing could not start (%s); the run goes on without it", exc)
            self.tracing = None

    def _start_tracing(self) -> None:
        if self.tracing is None:
            return
        try:
            self.tracing.start_run(self.title, self.started, parent=os.environ.get(TRACEPARENT_ENV))
        except Exception as exc:  # tracing never costs a run
            logger.warning("squall: tracing could not start (%s); the run goes on without it", exc)
            self.tracing.close()
            self.tracing = None

    def _sampler_span(self, target: SliTarget) -> AbstractContextManager[Any]:
        """The SLI sampler thread's span (its requests link to it); nothing with tracing off."""
        tracing = self.tracing
        return tracing.sampler(target.name, target.url) if tracing is not None else nullcontext()

    def activity_started(self, activity: Mapping[str, Any]) -> None:
        """An activity starts: with tracing on, its span (and a verifier's) becomes current in this thread."""
        if self.tracing is not None:
            module, func = vd.provider_of(activity)
            self.tracing.activity_started(activity, module, func)

    def activity_ended(self, activity: Mapping[str, Any], run: Mapping[str, Any] | None) -> None:
        """With tracing on, close the activity's spans; a verifier's check becomes an event on its span."""
        if self.tracing is None:
            return
        module, _ = vd.provider_of(activity)
        check = None
        if module.startswith(vd.VERIFY_PREFIX) and isinstance(run, Mapping):
            check = self.mask.apply(vd.verifier_check(run))
        self.tracing.activity_ended(activity, run if isinstance(run, Mapping) else None, check)

    def phase_start(self, name: str) -> None:
        """Open a phase (steady-state-before, method, steady-state-after, rollbacks)."""
        with self._lock:
            if not self.phases or self.phases[-1]["name"] != name or self.phases[-1]["end"] is not None:
                self.phases.append({"name": name, "start": time.time(), "end": None})

    def phase_end(self, name: str) -> None:
        """Close the phase if it is the open one."""
        with self._lock:
            if self.phases and self.phases[-1]["name"] == name and self.phases[-1]["end"] is None:
                self.phases[-1]["end"] = time.time()

    def method_started(self) -> None:
        """Arm the stop conditions."""
        self.phase_start("method")
        self.armed_at = time.time()
        self.method_active = True
        if self.load is not None and self.settings.load is not None:
            try:  # the faults start only after before_s of load, so both groups have a baseline
                self.load.wait_until(self.settings.load.before_s)
            except LoadError as exc:
                self.inconclusive.append(f"the load did not run: {exc}")
                self.stop_load()

    def method_ended(self) -> None:
        """Disarm the stop conditions; signals no longer raise past this point of chaoslib's flow."""
        self.method_active = False
        self.method_done = True
        self.guard.raise_allowed = False
        self.phase_end("method")
        if self.load is not None and self.settings.load is not None:
            if not (self.guard.received or self.abort_reason):  # after_s of load after the last heal
                time.sleep(self.settings.load.after_s)
            self.stop_load()

    # -- observations ----------------------------------------------------------
    def hypothesis_kind(self) -> str:
        """Which steady state this is, from where it runs."""
        if threading.current_thread() is not threading.main_thread():
            return "steady-state-during"  # chaoslib's continuous hypothesis thread
        return "steady-state-after" if self.method_done else "steady-state-before"

    def record_hypothesis(self, kind: str, state: Mapping[str, Any] | None) -> None:
        """Turn a hypothesis state into checks, failing the run if it was not met."""
        if not isinstance(state, Mapping) or id(state) in self._seen:
            return
        self._seen[id(state)] = state
        probes = [p for p in state.get("probes") or [] if isinstance(p, Mapping)]
        with self._lock:
            if kind == "steady-state-during":
                for run in probes:
                    self.during.setdefault(str((run.get("activity") or {}).get("name")), []).append(
                        vd.steady_state_check(run, "steady-state-during")
                    )
                return
            for run in probes:
                self.checks.append(vd.steady_state_check(run, kind))  # type: ignore[arg-type]
            if state.get("steady_state_met") is False:
                bad = next((c for c in self.checks[::-1] if not c["ok"]), None)
                where = "before the method" if kind == "steady-state-before" else "after the method"
                detail = f": {bad['summary']}" if bad else ""
                self.failed.append(f"the steady state {where} was not met{detail}")

    def record_activity(self, activity: Mapping[str, Any], run: Mapping[str, Any] | None) -> None:
        """Record verifiers and fault actions as they end."""
        if not isinstance(run, Mapping) or id(run) in self._seen:
            return
        self._seen[id(run)] = run
        module, _ = vd.provider_of(activity)
        with self._lock:
            if module.startswith(vd.VERIFY_PREFIX):
                check = vd.verifier_check(run)
                self.checks.append(check)
                if check["verdict"] == "inconclusive":
                    self.inconclusive.append(f'verifier "{check["name"]}" was inconclusive: {check["summary"]}')
                elif not check["ok"]:
                    self.failed.append(f'verifier "{check["name"]}" failed: {check["summary"]}')
            if self.method_active:
                reason = vd.failed_fault_action(run)
                if reason:
                    self.inconclusive.append(reason)
        if module.startswith(vd.ACTIONS_PREFIX) and self.settings.check_traffic:
            self._snapshot_traffic()

    def _snapshot_traffic(self) -> None:
        try:
            self.watch.snapshot(self.ledger.open_entries(self.run_id))
        except SquallError as exc:
            logger.info("squall: traffic snapshot failed: %s", exc)

    # -- stop conditions, signals, fault removal ---------------------------------
    def _on_sample(self) -> None:
        if not self.method_active or self.abort_reason or not self.settings.stop_conditions:
            return
        now = time.time()
        for condition in self.settings.stop_conditions:
            reason = evaluate(condition, self.timeline.recent, now, self.armed_at,
                              self.burn_rates.for_condition(condition))
            if reason:
                self.abort(condition.name, reason)
                return

    def abort(self, condition: str, reason: str) -> None:
        """A stop condition holds: remove the faults now, then stop the method."""
        with self._lock:
            if self.abort_reason:
                return
            self.abort_reason = f'stop condition "{condition}" fired: {reason}'
            self.stop_events.append({"t": time.time(), "condition": condition, "reason": reason})
        logger.error("squall: %s; removing faults and aborting the method", self.abort_reason)
        self.remove_faults()
        if not self.guard.interrupt_main(self.abort_reason) and self.journal is not None:
            self.journal["status"] = "aborted"  # chaoslib stops the method after the current activity

    def _on_signal(self, name: str) -> None:
        if not self.finished and self.abort_reason is None:  # an abort already removed them
            logger.warning("squall: %s received, removing this run's faults", name)
        self.remove_faults()

    def remove_faults(self) -> None:
        """Undo every fault this run's ledger entries still list."""
        self.faults.remove()

    # -- the end -------------------------------------------------------------------
    def finish(self, journal: dict[str, Any]) -> None:
        """Stop sampling, remove what is left, decide the verdict and write it into the journal (see ``finish``)."""
        if self.finished:  # declared both globally and in the experiment: one verdict
            return
        finish_run(self, journal)

    def close(self) -> None:
        """Last resort (cleanup_control): stop sampling, restore signals, remove anything left."""
        self.guard.raise_allowed = False
        self.timeline.stop()
        try:
            self.remove_faults()
            self.faults.sweep(interrupted=bool(self.guard.received or self.abort_reason))
            self.stop_load()
        finally:
            self.guard.restore()
            self.unmask_logs()
            self.burn_rates.close()
            if self.tracing is not None:  # a run that never finished: end its spans, flush (bounded)
                self.tracing.close()
