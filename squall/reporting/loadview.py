"""The report's view of a run's load (``timeline.load`` of the run record): both groups per second, with intervals.

Per second and group the record has ``[second, group, requests, successes,
p50, p95, p99, p95_low, p95_high]``; the success ratio's interval is the
Wilson score interval at 95% (computed here), the p95's is the record's
order-statistic interval. The statistical verdict is the ``no_regression``
verifier's sentence, read from its check: the report never judges on its own.
"""

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from squall.outcome.reader import as_dict, as_list, num

Z95 = 1.959964
#: a run has at most an hour of load per group and second: more rows than this are not read
MAX_ROWS = 20_000
GROUP_ORDER = ("control", "experiment")


@dataclass(frozen=True)
class LoadSecond:
    """One group's requests in one second."""

    t0: float
    requests: int
    successes: int
    success_low: float
    success_high: float
    p95_ms: float | None
    p95_low: float | None
    p95_high: float | None

    @property
    def success_rate(self) -> float:
        """Successes per request in this second."""
        return self.successes / self.requests if self.requests else 0.0


@dataclass(frozen=True)
class GroupTotal:
    """One group over the whole load."""

    group: str
    requests: int
    success_rate: float | None


@dataclass
class LoadView:
    """What the report shows about the load."""

    groups: dict[str, list[LoadSecond]] = field(default_factory=dict)
    totals: list[GroupTotal] = field(default_factory=list)
    requests: int = 0
    dropped: int = 0
    processes: int = 0
    users: int | None = None
    workers: int | None = None
    experiment_share: float | None = None
    #: the statistical verdict in one sentence (the no_regression check's), and its design
    sentence: str = ""
    design: str = ""
    design_note: str = ""


def wilson(successes: int, n: int, z: float = Z95) -> tuple[float, float]:
    """The Wilson score interval of a proportion (0..1); (0, 1) for no requests."""
    if n <= 0:
        return 0.0, 1.0
    p = successes / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    low = 0.0 if successes == 0 else max(0.0, centre - half)  # exact at the ends (no rounding error)
    high = 1.0 if successes == n else min(1.0, centre + half)
    return low, high


def _count(value: Any) -> int | None:
    f = num(value)
    return int(f) if f is not None and f >= 0 and f == int(f) else None


def load_view(ext: Mapping[str, Any], checks: Sequence[Mapping[str, Any]], text: Any = str) -> LoadView | None:
    """The load of a run record (None without one); `checks` are the record's checks, `text` masks strings."""
    load = as_dict(as_dict(ext.get("timeline")).get("load"))
    if not load:
        return None
    view = LoadView()
    for row in as_list(load.get("seconds"))[:MAX_ROWS]:
        if not isinstance(row, (list, tuple)) or len(row) < 6:
            continue
        sec, group, n, ok = num(row[0]), str(row[1])[:32], _count(row[2]), _count(row[3])
        if sec is None or n is None or ok is None or ok > n or n == 0:
            continue
        low, high = wilson(ok, n)
        extra = list(row[7:9]) if len(row) >= 9 else [None, None]
        view.groups.setdefault(text(group), []).append(
            LoadSecond(sec, n, ok, low, high, num(row[5]), num(extra[0]), num(extra[1])))
    ordered = sorted(view.groups, key=lambda g: (GROUP_ORDER.index(g) if g in GROUP_ORDER else 9, g))
    view.groups = {g: sorted(view.groups[g], key=lambda s: s.t0) for g in ordered}
    for group, seconds in view.groups.items():
        n = sum(s.requests for s in seconds)
        view.totals.append(GroupTotal(group, n, sum(s.successes for s in seconds) / n if n else None))
    view.requests = _count(load.get("requests")) or 0
    view.dropped = _count(load.get("dropped")) or 0
    view.processes = _count(load.get("processes")) or 0
    settings = as_dict(load.get("settings"))
    view.users, view.workers = _count(settings.get("users")), _count(settings.get("workers"))
    view.experiment_share = num(settings.get("experiment_share"))
    for check in checks:  # the last no_regression verifier's verdict is the run's statistical verdict
        evidence = as_dict(check.get("evidence"))
        if isinstance(evidence.get("sentence"), str) and "effects" in evidence:
            view.sentence = text(evidence["sentence"])
            view.design = text(str(evidence.get("design") or ""))
            view.design_note = text(str(evidence.get("design_note") or ""))
    return view
