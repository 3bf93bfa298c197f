"""`squall validate FILE...`: check experiments and game-day suites before anything runs (exit 4 on a problem).

A file is checked as what it is: a game-day suite (squall.gameday.suite) or an
experiment (squall.validation). Warnings from the roles activities declare are
printed too; they do not change the exit code.
"""

import sys
from pathlib import Path

import click

from squall.errors import FileInvalid
from squall.exitcodes import ExitCode
from squall.gameday.suite import is_suite_document, validate_suite
from squall.validation import Problem, check_experiment, load_document, validate_experiment
from squall.validation.roles import role_warnings_of
from squall.validation.scopes import scope_lines_of

__all__ = ["Problem", "check_experiment", "command", "validate_experiment", "validate_file"]


def validate_file(path: Path | str, offline: bool = False) -> list[Problem]:
    """Check an experiment, or a game-day suite, by what the file holds; an unreadable file is a problem."""
    file = Path(path)
    try:
        doc, lines = load_document(file)
    except FileInvalid as exc:
        return [Problem(str(file), exc.message, line=exc.line)]
    if is_suite_document(doc):
        prefix = f"{file}: "
        return [p if isinstance(p, Problem) else Problem(str(file), str(p).removeprefix(prefix))
                for p in validate_suite(file)]
    return check_experiment(doc, str(file), lines, offline)


@click.command(name="validate")
@click.argument("files", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option("--offline", is_flag=True, help="Do not check that toxiproxy_url answers.")
def command(files: tuple[Path, ...], offline: bool) -> None:
    """Check experiments (and game-day suites) before anything runs: providers, arguments, tolerances, toxiproxy_url."""
    total = 0
    for file in files:
        problems = validate_file(file, offline=offline)
        total += len(problems)
        for problem in problems:
            click.echo(str(problem), err=True)
        for warning in role_warnings_of(file):
            click.echo(f"{file}: warning: {warning}", err=True)
        for line in scope_lines_of(file):  # what each HTTP fault aims at (squall.validation.scopes)
            click.echo(f"{file}: scope: {line}")
        if not problems:
            click.echo(f"{file}: valid")
    if total:
        click.echo(f"{total} problem(s) in {len(files)} file(s)", err=True)
        sys.exit(ExitCode.INVALID)
