"""`squall gameday run|schedule|manifest`, `squall gate` and `squall history`: thin click shells over the gameday package."""

import shutil
import sys
from pathlib import Path
from typing import TYPE_CHECKING

import click

if TYPE_CHECKING:
    from rich.console import Console

    from squall.gameday.model import GameDayResult

from squall.exitcodes import ExitCode

_SUITE = click.Path(exists=True, dir_okay=False, path_type=Path)


def _pushgateway_url(ctx: click.Context, param: click.Parameter, value: str | None) -> str | None:
    if value is None:
        return None
    from squall.errors import ExperimentInvalid
    from squall.telemetry.pushgateway import check_url

    try:
        return check_url(value)
    except ExperimentInvalid as exc:
        raise click.BadParameter(str(exc)) from None


_PUSHGATEWAY = click.option(
    "--pushgateway", metavar="URL", default=None, callback=_pushgateway_url,
    help="Push the verdict, score and per-mechanism outcome to this Prometheus Pushgateway (a failed push only warns).")


def _push(url: str | None, result: "GameDayResult", job: str) -> None:
    """Push the result when asked; a failure is a warning, never a changed exit code."""
    if url is None:
        return
    from squall.gameday.pushgateway import push_result

    warning = push_result(url, result, job)
    if warning:
        click.echo(f"warning: {warning}", err=True)


def _console() -> "Console":
    from rich.console import Console

    return Console(stderr=True, soft_wrap=True)


@click.group()
def gameday() -> None:
    """Run, schedule and deploy game-day suites."""


@gameday.command("run")
@click.argument("suite", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--report-dir", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Where reports and history go (default: the suite's reports.dir).")
@click.option("--quiet", is_flag=True, help="No live progress.")
@_PUSHGATEWAY
def run(suite: Path, report_dir: Path | None, quiet: bool, pushgateway: str | None) -> None:
    """Run every experiment of SUITE in order, then write one combined report; exit with the gate's code."""
    from squall.gameday.runner import run_suite

    result = run_suite(suite, report_dir=report_dir, progress=not quiet, console=_console())
    if quiet:
        for problem in result.problems:
            click.echo(f"invalid: {problem}", err=True)
    _push(pushgateway, result, "squall-gameday")
    sys.exit(int(result.exit_code))


@gameday.command("schedule")
@click.argument("suite", type=_SUITE)
@click.option("--once", is_flag=True, help="Run the next occurrence, then exit with its code.")
@click.option("--report-dir", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Where reports and history go (default: the suite's reports.dir).")
def schedule(suite: Path, once: bool, report_dir: Path | None) -> None:
    """Stay in the foreground and run SUITE on its cron schedule (SIGTERM stops cleanly)."""
    from squall.errors import ExperimentInvalid
    from squall.gameday.schedule import run_schedule

    try:
        code = run_schedule(suite, once=once, report_dir=report_dir, console=_console())
    except ExperimentInvalid as exc:
        click.echo(str(exc), err=True)
        sys.exit(int(ExitCode.INVALID))
    sys.exit(int(code) if once else 0)


@gameday.command("manifest")
@click.argument("suite", type=_SUITE)
@click.option("--image", default=None, help="Container image running squall (default: ghcr.io/OWNER/squall:<version>, a placeholder).")
@click.option("--namespace", default=None, help="Namespace to put in the objects' metadata (default: none; use kubectl -n).")
@click.option("--reports-pvc", default=None, help="PersistentVolumeClaim for /reports, so history survives (default: emptyDir).")
@click.option("--load-workers", type=click.IntRange(0, 500), default=0, show_default=True,
              help="Also deploy N Locust workers (a Deployment) and a Service for the game day's Locust master.")
def manifest(suite: Path, image: str | None, namespace: str | None, reports_pvc: str | None, load_workers: int) -> None:
    """Print Kubernetes YAML (CronJob, ConfigMap, ServiceAccount, Role, RoleBinding) that runs SUITE on the cluster."""
    from squall.errors import ExperimentInvalid
    from squall.gameday.manifest import DEFAULT_IMAGE, render
    from squall.gameday.suite import load_suite

    try:
        text = render(load_suite(suite), image=image or DEFAULT_IMAGE, namespace=namespace, reports_pvc=reports_pvc,
                      load_workers=load_workers)
    except ExperimentInvalid as exc:
        click.echo(str(exc), err=True)
        sys.exit(int(ExitCode.INVALID))
    click.echo(text, nl=False)


@click.command("gate")
@click.argument("files", nargs=-1, required=True, type=click.Path(dir_okay=False, path_type=Path))
@click.option("--min-score", type=click.FloatRange(0, 100), default=None, help="Fail (exit 1) below this resilience score.")
@click.option("--junit", "junit_path", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Also write the combined JUnit XML here.")
@click.option("--report-dir", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Where reports go (default: the suite's reports.dir, or reports/gate).")
@click.option("--quiet", is_flag=True, help="No live progress.")
@_PUSHGATEWAY
def gate(files: tuple[Path, ...], min_score: float | None, junit_path: Path | None,
         report_dir: Path | None, quiet: bool, pushgateway: str | None) -> None:
    """Run a suite (or experiment files) as a CI gate: exit 0 passed, 1 failed, 2 aborted, 3 inconclusive, 4 invalid."""
    import time

    from squall.gameday.model import GameDayResult
    from squall.gameday.publish import finish_invalid
    from squall.gameday.runner import run_suite
    from squall.gameday.suite import Suite, looks_like_suite, suite_from_experiments

    suites = [f for f in files if looks_like_suite(f)]
    result: GameDayResult
    if suites and len(files) > 1:
        problem = f"{suites[0]}: give either one suite or experiment files, not both (got {len(files)} files)"
        stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())
        result = finish_invalid("gate", [problem], report_dir or Path("reports/gate"), stamp, time.time())
        quiet = True  # nothing printed it yet
    else:
        target: Path | Suite = files[0] if suites else suite_from_experiments(files, reports_dir=report_dir)
        result = run_suite(target, report_dir=report_dir, progress=not quiet, console=_console(), min_score=min_score,
                           kind="gate")
    if junit_path is not None and result.junit_path is not None:
        junit_path.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(result.junit_path, junit_path)
    if quiet:  # otherwise the live progress already showed them
        for problem in result.problems:
            click.echo(f"invalid: {problem}", err=True)
    click.echo(result.summary_md)
    _push(pushgateway, result, "squall-gate")
    sys.exit(int(result.exit_code))


@click.command("history")
@click.option("--suite", "suite_name", default=None, help="Only this suite's runs.")
@click.option("--report-dir", type=click.Path(file_okay=False, path_type=Path), default=Path("reports"), show_default=True,
              help="Folder holding history.sqlite, or a parent of suite report folders.")
@click.option("--limit", type=click.IntRange(1, 1000), default=20, show_default=True)
@click.option("--experiments", is_flag=True, help="Show a row per experiment run, not per game day.")
@click.option("--fragile", is_flag=True,
              help="Include `squall demo --fragile` runs (left out by default: their mechanisms were switched off).")
def history(suite_name: str | None, report_dir: Path, limit: int, experiments: bool, fragile: bool) -> None:
    """Show the last game days (or experiment runs): when, verdict, score, time, report."""
    from squall.gameday.history_table import history_table

    table, found = history_table(report_dir, suite=suite_name, limit=limit, experiments=experiments, fragile=fragile)
    if not found:
        click.echo(f"no game-day history under {report_dir} (looked for history.sqlite)", err=True)
        return
    from rich.console import Console

    Console().print(table)
