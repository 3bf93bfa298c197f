"""`squall history` as a rich table, gathered from every history database under a reports folder."""

from datetime import datetime
from pathlib import Path

from rich.table import Table

from squall.gameday.history import HISTORY_FILE, History, Row
from squall.outcome import shown
from squall.reporting.formatting import duration

_STYLE = {"passed": "green", "failed": "red", "aborted": "magenta", "inconclusive": "yellow", "invalid": "dim",
          "interrupted": "dim"}


def history_files(folder: Path) -> list[Path]:
    """history.sqlite in `folder` and in its sub-folders (one per suite), at most two levels down."""
    found = [folder / HISTORY_FILE] if (folder / HISTORY_FILE).is_file() else []
    found += sorted(p for p in folder.glob(f"*/{HISTORY_FILE}") if p.is_file())
    found += sorted(p for p in folder.glob(f"*/*/{HISTORY_FILE}") if p.is_file())
    return found


def history_rows(
    folder: Path, *, suite: str | None, limit: int, experiments: bool, fragile: bool = False,
) -> list[Row]:
    """The newest rows of every history under `folder`; `squall demo --fragile` runs only if `fragile`."""
    rows: list[Row] = []
    for path in history_files(folder):
        rows += History(path).rows(suite=suite, kind="experiment" if experiments else "suite", limit=limit,
                                   fragile=None if fragile else False)
    rows.sort(key=lambda r: r.started, reverse=True)
    return rows[:limit]


def history_table(
    folder: Path, *, suite: str | None, limit: int, experiments: bool, fragile: bool = False,
) -> tuple[Table, bool]:
    """A table of the last runs (fragile demo runs only if asked for), and whether any history was found at all."""
    found = bool(history_files(folder))
    rows = history_rows(folder, suite=suite, limit=limit, experiments=experiments, fragile=fragile)
    title = "squall game days" + (f" of {suite}" if suite else "")
    table = Table(title=title)
    if not fragile:
        every = history_rows(folder, suite=suite, limit=limit, experiments=experiments, fragile=True)
        hidden = sum(1 for r in every if r.fragile)
        if hidden:
            table.caption = f"{hidden} `squall demo --fragile` run(s) left out; --fragile shows them"
    table.add_column("when")
    table.add_column("suite")
    if experiments:
        table.add_column("experiment")
    table.add_column("verdict")
    table.add_column("score", justify="right")
    table.add_column("time", justify="right")
    table.add_column("report")
    for r in rows:
        when = datetime.fromtimestamp(r.started).astimezone().strftime("%Y-%m-%d %H:%M")
        cells = [when, r.suite] + ([r.experiment or ""] if experiments else [])
        cells += [
            f"[{_STYLE.get(r.verdict, 'white')}]{r.verdict}[/]" + (" [yellow](fragile)[/]" if r.fragile else ""),
            shown(r.score),
            duration(r.duration_s),
            r.report_path or "",
        ]
        table.add_row(*cells)
    return table, found
