"""After a game day: history rows, index page, Markdown and JUnit, CI job summary, webhook, retention."""

import os
import re
import shutil
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from squall.exitcodes import ExitCode
from squall.gameday.history import History, Row
from squall.gameday.index import write_index, write_run_index
from squall.gameday.model import GameDayResult
from squall.gameday.notify import send
from squall.gameday.output import write_outputs
from squall.gameday.suite import Suite
from squall.outcome import shown

_STAMP = re.compile(r"^\d{8}T\d{6}Z(-\d+)?$")


def finish(result: GameDayResult, suite: Suite, base: Path, say: Callable[..., Any]) -> None:
    """Record and publish a finished game day (every step here is best-effort but the reports)."""
    history = History.in_folder(base)
    result.changes = history.changes(
        suite.name, [(e.name, e.verdict, e.score) for e in result.experiments], before=result.stamp
    )
    rows = [
        Row(result.stamp, result.started, "experiment", suite.name, e.name, e.verdict, e.score, e.duration_s,
            str(e.report_paths.get("html") or e.report_dir), e.fragile)
        for e in result.experiments
    ]
    history.append([*rows, Row(result.stamp, result.started, "suite", suite.name, None, result.verdict,
                               result.score, result.duration_s, str(result.run_dir / "index.html"), result.fragile)])
    write_outputs(result)
    write_index(result, history, base)
    append_step_summary(result.summary_md)
    say(f"[bold]{result.verdict}[/] (exit {int(result.exit_code)}), score {shown(result.score)}: {result.index_path}", highlight=False)
    for reason in result.reasons:
        say(f"  {reason}", highlight=False)
    if suite.webhook:
        problem = send(suite.webhook, result, timeout_s=suite.webhook_timeout_s)
        if problem:
            say(f"[yellow]warning:[/] {problem}", highlight=False)
    if suite.keep_days:
        prune(base, suite.keep_days, keep=result.run_dir)


def finish_invalid(
    name: str, problems: Sequence[str], base: Path, stamp: str, started: float, *, suite: Suite | None = None
) -> GameDayResult:
    """The result of a game day refused before anything ran: summary and JUnit still written."""
    run_dir = base.resolve() / stamp
    result = GameDayResult(
        suite=suite.name if suite else name, stamp=stamp, run_dir=run_dir, started=started,
        duration_s=time.time() - started, exit_code=ExitCode.INVALID, verdict="invalid", score=None,
        reasons=[f"invalid input: {len(problems)} problem(s); nothing was run or injected"], experiments=[],
        problems=list(problems),
    )
    write_outputs(result)
    write_run_index(result, History.in_folder(base.resolve()))
    append_step_summary(result.summary_md)
    return result


def append_step_summary(markdown: str) -> None:
    """Append to $GITHUB_STEP_SUMMARY when running in GitHub Actions."""
    target = os.environ.get("GITHUB_STEP_SUMMARY")
    if target:
        with open(target, "a", encoding="utf-8") as fh:
            fh.write(markdown + "\n")


def prune(base: Path, keep_days: int, *, keep: Path) -> list[Path]:
    """Remove game-day folders older than `keep_days` (history rows stay); return what was removed."""
    cutoff = time.time() - keep_days * 86400
    removed = []
    for child in base.iterdir():
        if child.is_dir() and _STAMP.match(child.name) and child != keep and child.stat().st_mtime < cutoff:
            shutil.rmtree(child, ignore_errors=True)
            removed.append(child)
    return removed
