"""`squall ...` and the same commands as `chaos squall ...` (Chaos Toolkit's cli_plugins entry point).

Sub-commands live beside the code they drive and are imported only when used,
so `squall --help` stays fast and one broken area cannot take the others down.
Exit codes are those of ``squall.exitcodes``. A usage error (an unknown
option or command, a missing argument, a directory where a file was expected)
exits 4, invalid input, for every command: click's own 2 would read as
"aborted" to a CI gate.
"""

import importlib
import sys
import traceback
from pathlib import Path
from typing import Any

import click

from squall import __version__
from squall.errors import ExperimentInvalid, SquallError
from squall.exitcodes import ExitCode

#: command name -> "module:attribute" of its click command
COMMANDS: dict[str, tuple[str, str]] = {
    "proxy": ("squall.proxy.cli:proxy", "Run the embedded Toxiproxy-compatible fault proxy."),
    "validate": ("squall.validate:command", "Check experiments and suites before anything runs."),
    "cleanup": ("squall.cli:cleanup", "Remove faults a crashed or killed run left behind."),
    "report": ("squall.reporting.cli:report", "Render HTML, JUnit and Markdown from a journal."),
    "reports": ("squall.reporting.cli:reports", "Manage report folders (prune)."),
    "demo": ("squall.demo.cli:demo", "Run the bundled demo system and its experiments."),
    "gameday": ("squall.gameday.cli:gameday", "Run, schedule and deploy game-day suites."),
    "gate": ("squall.gameday.cli:gate", "Run experiments as a CI staging gate."),
    "history": ("squall.gameday.cli:history", "Show past game-day runs, scores and verdicts."),
}


class LazyGroup(click.Group):
    """A click group whose sub-commands are imported on first use; usage errors exit 4 (invalid input)."""

    def make_context(self, info_name: str | None, args: list[str], parent: click.Context | None = None,
                     **extra: Any) -> click.Context:
        """Parse the group's own options; a usage error exits INVALID."""
        try:
            return super().make_context(info_name, args, parent=parent, **extra)
        except click.UsageError as exc:
            exc.exit_code = ExitCode.INVALID  # type: ignore[misc]  # an instance attribute shadows the class default
            raise

    def invoke(self, ctx: click.Context) -> Any:
        """Run the sub-command; usage errors exit INVALID, a squall error that got this far 4 or 5, a crash 5."""
        try:
            return super().invoke(ctx)
        except (click.UsageError, click.FileError) as exc:
            exc.exit_code = ExitCode.INVALID  # type: ignore[misc]  # an instance attribute shadows the class default
            raise
        except (click.ClickException, click.exceptions.Exit, click.exceptions.Abort):
            raise
        except ExperimentInvalid as exc:
            click.echo(f"error: {exc}", err=True)
            sys.exit(ExitCode.INVALID)
        except SquallError as exc:
            click.echo(f"error: {exc}", err=True)
            sys.exit(ExitCode.ERROR)
        except Exception:  # noqa: BLE001 - a bug: show it, but never exit 1 ("failed") for it
            click.echo(traceback.format_exc().rstrip(), err=True)
            click.echo(f"squall error: the command crashed (exit {int(ExitCode.ERROR)}); please report the traceback above",
                       err=True)
            sys.exit(ExitCode.ERROR)

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(COMMANDS)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name not in COMMANDS:
            return None
        target, _ = COMMANDS[cmd_name]
        module_name, attr = target.split(":")
        command = getattr(importlib.import_module(module_name), attr)
        assert isinstance(command, click.Command)
        return command

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        rows = [(name, help_) for name, (_, help_) in sorted(COMMANDS.items())]
        with formatter.section("Commands"):
            formatter.write_dl(rows)


@click.group(name="squall", cls=LazyGroup)
@click.version_option(__version__, prog_name="squall")
def main() -> None:
    """squall: prove that retries, timeouts, circuit breakers and fallbacks work."""


#: `chaos squall ...` runs the same code path as `squall ...`.
chaos_plugin = main


@click.command()
@click.option(
    "--ledger",
    "ledger_path",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Ledger file (default: $SQUALL_LEDGER or ~/.local/state/squall/ledger.jsonl).",
)
@click.option("--run-id", default=None, help="Only faults of this run.")
@click.option(
    "--all",
    "all_",
    is_flag=True,
    help="Also faults of runs that are still alive (default: only runs whose process is gone).",
)
@click.option("--dry-run", is_flag=True, help="List what would be removed, change nothing.")
def cleanup(ledger_path: Path | None, run_id: str | None, all_: bool, dry_run: bool) -> None:
    """Remove every fault the ledger still lists (after a SIGKILL, OOM or cancelled CI job)."""
    from squall.cleanup import cleanup as do_cleanup
    from squall.errors import LedgerError
    from squall.ledger import Ledger

    ledger = Ledger(ledger_path)
    only_orphaned = not all_ and run_id is None
    try:
        pending = [
            e for e in ledger.open_entries(run_id) if not (only_orphaned and e.owner_alive())
        ]
        for line in ledger.skipped:  # a fault such a line described is beyond squall: say so, go on
            click.echo(f"skipped unreadable {ledger.path} line {line.line}: {line.reason}", err=True)
        if not pending:
            click.echo(f"nothing to clean up (ledger: {ledger.path})")
            return
        if dry_run:
            for e in pending:
                click.echo(f"would remove: {e.description} [run {e.run_id}, {e.kind}]")
            return
        results = do_cleanup(ledger, run_id=run_id, only_orphaned=only_orphaned)
    except LedgerError as exc:
        click.echo(f"error: {exc}", err=True)
        sys.exit(ExitCode.ERROR)
    failed = unstruck = 0
    for result in results:
        if result.removed:
            click.echo(f"removed: {result.entry.description} ({result.message})")
            unstruck += not result.struck
        else:
            failed += 1
            click.echo(f"FAILED to remove: {result.entry.description}: {result.message}", err=True)
    if failed:
        click.echo(f"{failed} fault(s) still in place; they stay in {ledger.path}", err=True)
    if unstruck:
        click.echo(f"{unstruck} fault(s) removed but not struck off {ledger.path} (it cannot be written); "
                   "a later cleanup undoes them again, which is harmless", err=True)
    if failed or unstruck:
        sys.exit(ExitCode.ERROR)
