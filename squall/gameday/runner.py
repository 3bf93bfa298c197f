"""Run a game-day suite: each experiment as its own `chaos run`, in order, then one combined report.

Each experiment runs in a subprocess (``python -m chaostoolkit run``) with
``SQUALL_RUN_ID`` and ``SQUALL_REPORT_DIR`` set, so the control writes its
report into ``<reports>/<stamp>/<experiment>/``. A crashing experiment costs
that experiment only. SIGINT/SIGTERM stops the current experiment with
SIGTERM (its control removes its faults), waits boundedly, then runs
``squall.cleanup`` for every run id of the game day.
"""

import json
import logging
import os
import signal
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Mapping
from contextlib import nullcontext
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from rich.console import Console

from squall.cleanup import cleanup
from squall.errors import ExperimentInvalid, FileInvalid
from squall.exitcodes import ExitCode
from squall.gameday.decide import decide
from squall.gameday.model import ExperimentResult, GameDayResult
from squall.gameday.preflight import check_suite_experiments
from squall.gameday.suite import Suite, SuiteExperiment, load_suite
from squall.ledger import Ledger
from squall.loader import load
from squall.outcome import Verdict, from_journal, shown, suite_score
from squall.outcome import score as run_score
from squall.outcome.reader import read_journal_file
from squall.reporting.formatting import duration as duration_text
from squall.telemetry.tracing_suite import mechanisms, start_suite

log = logging.getLogger("squall.gameday")

#: seconds a stopped experiment gets to roll back before it is killed
STOP_GRACE_S = 30.0
_ICON = {"passed": "[green]✔ passed[/]", "failed": "[red]✘ failed[/]", "aborted": "[magenta]■ aborted[/]",
         "inconclusive": "[yellow]? inconclusive[/]"}


class Stopper:
    """Turns SIGINT/SIGTERM into a flag (main thread only) and stops the running child."""

    def __init__(self) -> None:
        self.event = threading.Event()
        self.signum: int | None = None
        self.child: subprocess.Popen[bytes] | None = None
        self._previous: dict[int, Any] = {}

    def install(self) -> None:
        """Handle SIGINT/SIGTERM until `restore` (no-op off the main thread)."""
        if threading.current_thread() is not threading.main_thread():
            return
        for sig in (signal.SIGINT, signal.SIGTERM):
            self._previous[sig] = signal.signal(sig, self._handle)

    def restore(self) -> None:
        """Put the previous signal handlers back."""
        for sig, handler in self._previous.items():
            signal.signal(sig, handler)
        self._previous.clear()

    def stop(self, signum: int = signal.SIGTERM) -> None:
        """Ask the run to stop (what a signal does); safe from any thread."""
        if self.signum is None:
            self.signum = signum
        self.event.set()
        child = self.child
        if child is not None and child.poll() is None:
            try:
                child.send_signal(signal.SIGTERM)
            except ProcessLookupError:
                pass

    def _handle(self, signum: int, frame: object) -> None:
        self.stop(signum)

    def sleep(self, seconds: float) -> bool:
        """Sleep up to `seconds`; True if a stop was requested."""
        return self.event.wait(max(0.0, seconds))


