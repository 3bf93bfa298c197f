"""Keeping squall's own traffic out of a verdict: a process-wide hold on SLI sampling, and the SLI samples so far.

A verifier that can only attribute dependency calls by time cannot tell its
own requests' calls from those caused by the control's SLI sampler. So it
takes a **hold** (``with quiet.hold("verifier retries"):``): while any hold is
taken, the sampler skips its ticks (``sample_slot()`` answers False), and
taking a hold first waits (bounded) for the sampler requests already in
flight. Every hold is kept as a pause ``[start, end, reason]`` that the
control writes into the journal's timeline, so the report shows the gap.

The control's timeline also registers itself as the **SLI source**, so that a
verifier can read what the sampler measured for a URL (e.g. whether a fault
ever hurt the service) without importing the control: this module sits below
both (``squall.verify`` must not import ``squall.control``).
"""

import contextlib
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from typing import NamedTuple

__all__ = ["Hold", "SliPoint", "hold", "holding", "pauses", "register_sli_source", "sample_slot", "sli_points",
           "unregister_sli_source"]

#: how long taking a hold waits for sampler requests already in flight, at most
IN_FLIGHT_WAIT_S = 5.0
#: pauses kept in memory (oldest dropped first)
MAX_PAUSES = 1000


class SliPoint(NamedTuple):
    """One SLI sample as the control's timeline took it."""

    t: float  # unix time the request started
    ok: bool
    latency_ms: float


#: (url, since, until) -> the samples of that URL in [since, until]; None when the URL is not sampled
SliSource = Callable[[str, float, float], Sequence[SliPoint] | None]

_cond = threading.Condition()
_holds: dict[int, tuple[float, str]] = {}  # hold id -> (start, reason)
_pauses: list[tuple[float, float, str]] = []
_in_flight = 0
_next_id = 0
_source: SliSource | None = None


def holding() -> bool:
    """True while some verifier holds the SLI sampling."""
    with _cond:
        return bool(_holds)


class Hold:
    """One verifier's hold on SLI sampling; ``release()`` (or leaving the ``with`` block) ends it."""

    def __init__(self, reason: str, wait_s: float = IN_FLIGHT_WAIT_S) -> None:
        global _next_id
        with _cond:
            _next_id += 1
            self.key = _next_id
            self.reason = reason
            self.start = time.time()
            _holds[self.key] = (self.start, reason)
            #: whether the sampler requests in flight when the hold was taken ended within wait_s
            self.drained = _cond.wait_for(lambda: _in_flight == 0, timeout=max(0.0, wait_s))
        self.end: float | None = None

    def release(self) -> None:
        """End the hold (idempotent) and keep it as a pause."""
        with _cond:
            entry = _holds.pop(self.key, None)
            if entry is not None:
                self.end = time.time()
                _pauses.append((round(entry[0], 3), round(self.end, 3), entry[1]))
                del _pauses[:-MAX_PAUSES]
            _cond.notify_all()

    def __enter__(self) -> "Hold":
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()


def hold(reason: str, wait_s: float = IN_FLIGHT_WAIT_S) -> Hold:
    """Pause SLI sampling until the hold is released; waits (at most `wait_s`) for sampler requests in flight."""
    return Hold(reason, wait_s)


@contextlib.contextmanager
def sample_slot() -> Iterator[bool]:
    """For the sampler: yields False while a hold is taken (skip this tick), else True and counts the request in flight."""
    global _in_flight
    with _cond:
        allowed = not _holds
        if allowed:
            _in_flight += 1
    try:
        yield allowed
    finally:
        if allowed:
            with _cond:
                _in_flight -= 1
                _cond.notify_all()


def pauses(since: float = 0.0) -> list[list[float | str]]:
    """Holds that ended or are still open since `since`, as ``[start, end, reason]`` rows (end: now for open ones)."""
    now = round(time.time(), 3)
    with _cond:
        rows: list[list[float | str]] = [[s, e, r] for s, e, r in _pauses if e >= since]
        rows += [[round(s, 3), now, r] for s, r in _holds.values()]
    return sorted(rows, key=lambda row: float(row[0]))


def register_sli_source(source: SliSource) -> None:
    """The control's timeline registers itself here while it samples."""
    global _source
    with _cond:
        _source = source


def unregister_sli_source(source: SliSource) -> None:
    """Forget `source` if it is the registered one."""
    global _source
    with _cond:
        if _source == source:
            _source = None


def sli_points(url: str, since: float, until: float) -> Sequence[SliPoint] | None:
    """What the control's sampler measured for `url` in [since, until]; None when no sampler samples that URL."""
    with _cond:
        source = _source
    if source is None:
        return None
    return source(url, since, until)
