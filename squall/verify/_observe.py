"""What verifiers observe: traffic they send themselves, and the dependency's side from the embedded proxy's stats.

Each request a verifier sends carries W3C trace context with a fresh trace id
(``squall.tracecontext``) and its own ``X-Chaos-Run-Id`` value
(``<run id>-<verifier>-<hex>-<n>``). Dependency calls seen by the proxy are
attributed to the request that caused them, in this order:

1. **trace**: the call carries the trace id of one of this verifier's requests
   (the service forwards ``traceparent``, as OpenTelemetry instrumentation does);
2. **header**: the call carries one of this verifier's ``X-Chaos-Run-Id`` tags;
3. **time**: neither arrived, so a call belongs to the request in flight when
   it started. Calls carrying another trace id or tag (the control's sampler,
   other users) are never this verifier's in any mode.

Time attribution cannot tell this verifier's calls from anybody else's, so a
verifier with a proxy **holds the control's SLI sampling** (``squall.quiet``)
from before its first request; once the first request's calls show that trace
or header attribution works, the hold is released (the circuit breaker keeps
it for its whole run: it also counts connections, which carry no headers). In
time mode, calls the verifier cannot explain by its own one-at-a-time requests
(outside all of its request windows, or overlapping each other) make the
result inconclusive: never a pass or a fail built on them. To give other
traffic a chance to show, a time-attributing verifier leaves a short gap after
each request (``LISTEN_GAP_S``) in which any dependency call is unexplained.
Calls still caused by earlier traffic (a sampler request the service is still
retrying) are waited out: unless the dependency's recent calls carried trace
or run ids (the service forwards them, so trace or header mode is ahead), the
verifier waits until the dependency has been quiet for ``QUIET_S`` (plus any
Retry-After) before its first request; the circuit breaker always does. If the
first request shows time mode after all, it is set aside, the verifier waits
for quiet and sends it again.

Connections the proxy records without any HTTP request head (``conn_events``
with ``requests: 0`` and outcome reset / refused / timeout: e.g. reset_peer
with timeout 0) are attempts too. They carry no trace id or tag, so they can
only be attributed by time, and only while nobody else's traffic can be in
flight: while the verifier's hold is kept and after the dependency was quiet.
So when the first request's window shows such connections in trace or header
mode, the hold is kept for the whole run (and a first request sent without
waiting for quiet is set aside and sent again after it). Connections in a
request's window that cannot be attributed this way make the result
inconclusive.
"""

import time
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

import httpx

from squall import config, quiet
from squall.errors import ExperimentInvalid, SquallError
from squall.probes.proxy import fetch_stats
from squall.probes.sli import Sample, classify_error, make_client, status_ok
from squall.toxiproxy_client import ToxiproxyClient
from squall.tracecontext import RequestSpan, parse_traceparent, traced_request, with_caller_baggage, without_baggage
from squall.verify._common import event_brief

# No __all__: the helpers here are imported by name; an activity module's __all__ lists activities only.

#: slack around a request's window when attributing proxy events by time
WINDOW_SLACK_S = 0.05
#: before its first request a verifier with a proxy waits until the dependency has been quiet this long
#: (calls still caused by earlier requests, e.g. the sampler's, must not fall into its windows) ...
QUIET_S = 0.5
#: ... but at most this much longer
QUIET_MAX_WAIT_S = 3.0
#: in time mode, the verifier leaves this gap after each request: calls during it cannot be its own
LISTEN_GAP_S = 0.2
#: connection outcomes that count as an attempt when no request head was seen on them
FAILED_CONN_OUTCOMES = ("reset", "refused", "timeout")

Mode = Literal["trace", "header", "time"]


@dataclass
class Call:
    """One client request the verifier sent, and the dependency attempts attributed to it."""

    tag: str
    start: float
    end: float
    sample: Sample
    trace_id: str = ""
    attempts: list[dict[str, Any]] = field(default_factory=list)


