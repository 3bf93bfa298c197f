"""SLI timeline maths: downsampled buckets for drawing, exact per-segment numbers for tables."""

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from operator import itemgetter
from typing import NamedTuple

MAX_BUCKETS = 600


class Sample(NamedTuple):
    """One SLI request: when, against which target, whether it succeeded, its status and latency."""

    t: float
    target: str
    ok: bool
    status: int | None
    latency_ms: float | None
    error: str | None


@dataclass(frozen=True)
class Bucket:
    """Requests of one target within [t0, t1): count, success rate and p95 latency."""

    t0: float
    t1: float
    count: int
    success_rate: float
    p95_ms: float | None


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


def percentile(sorted_values: Sequence[float], q: float) -> float | None:
    """Nearest-rank percentile of already sorted values."""
    if not sorted_values:
        return None
    rank = max(1, math.ceil(q / 100 * len(sorted_values)))
    return sorted_values[min(rank, len(sorted_values)) - 1]


def _outcome(s: Sample) -> str:
    if s.error:
        return s.error
    return str(s.status) if s.status is not None else ("ok" if s.ok else "failed")


def _stats(target: str, segment: str, samples: list[Sample]) -> SegmentStats:
    latencies = sorted(s.latency_ms for s in samples if s.latency_ms is not None)
    outcomes: dict[str, int] = {}
    for s in samples:
        key = _outcome(s)
        outcomes[key] = outcomes.get(key, 0) + 1
    ok = sum(1 for s in samples if s.ok)
    return SegmentStats(
        target=target,
        segment=segment,
        count=len(samples),
        success_rate=ok / len(samples) if samples else None,
        p50_ms=percentile(latencies, 50),
        p95_ms=percentile(latencies, 95),
        p99_ms=percentile(latencies, 99),
        max_ms=latencies[-1] if latencies else None,
        outcomes=dict(sorted(outcomes.items(), key=lambda kv: -kv[1])),
    )


def _segment_of(t: float, windows: Sequence[tuple[float, float]]) -> str:
    if not windows:
        return "whole run"
    if t < windows[0][0]:
        return "before fault"
    for start, end in windows:
        if start <= t <= end:
            return "during fault"
    return "after fault" if t > windows[-1][1] else "between faults"


def build(
    samples: Iterable[Sample],
    windows: Iterable[tuple[float, float | None]],
    interval_s: float | None = None,
    max_buckets: int = MAX_BUCKETS,
) -> Timeline | None:
    """Bucket samples per target (at most ``max_buckets``) and compute exact segment statistics."""
    rows = sorted(samples, key=itemgetter(0))  # by time only: equal times keep their order
    if not rows:
        return None
    start, end = rows[0].t, rows[-1].t
    closed = sorted((a, b if b is not None else max(end, a)) for a, b in windows)
    span = max(end - start, 1e-9)
    step = max(span / max_buckets, interval_s or 0.0, 1e-6)
    count = min(max_buckets, max(1, math.ceil(span / step)))
    step = span / count
    per_target: dict[str, list[Sample]] = {}
    for s in rows:
        per_target.setdefault(s.target, []).append(s)
    timeline = Timeline(
        interval_s=interval_s,
        targets=list(per_target),
        start=start,
        end=end,
        sample_count=len(rows),
        bucket_s=step,
    )
    segment_order = ["whole run", "before fault", "during fault", "between faults", "after fault"]
    for target, items in per_target.items():
        slots: list[list[Sample]] = [[] for _ in range(count)]
        segments: dict[str, list[Sample]] = {}
        last = count - 1
        for s in items:
            i = int((s.t - start) / step)
            slots[min(last, i)].append(s)
        if closed:
            for s in items:
                segments.setdefault(_segment_of(s.t, closed), []).append(s)
        else:
            segments["whole run"] = items
        buckets = []
        for i, slot in enumerate(slots):
            if not slot:
                continue
            lat = sorted(s.latency_ms for s in slot if s.latency_ms is not None)
            buckets.append(
                Bucket(
                    t0=start + i * step,
                    t1=start + (i + 1) * step,
                    count=len(slot),
                    success_rate=sum(1 for s in slot if s.ok) / len(slot),
                    p95_ms=percentile(lat, 95),
                )
            )
        timeline.buckets[target] = buckets
        for name in segment_order:
            if name in segments:
                timeline.segments.append(_stats(target, name, segments[name]))
    return timeline
