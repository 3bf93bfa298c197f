"""The end of a controlled run: stop, clean up, decide, write the record, mask, render — one step each.

``finish_run`` is the only caller of the steps, in this order:

1. ``stop``      sampling stops, signals no longer interrupt, every fault still listed is removed;
2. ``findings``  what the run found, sorted by the verdict each finding calls for;
3. ``decide``    squall.outcome's one precedence rule turns them into a verdict and a reason;
4. ``record``    the journal extension (docs/internals.md) — the run record every consumer reads;
5. ``mask``      secrets leave the extension and the rest of the journal;
6. ``render``    the reports, when asked for (a renderer's failure never changes the verdict).
"""

import logging
import time
from typing import TYPE_CHECKING, Any

from squall import __version__, config, quiet
from squall.control import checks as vd
from squall.control import journal as jr
from squall.outcome import Findings, Verdict, decide, score
from squall.outcome.reader import checks_of

if TYPE_CHECKING:
    from squall.control.run import ControlledRun

logger = logging.getLogger("chaostoolkit.squall")


def _chaoslib_version() -> str:
    try:
        from chaoslib import __version__ as version

        return str(version)
    except ImportError:
        return "unknown"


def stop(run: "ControlledRun") -> None:
    """Stop sampling and signal handling, remove every fault this run still lists, close open phases."""
    run.guard.raise_allowed = False
    run.timeline.stop()
    run.remove_faults()
    run.stop_load()
    run.faults.sweep(interrupted=bool(run.guard.received or run.abort_reason))
    run.finished = True
    run.ended = time.time()
    for phase in run.phases:
        if phase["end"] is None:
            phase["end"] = run.ended


def findings(run: "ControlledRun", status: Any, observed: list[dict[str, Any]]) -> Findings:
    """Every reason the run found for a verdict other than passed (during-method checks are summed up here)."""
    inconclusive = list(run.inconclusive)
    if run.invalid:
        inconclusive.insert(0, f"invalid squall control arguments: {run.invalid}")
    for fault in observed:
        if not fault["injected"]:
            inconclusive.append(f'fault "{fault["fault"]}" was never applied')
        elif fault["observed_traffic"] == 0:
            inconclusive.append(f'fault "{fault["fault"]}" met no traffic on the proxy while it was active')
    for phase in (p for p in run.phases if p["name"] == "method"):  # Prometheus SLIs that gave no values
        inconclusive.extend(run.timeline.gaps(phase["start"], phase["end"] or time.time()))
    for item in run.faults.log:
        if not item["removed"]:
            inconclusive.append(f'fault "{item["description"]}" could not be removed: {item["message"]}')
    if run.abort_reason is None and not run.invalid:
        if run.guard.received:
            inconclusive.insert(0, f"interrupted by {run.guard.received} before the experiment finished")
        elif status == "interrupted":
            inconclusive.insert(0, "the experiment was interrupted before it finished")
        elif status == "aborted":
            inconclusive.insert(0, "the method ran into an unexpected error and was aborted")
    failed = list(run.failed)
    for name, runs in run.during.items():
        bad = [r for r in runs if not r["ok"]]
        check = dict(runs[-1])
        check.update(
            ok=not bad,
            summary=f"{name}: {len(bad)} of {len(runs)} checks during the method outside tolerance",
            start=runs[0]["start"],
            evidence={"iterations": len(runs), "failed": len(bad)},
        )
        run.checks.append(check)
        if bad:
            failed.append(f"the steady state failed during the method ({check['summary']})")
    return Findings([run.abort_reason] if run.abort_reason else [], inconclusive, failed)