def run_suite(
    suite: Suite | Path | str,
    *,
    report_dir: Path | None = None,
    env: Mapping[str, str] | None = None,
    progress: bool = True,
    console: Console | None = None,
    min_score: float | None = None,
    stopper: Stopper | None = None,
    kind: str = "gameday",
) -> GameDayResult:
    """Run every experiment of a suite and return the combined, scored result (never raises for a bad suite).

    With tracing on (OTEL_EXPORTER_OTLP_*ENDPOINT), a span ``squall.<kind>`` (gameday or gate) carries each
    experiment's verdict, score and per-mechanism outcome (``squall.telemetry.tracing_suite``).
    """
    from squall.gameday import publish

    console = console or Console(stderr=True, soft_wrap=True)
    say = console.print if progress else (lambda *a, **k: None)
    started = time.time()
    stamp = datetime.fromtimestamp(started, UTC).strftime("%Y%m%dT%H%M%SZ")
    if not isinstance(suite, Suite):
        suite_path = Path(suite)
        try:
            suite = load_suite(suite_path)
        except ExperimentInvalid as exc:
            base = report_dir or Path("reports")
            problems = [line.strip() for line in str(exc).splitlines()[1:]]
            for p in problems:
                say(f"[red]invalid:[/] {p}", highlight=False)
            return publish.finish_invalid(suite_path.stem, problems, base, stamp, started)
    base = (report_dir or suite.reports_dir).resolve()
    run_dir = _fresh_dir(base / stamp)
    problems = check_suite_experiments(suite, env)
    if problems:
        for p in problems:
            say(f"[red]invalid:[/] {p}", highlight=False)
        return publish.finish_invalid(suite.name, problems, base, run_dir.name, started, suite=suite)

    own_stopper = stopper is None
    stopper = stopper or Stopper()
    if own_stopper:
        stopper.install()
    results: list[ExperimentResult] = []
    left_behind = 0  # faults that could not be removed
    say(f"[bold]game day[/] {suite.name}: {len(suite.experiments)} experiment(s) -> {run_dir}", highlight=False)
    traced = start_suite(suite.name, kind, started, {**os.environ, **(env or {})})
    try:
        for i, exp in enumerate(suite.experiments):
            if stopper.event.is_set():
                results.append(_not_run(exp, run_dir, "not run: the game day was interrupted"))
                continue
            if i > 0 and suite.settle_s > 0:
                say(f"  settling {suite.settle_s:g} s", style="dim")
                if stopper.sleep(suite.settle_s):
                    results.append(_not_run(exp, run_dir, "not run: the game day was interrupted"))
                    continue
            say(f"▶ {exp.name} ({exp.path.name})", highlight=False)
            # a spinner on a terminal; CI logs get only the result lines
            spinner = console.status(f"running {exp.name}…") if progress and console.is_terminal else nullcontext()
            begun = time.time()
            child_env = {**(env or {}), **(traced.begin(exp.name, begun) if traced else {})}
            with spinner:
                res = _run_one(exp, run_dir, child_env, stopper)
            if traced:
                traced.end(exp.name, res.run_id, res.verdict.value, res.score, mechanisms(res.checks), time.time())
            results.append(res)
            left_behind += _remove_leftovers(res, say)
            score = shown(res.score)
            say(f"  {_ICON[res.verdict]} {exp.name} in {duration_text(res.duration_s)}, score {score} — {res.reason}",
                highlight=False)
    finally:
        if own_stopper:
            stopper.restore()

    weights = {e.name: e.weight for e in suite.experiments}
    total = suite_score([(weights[r.name], r.score) for r in results])
    exit_code, verdict, reasons = decide(suite, results, total, min_score)
    if stopper.signum is not None:
        exit_code, verdict = ExitCode.ABORTED, "interrupted"
        reasons.insert(0, f"interrupted by {signal.Signals(stopper.signum).name}; faults of the game day were cleaned up")
    if left_behind:
        exit_code = ExitCode.ERROR
        reasons.insert(0, f"{left_behind} fault(s) could not be removed; they stay in the ledger for `squall cleanup`")
    result = GameDayResult(
        suite=suite.name, stamp=run_dir.name, run_dir=run_dir, started=started, duration_s=time.time() - started,
        exit_code=exit_code, verdict=verdict, score=total, reasons=reasons, experiments=results,
        min_score=min_score if min_score is not None else suite.min_score, interrupted=stopper.signum,
    )
    if traced:
        traced.finish(str(verdict), total, int(exit_code), reasons)
    publish.finish(result, suite, base, say)
    return result


def _fresh_dir(path: Path) -> Path:
    candidate, n = path, 1
    while candidate.exists():
        n += 1
        candidate = path.with_name(f"{path.name}-{n}")
    candidate.mkdir(parents=True)
    return candidate


def _not_run(exp: SuiteExperiment, run_dir: Path, reason: str) -> ExperimentResult:
    return ExperimentResult(
        name=exp.name, path=exp.path, verdict=Verdict.INCONCLUSIVE, reason=reason, score=None, weight=exp.weight,
        required=exp.required, checks=(), report_paths={}, journal_path=None, duration_s=0.0, run_id=None,
        returncode=None, report_dir=run_dir / exp.name,
    )


def _control_file(run_dir: Path, exp: SuiteExperiment) -> Path | None:
    """A global-control file adding squall.control when the experiment does not declare it among its controls."""
    try:
        doc = load(exp.path, "an experiment file in YAML or JSON").doc
    except FileInvalid:
        return None  # the preflight already refused it; chaos run will say so too
    controls = doc.get("controls") if isinstance(doc, dict) else None
    for control in controls if isinstance(controls, list) else []:
        provider = control.get("provider") if isinstance(control, dict) else None
        if isinstance(provider, dict) and provider.get("module") == "squall.control":
            return None
    path = run_dir / "controls.json"
    if not path.exists():
        path.write_text(json.dumps({"squall": {"provider": {"type": "python", "module": "squall.control"}}}))
    return path