class Observer:
    """Sends traced, tagged client requests and reads the dependency's attempts from the proxy stats."""

    def __init__(self, verifier: str, url: str, configuration: Mapping[str, Any] | None,
                 proxy: str | None = None, headers: Mapping[str, str] | None = None,
                 expect_status: int | list | None = None, hold: Literal["until-mode", "always"] = "until-mode",
                 listen_gap_s: float = LISTEN_GAP_S, quiet_s: float = QUIET_S) -> None:
        if not isinstance(url, str) or not url.startswith(("http://", "https://")):
            raise ExperimentInvalid(f'url "{url}" is not an http(s) URL (expected the service under test)')
        self.verifier, self.url, self.proxy = verifier, url, proxy
        self.headers = dict(headers or {})
        self.expect_status = expect_status
        self.api = config.toxiproxy_url(configuration)
        self.prefix = f"{config.run_id()}-{verifier}-{uuid.uuid4().hex[:4]}"
        self.calls: list[Call] = []
        self.mode: Mode | None = None
        self.conn_records = False
        self._hold_policy = hold
        self.listen_gap_s = listen_gap_s
        self._hold: quiet.Hold | None = None
        self._n = 0
        self._client = make_client()
        self._quiet_s = quiet_s
        self._quiet_done = False
        self.quiet_wait_s = 0.0
        self.discarded: list[Call] = []  # a first request sent before the dependency was quiet (time mode)
        #: connections without a request head are attributed by time (the hold is kept for the whole run)
        self.conns_by_time = hold == "always"
        #: False when the proxy is disabled (a partition): the kernel refuses calls to it, so nobody counts them
        self.proxy_enabled = True
        if proxy is not None:
            fetch_stats(self.api, proxy, since=time.time())  # unknown proxy / not embedded: fail before traffic
            self.proxy_enabled = _enabled(self.api, proxy)
            self._hold = quiet.hold(f"verifier {verifier} attributes dependency calls")
            if hold == "always" or not self._ids_seen():
                # it counts every call from the start, or calls here carry no ids (time mode ahead):
                # wait for quiet before the first request
                self.quiet_wait_s = self._wait_until_quiet(quiet_s)
                self._quiet_done = True
        self.started = time.time()

    def __enter__(self) -> "Observer":
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()
        self._client.close()

    def release(self) -> None:
        """Let the control's SLI sampling resume."""
        if self._hold is not None:
            self._hold.release()

    def _ids_seen(self) -> bool:
        """Did the dependency's recent calls carry trace ids or run ids (the service forwards them)?"""
        assert self.proxy is not None
        events = (fetch_stats(self.api, self.proxy, since=time.time() - 60).get("http") or {}).get("events") or []
        return any(e.get("trace_id") or e.get("run_id") for e in events)

    def _wait_until_quiet(self, quiet_s: float) -> float:
        """Wait (bounded) until no dependency call started or ran in the last `quiet_s`: leftovers of earlier traffic."""
        assert self.proxy is not None
        begin = time.monotonic()
        # quiet is what was observed from now on: a call the service has not made yet (it is still
        # waiting, or retrying a sampler request that already timed out) is not there to be seen, so
        # "no call yet" counts only after quiet_s of watching
        watched_from = time.time()
        while time.monotonic() - begin < quiet_s + QUIET_MAX_WAIT_S:
            now = time.time()
            stats = fetch_stats(self.api, self.proxy, since=now - 60)
            events = (stats.get("http") or {}).get("events") or []
            events = [*events, *_conn_only(stats.get("conn_events"))]  # resets before a request head are calls too
            # a call still running that began a moment ago; one hung for longer (a hang fault) makes no new calls
            busy = [e for e in events if e.get("status") is None and e.get("error") is None and now - float(e["ts"]) < 1.0]
            last = max((float(e["ts"]) + (e.get("duration_ms") or 0) / 1000 for e in events), default=watched_from)
            last = max(last, watched_from)
            if not busy and now - last >= quiet_s:
                break
            time.sleep(0.05)
        return round(time.monotonic() - begin, 3)

    def _next(self) -> tuple[str, dict[str, str], str, RequestSpan | None]:
        self._n += 1
        tag = f"{self.prefix}-{self._n}"
        traced, span = traced_request(tag, "GET", self.url)  # with tracing on, a span linked to the verifier's
        parsed = parse_traceparent(traced["traceparent"])
        # a baggage header the caller gave (e.g. squall.group=experiment) joins squall's, never replaces it
        return tag, {**without_baggage(self.headers), **with_caller_baggage(traced, self.headers)}, \
            parsed[0] if parsed else "", span

    def call(self, timeout_s: float) -> Call:
        """Send one traced, tagged request to the service and remember it."""
        return self.request(timeout_s)[0]

    def request(self, timeout_s: float) -> tuple[Call, httpx.Response | None]:
        """Like ``call`` but also return the response (for headers and body)."""
        c, response = self._send(timeout_s)
        if self.proxy is not None and self.mode is None:
            counts = self.attribute()
            needs_time = self.mode == "time" or bool(counts["connection_attempts"] or counts["unattributed_connections"])
            if self.mode in ("trace", "header") and not needs_time and self._hold_policy == "until-mode":
                self.release()  # the calls carry this verifier's ids: the sampler's cannot be mistaken for them
            elif needs_time:
                # calls (or connections reset before a request head) that only time can attribute: keep the
                # hold for the whole run, so that no sampler traffic falls into a request's window
                self.conns_by_time = True
                if not self._quiet_done:
                    # Sent without waiting for quiet (recent calls carried ids): set it aside, wait out
                    # calls still caused by earlier traffic, and send it again.
                    self.calls.remove(c)
                    self.discarded.append(c)
                    self.quiet_wait_s = self._wait_until_quiet(self._quiet_s)
                    self._quiet_done = True
                    self.started = time.time()
                    c, response = self._send(timeout_s)
        if self.proxy is not None and (self.mode == "time" or self.conns_by_time) and self.listen_gap_s:
            time.sleep(self.listen_gap_s)  # a dependency call now is nobody's request of ours: it shows as unexplained
        return c, response

    def _send(self, timeout_s: float) -> tuple[Call, httpx.Response | None]:
        tag, headers, trace_id, span = self._next()
        start = time.time()
        t0 = time.perf_counter()
        try:
            response: httpx.Response | None = self._client.get(self.url, headers=headers, timeout=timeout_s)
        except httpx.HTTPError as exc:
            response = None
            s = Sample(start, False, None, round((time.perf_counter() - t0) * 1000, 3), classify_error(exc))
        if response is not None:
            ok = status_ok(response.status_code, self.expect_status)
            s = Sample(start, ok, response.status_code, round((time.perf_counter() - t0) * 1000, 3), None)
        if span is not None:
            span.end(s.status, s.error)
        c = Call(tag, start, time.time(), s, trace_id)
        self.calls.append(c)
        return c, response

    def attribute(self, since: float | None = None) -> dict[str, Any]:
        """Fetch dependency events since `since` and attach them to calls; return how they were attributed."""
        assert self.proxy is not None
        stats = fetch_stats(self.api, self.proxy, since=since or self.started - WINDOW_SLACK_S)
        events = [e for e in (stats.get("http") or {}).get("events") or [] if isinstance(e, Mapping)]
        conns = stats.get("conn_events")
        self.conn_records = isinstance(conns, list)
        by_trace = {c.trace_id: c for c in self.calls if c.trace_id}
        by_tag = {c.tag: c for c in self.calls}
        for c in self.calls:
            c.attempts = []
        traced = tagged = 0
        untagged: list[dict[str, Any]] = []
        for e in events:
            owner = by_trace.get(str(e.get("trace_id") or ""))
            if owner is not None:
                traced += 1
            else:
                owner = by_tag.get(str(e.get("run_id") or ""))
                tagged += owner is not None
            if owner is not None:
                owner.attempts.append({**e, "source": "http"})
            elif not e.get("trace_id") and not e.get("run_id"):
                untagged.append(dict(e))  # carries nobody's ids; another trace id or tag is simply not ours
        mode: Mode = "trace" if traced else "header" if tagged else "time"
        if self.mode is None or mode != "time":
            self.mode = mode  # once ids arrived, a later look at a window without calls does not undo that
        now = time.time()
        unexplained: list[dict[str, Any]] = []
        if mode == "time":
            for e in untagged:
                owner = _owner(self.calls, float(e["ts"]))
                if owner is not None and float(e["ts"]) >= self.started - WINDOW_SLACK_S:
                    owner.attempts.append({**e, "source": "http"})
                elif float(e["ts"]) >= self.started:
                    unexplained.append(e)
        conn_attempts = unattributed = 0
        # a connection with no request head carries no ids: time attributes it only while the hold keeps the
        # sampler out and after the dependency was quiet; otherwise it may be anybody's
        by_time = self._hold is not None and self._hold.end is None and self._quiet_done
        for rec in _conn_only(conns):
            ts = float(rec["ts"])
            if ts < self.started - WINDOW_SLACK_S:
                continue
            owner = _owner(self.calls, ts)
            if owner is None:
                if by_time:
                    unexplained.append(rec)
                continue
            if not by_time:
                unattributed += 1
                continue
            owner.attempts.append(rec)
            conn_attempts += 1
        overlapping = 0
        for c in self.calls:
            c.attempts.sort(key=lambda e: float(e["ts"]))
            if mode == "time":
                overlapping += sum(1 for a, b in zip(c.attempts, c.attempts[1:], strict=False)
                                   if float(b["ts"]) < _end(a) - 0.001)
        counts: dict[str, Any] = {
            "attribution": mode, "attributed": sum(len(c.attempts) for c in self.calls),
            "by_trace": traced, "by_header": tagged, "connection_attempts": conn_attempts,
            "unattributed_connections": unattributed,
            "events_seen": len(events), "unexplained": len(unexplained) + overlapping,
            "unexplained_events": [event_brief(e) for e in unexplained[:10]],
            "overlapping_attempts": overlapping,
            "untraced_events": len(untagged) if mode != "time" else 0,
            "connection_records": self.conn_records,
            "sampling_held": self._hold is not None and (self._hold.end is None or self._hold_policy == "always"),
            "waited_for_quiet_s": self.quiet_wait_s, "first_request_set_aside": bool(self.discarded),
            "checked_at": round(now, 3),
        }
        if self._hold is not None:
            counts["sampler_drained"] = self._hold.drained
        return counts

    def inconclusive_reason(self, counts: Mapping[str, Any]) -> str | None:
        """Why a verdict built on these attributions would be a guess (None when it is not)."""
        if not self.proxy_enabled:
            return (f'proxy "{self.proxy}" is disabled (a partition): the kernel refuses calls to it, so the '
                    "dependency calls cannot be counted (use reset_peer or add_http_error to check this mechanism)")
        if counts.get("unattributed_connections"):
            return (f"{counts['unattributed_connections']} connection(s) reset before a request head arrived during "
                    "its requests while other traffic (the control's SLI sampler) could run: such a connection "
                    "carries no trace id or tag, so it cannot be attributed")
        if not counts.get("unexplained") or (counts.get("attribution") != "time" and not self.conns_by_time):
            return None
        parts = []
        outside = counts["unexplained"] - counts.get("overlapping_attempts", 0)
        if outside:
            parts.append(f"{outside} dependency call(s) outside all of its requests")
        if counts.get("overlapping_attempts"):
            parts.append(f"{counts['overlapping_attempts']} call(s) overlapping another of the same request")
        how = ("the service forwards neither traceparent nor X-Chaos-Run-Id, so calls are attributed by time"
               if counts.get("attribution") == "time" else
               "connections reset before a request head carry no ids, so they are attributed by time")
        return (
            "dependency traffic this verifier cannot explain by its own requests ("
            + " and ".join(parts)
            + f"): {how} and other traffic to the dependency would be counted as this service's"
        )


