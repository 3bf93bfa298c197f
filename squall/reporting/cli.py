"""`squall report JOURNAL [-o DIR]` and `squall reports prune --older-than 60d [--keep N] [DIR]`."""

import sys
import time
from pathlib import Path
from typing import Any, NoReturn

import click

from squall.errors import FileInvalid, SquallError
from squall.exitcodes import ExitCode
from squall.reporting import prune as retention
from squall.reporting.masking import invalid_patterns

DEFAULT_ROOT = Path("reports")


def _fail(message: str, code: ExitCode) -> NoReturn:
    click.echo(f"error: {message}", err=True)
    sys.exit(code)


def _not_a_journal_hint(data: Any) -> str:
    """What a JSON object that is no journal seems to be, to say which file was meant."""
    if not isinstance(data, dict) or not data:
        return "; the file holds an empty object" if data == {} else ""
    if "activities" in data and ({"system", "chaoslib_version", "target"} & set(data)):
        return "; it looks like `chaos discover` output, not a run's journal"
    if "method" in data or "steady-state-hypothesis" in data:
        return "; it looks like an experiment, not a journal: run it with `chaos run` to get one"
    return ""


def load_journal(path: Path) -> dict[str, Any]:
    """Read a journal file safely (size, depth, UTF-8: squall.loader); exit 4 naming the problem when it is none."""
    from squall.loader import load_journal
    from squall.outcome.reader import NotAJournal, require_journal

    try:
        data = load_journal(path, "a Chaos Toolkit journal, e.g. journal.json")
    except FileInvalid as exc:
        where = f", line {exc.line}" if exc.line else ""
        hint = "" if "expected" in exc.message else " (expected the journal.json that `chaos run` writes)"
        _fail(f'journal "{exc.path}"{where}: {exc.message}{hint}', ExitCode.INVALID)
    if not isinstance(data, dict):
        _fail(f'journal "{path}" holds a JSON {type(data).__name__}, not an object '
              "(expected the journal.json that `chaos run` writes)", ExitCode.INVALID)
    try:
        require_journal(data, f'journal "{path}"')
    except NotAJournal as exc:
        _fail(f"{exc}{_not_a_journal_hint(data)}", ExitCode.INVALID)
    return data


def default_dir(slug: str, started: float | None) -> Path:
    """reports/<experiment-slug>-<UTC run start>/ (the run's start, else now)."""
    stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime(started if started is not None else time.time()))
    return DEFAULT_ROOT / f"{slug}-{stamp}"


@click.command()
@click.argument("journal", type=click.Path(path_type=Path, dir_okay=False))
@click.option("-o", "--output", "out_dir", type=click.Path(path_type=Path, file_okay=False), default=None,
              help="Folder for report.html, junit.xml and summary.md (default reports/<experiment>-<time>/).")
@click.option("--mask", "masks", multiple=True, metavar="REGEX",
              help="Also mask text matching this regular expression (repeatable).")
def report(journal: Path, out_dir: Path | None, masks: tuple[str, ...]) -> None:
    """Render report.html, junit.xml and summary.md from a Chaos Toolkit journal."""
    bad = invalid_patterns(masks)
    if bad:
        _fail("--mask " + "; ".join(bad) + " is not a valid regular expression", ExitCode.INVALID)
    data = load_journal(journal)
    from squall.reporting import build, write

    model = build(data, extra_patterns=masks)
    for warning in model.warnings:
        click.echo(f"warning: {warning}", err=True)
    target = out_dir if out_dir is not None else default_dir(model.slug, model.started)
    try:
        paths = write(model, target)
    except SquallError as exc:
        _fail(str(exc), ExitCode.ERROR)
    for path in paths.values():
        click.echo(str(path))


@click.group()
def reports() -> None:
    """Manage report folders."""


def _age_text(seconds: float) -> str:
    for unit, size in (("days", 86400), ("hours", 3600), ("minutes", 60)):
        if seconds >= 2 * size:
            return f"{seconds / size:.0f} {unit}"
    return f"{seconds:.0f} seconds"


@reports.command()
@click.argument("directory", type=click.Path(path_type=Path, file_okay=False), default=DEFAULT_ROOT)
@click.option("--older-than", "older_than", required=True, metavar="AGE",
              help="Remove report folders whose run is older than this (e.g. 60d, 12h, 2w).")
@click.option("--keep", type=click.IntRange(min=0), default=0, show_default=True,
              help="Always keep the newest N report folders, whatever their age.")
@click.option("--dry-run", is_flag=True, help="Say what would be removed, remove nothing.")
def prune(directory: Path, older_than: str, keep: int, dry_run: bool) -> None:
    """Remove report folders older than an age (by the run time each records, else its mtime)."""
    try:
        age = retention.parse_age(older_than)
        folders = retention.report_folders(directory)
    except SquallError as exc:
        _fail(str(exc), ExitCode.INVALID)
    now = time.time()
    doomed = retention.select(folders, age, keep, now)
    verb = "would remove" if dry_run else "removed"
    for folder in doomed:
        if not dry_run:
            try:
                retention.remove(folder)
            except SquallError as exc:
                _fail(str(exc), ExitCode.ERROR)
        basis = "run" if folder.from_journal else "modified"
        click.echo(f"{verb}: {folder.path} ({basis} {_age_text(now - folder.run_time)} ago)")
    kept = len(folders) - len(doomed)
    click.echo(f"{verb} {len(doomed)} report folder{'' if len(doomed) == 1 else 's'}, "
               f"kept {kept} in {directory}")
