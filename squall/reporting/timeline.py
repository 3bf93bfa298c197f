"""SLI timeline maths: downsampled buckets for drawing, exact per-segment numbers for tables."""

import math
from bisect import bisect_left, bisect_right
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from operator import itemgetter
from typing import Final

from squall.percentiles import nearest_rank

MAX_BUCKETS = 600


#: One SLI request: (t, target, ok, status, latency_ms, error) — a plain tuple, the control's row
#: shape; 100,000 of them are built per long run, and tuples cost a quarter of a NamedTuple.
#: A Prometheus sample (``source: prometheus``) carries its measured success ratio (0..1) as ``ok``.
Sample = tuple[float, str, bool | float, int | None, float | None, str | None]
T: Final = 0
TARGET: Final = 1
OK: Final = 2
STATUS: Final = 3
LATENCY: Final = 4
ERROR: Final = 5
#: the error a sample carries when the sampler gave up waiting (its latency is then a lower bound)
TIMEOUT: Final = "timeout"


@dataclass(frozen=True)
class Bucket:
    """Requests of one target within [t0, t1): count, success rate and p95 latency.

    ``capped``: the p95 is a request the sampler gave up on (its own timeout), so the real latency was
    at least that: a lower bound, not a measurement.
    """

    t0: float
    t1: float
    count: int
    success_rate: float
    p95_ms: float | None
    capped: bool = False


@dataclass(frozen=True)
class SegmentStats:
    """Exact numbers for one target over one segment of the run (before / during / after faults)."""

    target: str
    segment: str
    count: int
    success_rate: float | None
    p50_ms: float | None
    p95_ms: float | None
    p99_ms: float | None
    max_ms: float | None
    outcomes: dict[str, int]
    #: the lowest latency of a request the sampler timed out: latencies from here up are lower bounds
    capped_from_ms: float | None = None

    def is_lower_bound(self, value_ms: float | None) -> bool:
        """True when a latency of this segment is only a lower bound (the sampler's timeout cut it)."""
        return value_ms is not None and self.capped_from_ms is not None and value_ms >= self.capped_from_ms


@dataclass
class Timeline:
    """The SLI timeline of a run, per target."""

    interval_s: float | None
    targets: list[str]
    start: float
    end: float
    sample_count: int
    bucket_s: float
    buckets: dict[str, list[Bucket]] = field(default_factory=dict)
    segments: list[SegmentStats] = field(default_factory=list)
    #: per target: the longest pause between two samples that still belongs to one line (a slow service
    #: stretches the sampler's spacing up to its timeout; a longer silence is a real gap in the data)
    join_s: dict[str, float] = field(default_factory=dict)
    #: per target: the sampler's request timeout in ms, where the journal says it
    timeout_ms: dict[str, float] = field(default_factory=dict)
    #: (start, end, reason) while a verifier held the sampling (no samples then, on purpose)
    pauses: list[tuple[float, float, str]] = field(default_factory=list)


def _outcome(ok: bool | float) -> str:
    if isinstance(ok, bool):
        return "ok" if ok else "failed"
    return "PromQL sample"  # a success ratio, not one request


def _stats(target: str, segment: str, samples: list[Sample], timed_out: bool = True) -> SegmentStats:
    latencies = sorted(s[LATENCY] for s in samples if s[LATENCY] is not None)
    outcomes = Counter(
        s[ERROR] or (str(s[STATUS]) if s[STATUS] is not None else _outcome(s[OK])) for s in samples
    )
    ok = sum(float(s[OK]) for s in samples)  # a Prometheus sample counts as its success ratio
    capped = [s[LATENCY] for s in samples if s[ERROR] == TIMEOUT and s[LATENCY] is not None] if timed_out else []
    return SegmentStats(
        target=target,
        segment=segment,
        count=len(samples),
        success_rate=ok / len(samples) if samples else None,
        p50_ms=nearest_rank(latencies, 50),
        p95_ms=nearest_rank(latencies, 95),
        p99_ms=nearest_rank(latencies, 99),
        max_ms=latencies[-1] if latencies else None,
        outcomes=dict(outcomes.most_common()),
        capped_from_ms=min(capped) if capped else None,
    )


