"""The combined game-day index page: verdict, score, a row per experiment linking its report, changes, trend."""

import os
from datetime import UTC, datetime
from pathlib import Path

import jinja2

from squall.gameday.decide import required_names
from squall.gameday.history import History
from squall.gameday.index_template import INDEX_HTML
from squall.gameday.model import GameDayResult
from squall.outcome import points_lost, shown
from squall.reporting.formatting import duration

_ENV = jinja2.Environment(autoescape=True, undefined=jinja2.StrictUndefined, keep_trailing_newline=True)
_ENV.globals["score_shown"] = shown  # one way to print a score on every page
_TEMPLATE = _ENV.from_string(INDEX_HTML)
_LINK_NAMES = {"html": "report", "junit": "junit", "markdown": "summary"}


def render_index(result: GameDayResult, history: History, *, at: Path) -> str:
    """The index page HTML for a page written at `at` (links are relative to it)."""
    links: dict[str, list[tuple[str, str]]] = {}
    for e in result.experiments:
        items = [(_LINK_NAMES.get(k, k), _rel(p, at)) for k, p in e.report_paths.items()]
        if e.journal_path is not None:
            items.append(("journal", _rel(e.journal_path, at)))
        links[e.name] = items
    total_weight = sum(e.weight for e in result.experiments if e.score is not None)
    lost = [p for e in result.experiments for p in points_lost(e.name, e.verdict, e.checks, e.weight, total_weight)]
    # Fragile demo runs are no trend: only this game day's own row, if it is one, stays in.
    suite_rows = [row for row in history.rows(suite=result.suite, kind="suite", limit=60)
                  if not row.fragile or row.stamp == result.stamp][:30]
    return _TEMPLATE.render(
        r=result,
        required=required_names([(e.name, e.required) for e in result.experiments], result.min_score),
        duration=duration,
        started=datetime.fromtimestamp(result.started, UTC).strftime("%Y-%m-%d %H:%M:%S"),
        links=links,
        lost=lost,
        previous=any(c.verdict_before is not None for c in result.changes),
        trend=list(reversed(suite_rows)),
        recent=suite_rows[:10],
    )


def _rel(path: Path, at: Path) -> str:
    return Path(os.path.relpath(path, at.parent)).as_posix()


def write_run_index(result: GameDayResult, history: History) -> Path:
    """Write `<run>/index.html` only (a game day refused as invalid does not replace the latest page)."""
    run_index = result.run_dir / "index.html"
    result.index_path = run_index
    run_index.write_text(render_index(result, history, at=run_index), encoding="utf-8")
    return run_index


def write_index(result: GameDayResult, history: History, base: Path) -> Path:
    """Write `<run>/index.html` and the folder's `index.html` (the latest game day); return the run's."""
    run_index = write_run_index(result, history)
    latest = base / "index.html"
    latest.write_text(render_index(result, history, at=latest), encoding="utf-8")
    return run_index