def _enabled(api: str, proxy: str) -> bool:
    """Whether `proxy` listens (a partition disables it); True when that cannot be read."""
    try:
        with ToxiproxyClient(api, timeout_s=2.0) as client:
            return bool(client.get_proxy(proxy).get("enabled", True))
    except SquallError:
        return True


def _conn_only(conns: Any) -> list[dict[str, Any]]:
    """The proxy's connections that failed before any request head arrived, as attempt events."""
    out = []
    for rec in conns if isinstance(conns, list) else []:
        if not isinstance(rec, Mapping) or rec.get("requests") or rec.get("outcome") not in FAILED_CONN_OUTCOMES:
            continue
        ts, end = float(rec.get("ts") or 0), rec.get("end")
        duration = (float(end) - ts) * 1000 if isinstance(end, (int, float)) else None
        out.append({"ts": ts, "conn": rec.get("conn"), "status": None, "duration_ms": duration,
                    "injected": False, "error": rec.get("outcome"), "source": "conn"})
    return out


def _end(e: Mapping[str, Any]) -> float:
    return float(e["ts"]) + float(e.get("duration_ms") or 0) / 1000.0


def _owner(calls: list[Call], ts: float) -> Call | None:
    """The call whose start..end holds `ts`; else the nearest one within the slack."""
    inside = [c for c in calls if c.start <= ts <= c.end]
    if inside:
        return max(inside, key=lambda c: c.start)
    near = [(min(abs(ts - c.start), abs(ts - c.end)), i) for i, c in enumerate(calls)]
    near = [(d, i) for d, i in near if d <= WINDOW_SLACK_S]
    return calls[min(near)[1]] if near else None