def _join_s(times: list[float], step: float, slowest_s: float) -> float:
    """How long a silence between two samples may be and still be drawn as one line.

    The sampler keeps one request in flight, so a slow service stretches its spacing up to interval +
    timeout (``slowest_s``); three typical spacings, or that with a margin, is still one line, a longer
    silence (sampling paused or stopped) is a gap.
    """
    stride = max(1, len(times) // 2000)  # a sample of the gaps tells the typical one; a long run has 100,000
    gaps = sorted(times[i + 1] - times[i] for i in range(0, len(times) - 1, stride))
    typical = gaps[len(gaps) // 2] if gaps else 0.0
    return max(3.0 * typical, 1.5 * step, 1.5 * slowest_s)


def _merge(windows: Iterable[tuple[float, float]]) -> list[tuple[float, float]]:
    """Overlapping fault windows as one."""
    merged: list[tuple[float, float]] = []
    for a, b in sorted(windows):
        if merged and a <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(b, merged[-1][1]))
        else:
            merged.append((a, b))
    return merged


def _segments(items: list[Sample], times: list[float], windows: list[tuple[float, float]]) -> dict[str, list[Sample]]:
    """Samples (sorted by time) split into before / during / between / after the fault windows (ends included)."""
    if not windows:
        return {"whole run": items}
    cuts = [(bisect_left(times, a), bisect_right(times, b)) for a, b in windows]
    out: dict[str, list[Sample]] = {"before fault": items[: cuts[0][0]], "during fault": [],
                                     "between faults": [], "after fault": items[cuts[-1][1]:]}
    for i, (lo, hi) in enumerate(cuts):
        out["during fault"].extend(items[lo:hi])
        if i + 1 < len(cuts):
            out["between faults"].extend(items[hi: cuts[i + 1][0]])
    return {k: v for k, v in out.items() if v}


def build(
    samples: Iterable[Sample],
    windows: Iterable[tuple[float, float | None]],
    interval_s: float | None = None,
    max_buckets: int = MAX_BUCKETS,
    timeouts_s: Mapping[str, float] | None = None,
) -> Timeline | None:
    """Bucket samples per target (at most ``max_buckets``) and compute exact segment statistics.

    ``timeouts_s``: the sampler's request timeout per target, where known (it marks capped latencies).
    """
    rows = sorted(samples, key=itemgetter(T))  # by time only: equal times keep their order
    if not rows:
        return None
    start, end = rows[0][T], rows[-1][T]
    closed = _merge((a, b if b is not None else max(end, a)) for a, b in windows)
    span = max(end - start, 1e-9)
    step = max(span / max_buckets, interval_s or 0.0, 1e-6)
    count = min(max_buckets, max(1, math.ceil(span / step)))
    step = span / count
    per_target: dict[str, list[Sample]] = {}
    for s in rows:
        per_target.setdefault(s[TARGET], []).append(s)
    timeline = Timeline(
        interval_s=interval_s,
        targets=sorted(per_target),  # a stable order: the same target keeps its colour from run to run
        start=start,
        end=end,
        sample_count=len(rows),
        bucket_s=step,
    )
    edges = [start + i * step for i in range(1, count)]
    for target, items in per_target.items():
        times = [s[T] for s in items]
        timed_out = TIMEOUT in map(itemgetter(ERROR), items)  # C-speed: most runs have no timeout at all
        bounds = [0, *(bisect_left(times, e) for e in edges), len(items)]
        buckets = []
        for i in range(count):
            slot = items[bounds[i]: bounds[i + 1]]
            if not slot:
                continue
            lat = sorted(s[LATENCY] for s in slot if s[LATENCY] is not None)
            p95 = nearest_rank(lat, 95)
            buckets.append(
                Bucket(
                    t0=start + i * step,
                    t1=start + (i + 1) * step,
                    count=len(slot),
                    success_rate=sum(float(s[OK]) for s in slot) / len(slot),
                    p95_ms=p95,
                    capped=timed_out and p95 is not None and any(
                        s[ERROR] == TIMEOUT and s[LATENCY] is not None and s[LATENCY] <= p95 for s in slot),
                )
            )
        timeline.buckets[target] = buckets
        timeout = (timeouts_s or {}).get(target)
        if timeout is not None:
            timeline.timeout_ms[target] = timeout * 1000.0
        timeline.join_s[target] = _join_s(times, step, (interval_s or 0.0) + (timeout or 0.0))
        for name, part in _segments(items, times, closed).items():
            timeline.segments.append(_stats(target, name, part, timed_out))
    return timeline
