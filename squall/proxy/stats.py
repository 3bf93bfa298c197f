"""Per-proxy traffic statistics: connections (each with its outcome), bytes each way, and HTTP/1.x requests.

HTTP toxics (``http_error``, ``http_latency``) are counted per toxic: requests
their scope matched, did not match, and that they faulted (answered or
delayed); each event names the toxics whose scope matched it and those that
faulted it. Those counts outlive the toxic (a verifier reads them after the
heal) until the stats are cleared; docs/internals.md shows the shape.
"""

import time
from collections import Counter, deque
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

from squall.tracecontext import parse_baggage, parse_traceparent

if TYPE_CHECKING:
    from squall.proxy.spec import ToxicSpec

#: how many HTTP events, and how many connection records, a proxy keeps (newest last)
EVENT_RING = 10_000

EventError = Literal["reset", "closed", "timeout"]
ConnOutcome = Literal["open", "closed", "reset", "refused", "timeout"]


@dataclass(slots=True)
class HttpEvent:
    """One HTTP request seen on the proxy; ``status`` stays None until the response head arrives."""

    ts: float
    conn: int
    method: str
    path: str
    run_id: str | None
    traceparent: bytes | None = None  # the raw headers: parsed when the stats are read, off the forwarding path
    baggage_header: bytes | None = None
    status: int | None = None
    duration_ms: float | None = None
    injected: bool = False
    error: EventError | None = None
    _trace: tuple[str | None, dict[str, str]] | None = field(default=None, repr=False)
    matched_by: list[str] | None = None  # HTTP toxics whose scope matched this request (None: none acted)
    faulted_by: list[str] | None = None  # HTTP toxics that answered or delayed it
    delayed_ms: int | None = None  # the http_latency delay it was held for
    headers: dict[str, str] | None = None  # values of the headers an acting scope names (lowercase names)

    def trace(self) -> tuple[str | None, dict[str, str]]:
        """(trace id of a valid W3C traceparent or None, baggage members or {}), parsed once."""
        if self._trace is None:
            parsed = parse_traceparent(self.traceparent.decode("latin-1")) if self.traceparent is not None else None
            members = parse_baggage(self.baggage_header.decode("latin-1")) if self.baggage_header is not None else {}
            self._trace = (parsed[0] if parsed else None, members)
            self.traceparent = self.baggage_header = None
        return self._trace

    def to_json(self) -> dict[str, Any]:
        """The event as docs/internals.md shows it."""
        trace_id, baggage = self.trace()
        return {"ts": self.ts, "conn": self.conn, "method": self.method, "path": self.path, "status": self.status,
                "duration_ms": self.duration_ms, "injected": self.injected, "run_id": self.run_id,
                "trace_id": trace_id, "baggage": dict(baggage), "error": self.error,
                "matched_by": list(self.matched_by or ()), "faulted_by": list(self.faulted_by or ()),
                "delayed_ms": self.delayed_ms, "headers": dict(self.headers or {})}


@dataclass(slots=True)
class ToxicCounts:
    """What one HTTP toxic (one name, type and scope) did: requests matched, unmatched and faulted."""

    name: str
    type: str
    stream: str
    scope: dict[str, str]
    scope_text: str
    since: float
    matched: int = 0
    unmatched: int = 0
    faulted: int = 0
    last: float | None = None  # when it last saw a request

    def to_json(self) -> dict[str, Any]:
        """One entry of ``http.toxics`` (docs/internals.md)."""
        return {"name": self.name, "type": self.type, "stream": self.stream, "scope": dict(self.scope),
                "scope_text": self.scope_text, "since": self.since, "last": self.last,
                "matched": self.matched, "unmatched": self.unmatched, "faulted": self.faulted}


@dataclass(slots=True)
class ConnEvent:
    """One accepted client connection: when, how many request heads, and how it ended."""

    conn: int
    ts: float
    end: float | None = None
    requests: int = 0
    outcome: ConnOutcome = "open"


class Stats:
    """Counters and the event ring of one proxy (all mutated on the proxy's event loop)."""

    def __init__(self, proxy: str) -> None:
        self.proxy = proxy
        self.clear()

    def clear(self) -> None:
        """Zero every counter and drop every event."""
        self.since = time.time()
        self.opened = self.closed = self.refused = 0
        self.bytes_up = self.bytes_down = 0
        self.requests = self.responses = self.injected = 0
        self.by_status: Counter[int] = Counter()
        self.events: deque[HttpEvent] = deque(maxlen=EVENT_RING)
        self.toxics: dict[tuple[Any, ...], ToxicCounts] = {}  # HTTP toxics by (name, type, stream, scope)
        self.active = getattr(self, "active", 0)  # live connections stay counted across a clear
        live = [c for c in getattr(self, "conn_events", ()) if c.end is None]  # and keep their records
        self.conn_events: deque[ConnEvent] = deque(live, maxlen=EVENT_RING)

    def connection(self, conn: int) -> ConnEvent:
        """Record an accepted connection; return its record to complete later."""
        record = ConnEvent(conn, time.time())
        self.conn_events.append(record)
        return record

    @staticmethod
    def connection_ended(record: ConnEvent, outcome: ConnOutcome) -> None:
        """Record how a connection ended (once)."""
        if record.end is None:
            record.end = time.time()
            record.outcome = outcome

    def request(
        self, conn: int, method: str, path: str, run_id: str | None,
        traceparent: bytes | None = None, baggage: bytes | None = None,
    ) -> HttpEvent:
        """Record a request head (``traceparent``/``baggage``: the raw header values); return its event."""
        event = HttpEvent(time.time(), conn, method, path, run_id, traceparent, baggage)
        self.requests += 1
        self.events.append(event)
        return event

    def toxic(self, spec: "ToxicSpec") -> ToxicCounts:
        """The counts of an HTTP toxic (created at zero when first asked): an update that keeps the scope keeps them."""
        key = spec.stats_key
        counts = self.toxics.get(key)
        if counts is None:
            scope = spec.toxic.scope  # type: ignore[attr-defined]  # only HTTP toxics are counted
            counts = ToxicCounts(spec.name, spec.type_name, "upstream" if spec.upstream else "downstream",
                                 dict(scope.attributes), scope.text, time.time())
            self.toxics[key] = counts
        return counts

    def response(self, event: HttpEvent, status: int, injected: bool = False) -> None:
        """Record the response head for ``event``."""
        event.status = status
        event.duration_ms = round((time.time() - event.ts) * 1000.0, 3)
        event.injected = injected
        self.responses += 1
        self.by_status[status] += 1
        if injected:
            self.injected += 1

    def to_json(self, since: float | None = None) -> dict[str, Any]:
        """The stats document of docs/internals.md; ``since`` filters events, counters are totals."""
        events = [e for e in self.events if since is None or e.ts >= since]
        conns = [
            {"conn": c.conn, "ts": c.ts, "end": c.end, "requests": c.requests, "outcome": c.outcome}
            for c in self.conn_events if since is None or c.ts >= since
        ]
        return {
            "proxy": self.proxy,
            "since": self.since,
            "connections": {
                "opened": self.opened,
                "active": self.active,
                "closed": self.closed,
                "refused": self.refused,
            },
            "bytes": {"upstream": self.bytes_up, "downstream": self.bytes_down},
            "http": {
                "requests": self.requests,
                "responses": self.responses,
                "by_status": {str(k): v for k, v in sorted(self.by_status.items())},
                "injected": self.injected,
                "toxics": [t.to_json() for t in self.toxics.values()],
                "events": [e.to_json() for e in events],
            },
            "conn_events": conns,
        }
