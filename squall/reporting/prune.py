"""Retention of report folders: remove those older than an age, optionally keeping the newest N."""

import re
import shutil
import time
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from squall.errors import ExperimentInvalid, ReportError

REPORT_FILES = ("report.html", "junit.xml", "summary.md")
_AGE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(s|m|h|d|w)?\s*$", re.IGNORECASE)
_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 7 * 86400}
_STARTED = re.compile(rb'<meta name="squall-run-started" content="([^"]*)"')


def parse_age(text: str) -> float:
    """An age like ``60d``, ``12h``, ``90m``, ``2w`` or ``3600s`` in seconds."""
    match = _AGE.match(text or "")
    if not match:
        raise ExperimentInvalid(
            f'age "{text}" is not valid (expected a number and a unit: s, m, h, d or w, e.g. 60d)'
        )
    return float(match.group(1)) * _UNITS[(match.group(2) or "d").lower()]


@dataclass(frozen=True)
class Folder:
    """A report folder and when its run happened."""

    path: Path
    run_time: float
    from_journal: bool  # False: the folder's modification time stood in


def run_time(folder: Path) -> tuple[float, bool]:
    """When the folder's run started (recorded in report.html), else the folder's newest mtime."""
    html = folder / "report.html"
    try:
        with html.open("rb") as fh:
            head = fh.read(4096)
        match = _STARTED.search(head)
        if match and match.group(1):
            return datetime.fromisoformat(match.group(1).decode()).timestamp(), True
    except (OSError, ValueError):
        pass
    times = [folder.stat().st_mtime]
    times += [(folder / name).stat().st_mtime for name in REPORT_FILES if (folder / name).exists()]
    return max(times), False


def report_folders(root: Path) -> list[Folder]:
    """The direct sub-folders of root that hold a squall report, newest run first."""
    if not root.is_dir():
        raise ReportError(f'report folder "{root}" does not exist (expected a directory of report folders)')
    found = []
    for child in root.iterdir():
        if child.is_symlink() or not child.is_dir():
            continue
        if not any((child / name).is_file() for name in REPORT_FILES):
            continue  # not ours: never delete what we did not write
        t, recorded = run_time(child)
        found.append(Folder(child, t, recorded))
    return sorted(found, key=lambda f: f.run_time, reverse=True)


def select(folders: list[Folder], older_than_s: float, keep: int = 0, now: float | None = None) -> list[Folder]:
    """The folders to remove: older than the age, except the newest ``keep``."""
    now = time.time() if now is None else now
    candidates = folders[max(keep, 0):]
    return [f for f in candidates if now - f.run_time > older_than_s]


def remove(folder: Folder) -> None:
    """Delete one report folder."""
    try:
        shutil.rmtree(folder.path)
    except OSError as exc:
        raise ReportError(f'cannot remove "{folder.path}": {exc.strerror or exc}') from exc
