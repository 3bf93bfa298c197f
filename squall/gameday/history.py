"""Run history: a row per suite run and per experiment run, in SQLite in the report folder."""

import sqlite3
from collections.abc import Iterator, Sequence
from contextlib import closing, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

HISTORY_FILE = "history.sqlite"

_SCHEMA = """
CREATE TABLE IF NOT EXISTS runs (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    stamp       TEXT NOT NULL,      -- the game day's run stamp, shared by its rows
    started     REAL NOT NULL,      -- unix seconds
    kind        TEXT NOT NULL,      -- 'suite' or 'experiment'
    suite       TEXT NOT NULL,
    experiment  TEXT,               -- NULL for the suite row
    verdict     TEXT NOT NULL,
    score       REAL,               -- NULL = not scored
    duration_s  REAL NOT NULL,
    report_path TEXT,
    fragile     INTEGER NOT NULL DEFAULT 0  -- 1: a `squall demo --fragile` run, never a baseline
);
CREATE INDEX IF NOT EXISTS runs_suite ON runs (suite, stamp);
"""


@dataclass(frozen=True)
class Row:
    """One history row."""

    stamp: str
    started: float
    kind: Literal["suite", "experiment"]
    suite: str
    experiment: str | None
    verdict: str
    score: float | None
    duration_s: float
    report_path: str | None
    fragile: bool = False

    def __post_init__(self) -> None:
        object.__setattr__(self, "fragile", bool(self.fragile))  # SQLite hands back 0 / 1


@dataclass(frozen=True)
class Change:
    """How one experiment moved since the previous game day of the same suite."""

    experiment: str
    verdict_before: str | None
    verdict_now: str
    score_before: float | None
    score_now: float | None

    @property
    def score_delta(self) -> float | None:
        """Score now minus score before (None if either was not scored)."""
        if self.score_before is None or self.score_now is None:
            return None
        return self.score_now - self.score_before

    @property
    def verdict_changed(self) -> bool:
        """True if the verdict differs from last time (or there was no last time)."""
        return self.verdict_before != self.verdict_now


class History:
    """The history database of one report folder."""

    def __init__(self, path: Path) -> None:
        self.path = path

    @classmethod
    def in_folder(cls, folder: Path) -> "History":
        """The history of a report folder (`<folder>/history.sqlite`)."""
        return cls(folder / HISTORY_FILE)

    @contextmanager
    def _db(self) -> Iterator[sqlite3.Connection]:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with closing(sqlite3.connect(self.path, timeout=30)) as conn:
            conn.executescript(_SCHEMA)
            if "fragile" not in {row[1] for row in conn.execute("PRAGMA table_info(runs)")}:
                conn.execute("ALTER TABLE runs ADD COLUMN fragile INTEGER NOT NULL DEFAULT 0")  # an older history
            with conn:
                yield conn

    def append(self, rows: Sequence[Row]) -> None:
        """Append rows in one transaction."""
        with self._db() as conn:
            conn.executemany(
                "INSERT INTO runs (stamp, started, kind, suite, experiment, verdict, score, duration_s, report_path,"
                " fragile) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                [
                    (r.stamp, r.started, r.kind, r.suite, r.experiment, r.verdict, r.score, r.duration_s, r.report_path,
                     int(r.fragile))
                    for r in rows
                ],
            )

    def rows(
        self, *, suite: str | None = None, kind: str | None = None, limit: int = 50, fragile: bool | None = None,
    ) -> list[Row]:
        """The newest rows first, optionally of one suite and kind; ``fragile=False`` leaves fragile runs out."""
        if not self.path.exists():
            return []
        where: list[str] = []
        args: list[str | int] = []
        if suite is not None:
            where.append("suite = ?")
            args.append(suite)
        if kind is not None:
            where.append("kind = ?")
            args.append(kind)
        if fragile is not None:
            where.append("fragile = ?")
            args.append(int(fragile))
        sql = ("SELECT stamp, started, kind, suite, experiment, verdict, score, duration_s, report_path, fragile"
               " FROM runs")
        if where:
            sql += " WHERE " + " AND ".join(where)
        sql += " ORDER BY started DESC, id DESC LIMIT ?"
        with self._db() as conn:
            return [Row(*rec) for rec in conn.execute(sql, (*args, limit))]

    def previous_stamp(self, suite: str, before: str) -> str | None:
        """The stamp of the suite's last game day before `before` (a fragile one is never the baseline)."""
        if not self.path.exists():
            return None
        with self._db() as conn:
            rec = conn.execute(
                "SELECT stamp FROM runs WHERE suite = ? AND kind = 'suite' AND stamp < ? AND fragile = 0"
                " ORDER BY stamp DESC LIMIT 1",
                (suite, before),
            ).fetchone()
        return rec[0] if rec else None

    def changes(self, suite: str, now: Sequence[tuple[str, str, float | None]], before: str) -> list[Change]:
        """Per experiment (name, verdict, score) of this game day: what changed since the previous one."""
        prev_stamp = self.previous_stamp(suite, before)
        prev: dict[str, tuple[str, float | None]] = {}
        if prev_stamp is not None:
            with self._db() as conn:
                for name, verdict, score in conn.execute(
                    "SELECT experiment, verdict, score FROM runs WHERE suite = ? AND stamp = ? AND kind = 'experiment'",
                    (suite, prev_stamp),
                ):
                    prev[name] = (verdict, score)
        return [
            Change(name, prev.get(name, (None, None))[0], verdict, prev.get(name, (None, None))[1], score)
            for name, verdict, score in now
        ]