def record(run: "ControlledRun", verdict: Verdict, reason: str, entries: list[Any],
           observed: list[dict[str, Any]]) -> dict[str, Any]:
    """The journal extension: the run record that reports, game days, the gate and history read back."""
    ended = run.ended if run.ended is not None else time.time()
    return {
        "name": "squall",
        "squall_version": __version__,
        "chaostoolkit_lib_version": _chaoslib_version(),
        "run_id": run.run_id,
        "verdict": verdict.value,
        "reason": reason,
        "started": run.started,
        "ended": ended,
        "phases": run.phases,
        "timeline": {
            "interval_s": run.timeline.interval_s,
            "targets": [{"name": t.name, "url": t.url, "interval_s": t.interval_s,
                         **({"source": "prometheus", "success_ratio": t.success_ratio, "latency_ms": t.latency_ms,
                             "window_s": t.window_s, "objective": t.objective} if t.source == "prometheus" else {})}
                        for t in run.settings.sli],
            "samples": run.timeline.snapshot(),
            "skipped_ticks": run.timeline.skipped_ticks,
            "truncated": run.timeline.truncated,
            # verifiers that attribute by time held the sampling: [start, end, reason]
            "held_ticks": run.timeline.held_ticks,
            "pauses": [p for p in quiet.pauses(run.started) if float(p[0]) <= ended],
            # Prometheus SLIs: [t, target, reason] of samples that gave no number (never counted as ok)
            "missing": run.timeline.missing,
            "missing_count": run.timeline.missing_count,
            # squall.load: per second and group [second, group, requests, successes, p50, p95, p99]
            "load": run.load.record() if run.load is not None else None,
        },
        "fault_windows": vd.fault_windows(entries),
        "stop_conditions": [c.describe() for c in run.settings.stop_conditions],
        "stop_events": run.stop_events,
        "checks": run.checks,
        "faults_observed": observed,
        "cleanup": run.faults.log,
        "secrets_masked": sorted(run.mask.names),
        "configuration": run.configuration,
        "fragile": config.fragile(),  # `squall demo --fragile`: reports and history keep it out of baselines
    }


def mask(run: "ControlledRun", journal: dict[str, Any]) -> None:
    """Replace every secret in the journal (the extension was masked as it was written)."""
    if run.mask:
        for key in list(journal):
            if key != "extensions":
                journal[key] = run.mask.apply(journal[key])


def finish_run(run: "ControlledRun", journal: dict[str, Any]) -> None:
    """Stop, clean up, decide, write the record, mask and render — in that order, once."""
    stop(run)
    entries = run.ledger.entries(run.run_id)
    observed = vd.faults_observed(entries, run.watch if run.settings.check_traffic else None)
    verdict, reason = decide(findings(run, journal.get("status"), observed))
    jr.mark_journal(journal, verdict)
    extension = run.mask.apply(record(run, verdict, reason, entries, observed))
    # the run's resilience score: the one formula every consumer uses (squall.outcome.score)
    extension["score"] = score(verdict, checks_of(extension))
    if run.tracing is not None and run.tracing.trace_id:  # the run's trace: the report's header, evidence links
        extension["trace"] = trace_record(run.tracing)
    jr.set_extension(journal, extension)
    mask(run, journal)
    (logger.info if verdict is Verdict.PASSED else logger.error)("squall verdict: %s: %s", verdict.value, reason)
    if run.settings.report:
        jr.render_report(journal, jr.report_dir(run.settings.report_dir, run.title, run.started))
    if run.tracing is not None:
        end_trace(run, extension, entries)


def trace_record(tracing: Any) -> dict[str, Any]:
    """The run record's ``trace``: the run's trace id, its link and the template for links to other traces."""
    return {"trace_id": tracing.trace_id, "url": tracing.trace_url(tracing.trace_id),
            "url_template": tracing.url_template}


def end_trace(run: "ControlledRun", extension: dict[str, Any], entries: list[Any]) -> None:
    """Fault-window spans from the ledger, then the run span with the verdict and score; a failure is only logged."""
    try:
        run.tracing.faults(entries, run.ended)
        run.tracing.end_run(str(extension["verdict"]), extension.get("score"), str(extension.get("reason") or ""),
                            [c for c in extension.get("checks") or [] if isinstance(c, dict)], run.ended)
    except Exception as exc:  # tracing never changes a verdict
        logger.warning("squall: tracing: ending the run's trace failed (%s)", exc)