def _run_one(exp: SuiteExperiment, run_dir: Path, env: Mapping[str, str] | None, stopper: Stopper) -> ExperimentResult:
    out_dir = run_dir / exp.name
    out_dir.mkdir(parents=True, exist_ok=True)
    journal_path = out_dir / "journal.json"
    run_id = uuid.uuid4().hex[:12]
    cmd = [sys.executable, "-m", "chaostoolkit", "--no-version-check", "--log-file", str(out_dir / "chaostoolkit.log"),
           "run", "--journal-path", str(journal_path)]
    for key, value in exp.vars.items():
        cmd += ["--var", f"{key}={value}"]
    control = _control_file(run_dir, exp)
    if control is not None:
        cmd += ["--control-file", str(control)]
    cmd.append(str(exp.path))
    child_env = {**os.environ, **(env or {}), "SQUALL_REPORT_DIR": str(out_dir), "SQUALL_RUN_ID": run_id}
    started = time.time()
    with open(out_dir / "chaos-output.txt", "wb") as output:
        proc = subprocess.Popen(cmd, env=child_env, stdout=output, stderr=subprocess.STDOUT, start_new_session=True)
        stopper.child = proc
        try:
            returncode, timed_out = _wait(proc, stopper, exp.timeout_s)
        finally:
            stopper.child = None
    duration = time.time() - started
    journal = read_journal_file(journal_path)
    return experiment_result(exp, journal, returncode=returncode, timed_out=timed_out, duration_s=duration,
                             run_id=run_id, out_dir=out_dir, journal_path=journal_path,
                             reports=_reports(out_dir, journal))


def experiment_result(exp: SuiteExperiment, journal: dict[str, Any] | None, *, returncode: int | None,
                      timed_out: bool, duration_s: float, run_id: str | None, out_dir: Path,
                      journal_path: Path, reports: dict[str, Path]) -> ExperimentResult:
    """One experiment's result from the journal its run wrote: verdict, reason and score come from squall.outcome."""
    outcome = from_journal(journal, returncode=returncode)
    # One duration per run: the one its journal (and so its report) gives; the process's own time only without one.
    duration = outcome.duration_s if outcome.duration_s is not None else duration_s
    verdict, reason = outcome.verdict, outcome.reason
    if timed_out:
        verdict = Verdict.INCONCLUSIVE
        reason = f"stopped after its timeout_s of {exp.timeout_s:g} s (SIGTERM; its faults were removed)"
    return ExperimentResult(
        name=exp.name, path=exp.path, verdict=verdict, reason=reason,
        score=run_score(verdict, outcome.checks), weight=exp.weight, required=exp.required,
        checks=outcome.checks, report_paths=reports, journal_path=journal_path if journal is not None else None,
        duration_s=duration, run_id=run_id, returncode=returncode, report_dir=out_dir, title=outcome.title,
        fragile=outcome.fragile,
    )


def _wait(proc: "subprocess.Popen[bytes]", stopper: Stopper, timeout_s: float) -> tuple[int, bool]:
    """Wait for the child (at most `timeout_s`); return its exit code and whether it ran out of time.

    After a stop request or the timeout the child gets SIGTERM (its squall control
    removes the faults), STOP_GRACE_S to roll back, then SIGKILL.
    """
    deadline = time.monotonic() + timeout_s
    while True:
        try:
            return proc.wait(timeout=0.2), False
        except subprocess.TimeoutExpired:
            pass
        timed_out = time.monotonic() >= deadline
        if stopper.event.is_set() or timed_out:
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
            try:
                return proc.wait(timeout=STOP_GRACE_S), timed_out
            except subprocess.TimeoutExpired:
                proc.kill()
                return proc.wait(timeout=10), timed_out


def _reports(out_dir: Path, journal: dict[str, Any] | None) -> dict[str, Path]:
    """The experiment's report files; renders them if the control did not (and the renderer is installed)."""
    names = {"html": "report.html", "junit": "junit.xml", "markdown": "summary.md"}
    if journal is not None and not (out_dir / "report.html").exists():
        try:
            from squall.reporting import render

            render(journal, out_dir)
        except ImportError:
            pass
        except Exception as exc:  # noqa: BLE001 - a report is a nicety here; the verdict stands without it
            log.warning("could not render the report for %s: %s", out_dir.name, exc)
    return {kind: out_dir / name for kind, name in names.items() if (out_dir / name).exists()}


def _remove_leftovers(res: ExperimentResult, say: Any) -> int:
    """Undo what the finished experiment's run still lists in the ledger (a crash or kill); return failures."""
    if res.run_id is None:
        return 0
    failed = 0
    for item in cleanup(Ledger(), run_id=res.run_id):
        if item.removed:
            say(f"  [yellow]removed a fault the run left behind:[/] {item.entry.description} ({item.message})",
                highlight=False)
        else:
            failed += 1
            say(f"  [red]could NOT remove:[/] {item.entry.description} ({item.message})", highlight=False)
    return failed
