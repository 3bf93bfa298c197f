"""HTTP/1.x awareness for one connection (httptools): request/response stats and the HTTP toxics.

Requests are forwarded as the raw bytes that arrived, except while an HTTP
toxic (``http_error``, ``http_latency``) acts on the connection: then each
request is checked against every such toxic's scope (``squall.httpscope``)
and re-emitted from the parser's pieces (head as received, body re-chunked if
it was chunked), answered by the proxy itself, or held for a delay, so the
decision is per request even on a keep-alive connection. A request head split
over several reads is held until it is complete, so a toxic added while it
arrives still applies to it.

Order is kept for pipelined requests: held bytes leave as ``Chunk``s with a
``hold`` through the connection's queue (``link.Pipe``), so later requests wait
behind a delayed one; an injected answer waits until the responses to the
requests before it have reached the client, and requests after it are not
forwarded before it is written. Responses are only observed, never changed.
"""

import functools
import re
from collections import deque
from time import monotonic
from typing import TYPE_CHECKING

import httptools

from squall.config import RUN_ID_HEADER
from squall.proxy.answers import Hold, ResponseOrder, answer_payload, in_turn
from squall.proxy.stats import HttpEvent
from squall.proxy.toxics import Chunk, HttpError, HttpLatency, HttpToxic
from squall.tracecontext import BAGGAGE_HEADER, TRACEPARENT_HEADER, parse_baggage

if TYPE_CHECKING:
    from squall.proxy.connection import Connection
    from squall.proxy.context import ToxicContext

_REQUEST_LINE = re.compile(rb"^(GET|POST|PUT|DELETE|HEAD|OPTIONS|PATCH|TRACE|CONNECT) \S")
_RUN_ID = RUN_ID_HEADER.lower().encode()
_TRACEPARENT = TRACEPARENT_HEADER.encode()
_BAGGAGE = BAGGAGE_HEADER.encode()
_MAX_BAGGAGE_RAW = 8192  # parse_baggage keeps at most 2 KiB anyway
_MAX_HELD = 64 * 1024  # a longer head is forwarded as it arrives (the upstream will refuse it anyway)


def looks_like_http(first: bytes) -> bool:
    """True if ``first`` starts with an HTTP/1.x request line."""
    return _REQUEST_LINE.match(first[:16]) is not None


def _header(headers: list[tuple[bytes, bytes]], lname: str) -> str | None:
    """The values of one header (lowercase name), joined by commas as HTTP allows; None if absent."""
    name = lname.encode("latin-1")
    values = [v.decode("latin-1") for n, v in headers if n.lower() == name]
    return ",".join(values) if values else None


class _Request:
    __slots__ = ("answer", "baggage", "chunked", "delayed", "event", "headers", "method", "run_id", "traceparent",
                 "url")

    def __init__(self) -> None:
        self.url = b""
        self.headers: list[tuple[bytes, bytes]] = []
        self.run_id: str | None = None
        self.traceparent: bytes | None = None  # raw; the stats parse it when they are read
        self.baggage: bytes | None = None
        self.chunked = False
        self.event: HttpEvent | None = None
        self.answer: HttpError | None = None
        self.delayed = False
        self.method = ""


class HttpObserver:
    """Parses both directions of one HTTP connection; records events in the proxy's stats."""

    def __init__(self, conn: "Connection") -> None:
        self.conn = conn
        self.stats = conn.proxy.stats
        self.req_parser: httptools.HttpRequestParser | None = httptools.HttpRequestParser(self)
        self.resp_parser: httptools.HttpResponseParser | None = httptools.HttpResponseParser(
            _ResponseSide(self)
        )
        self.current: _Request | None = None
        self.pending: deque[HttpEvent] = deque()  # forwarded requests awaiting a response head
        self.rewrite = False
        self.out: list[bytes] = []
        self.held: bytes | None = None  # raw bytes of a head not complete yet, from a request's start
        self.completed = 0  # requests completed in the current read
        self.feeding = b""  # the read being parsed
        self.reset_response_parser = False
        self.order = ResponseOrder(conn)  # the responses the client is owed, injected answers among them
        self.responding = False  # a final response from the upstream is passing (until its message completes)
        self.hold: Hold | None = None  # what the bytes collected in ``out`` must wait for
        self.segments: list[Chunk] = []  # held pieces of this read, in order (link.Pipe queues them)

    def http_toxics(self) -> list[tuple["ToxicContext", HttpToxic]]:
        """The HTTP toxics acting on this connection (either stream), in the order they were added."""
        conn = self.conn
        return [(ctx, ctx.spec.toxic) for pipe in (conn.up, conn.down) for ctx in pipe.contexts.values()
                if ctx.active and ctx.current and isinstance(ctx.spec.toxic, HttpToxic)]

    def _acting(self) -> bool:
        conn = self.conn
        if not conn.up.contexts and not conn.down.contexts:
            return False  # no toxic at all (the common case): no generator
        return any(ctx.active and ctx.current and isinstance(ctx.spec.toxic, HttpToxic)
                   for pipe in (conn.up, conn.down) for ctx in pipe.contexts.values())

    def take_segments(self) -> list[Chunk]:
        """The held pieces of the last read (``request_bytes`` returned b"" for them)."""
        out, self.segments = self.segments, []
        return out

    def _cut(self, then: Hold | None) -> None:
        """End the piece being collected (kept with its hold); the next one waits for ``then``."""
        if self.out:
            self.segments.append(Chunk(b"".join(self.out), monotonic(), self.hold))
            self.out = []
        elif self.hold is not None and then is not None:
            then = in_turn(self.hold, then)  # nothing between them: the next piece waits for both
        self.hold = then

    # -- requests (client -> upstream) ----------------------------------------
    def request_bytes(self, data: bytes) -> bytes:
        """Observe request bytes; return what to forward upstream."""
        if self.req_parser is None:
            return data
        at_start = self.current is None or self.held is not None  # a request's first byte is in data
        if self.current is None:  # between requests: choose raw or per-request mode
            self.rewrite = self._acting() or self.order.waiting is not None
        self.hold = self.order.hold() if self.rewrite else None
        self.completed = 0
        self.feeding = data
        try:
            self.req_parser.feed_data(data)
        except httptools.HttpParserUpgrade:
            self.req_parser = None  # CONNECT / Upgrade: the rest is not HTTP/1.x
        except httptools.HttpParserError:
            self.req_parser = None  # not HTTP after all: stop parsing, forward the bytes as they came
            self.out, self.segments, self.hold = [], [], None
            self.order.flush(everything=True)
            held, self.held = self.held, None
            return data if held is None else held + data
        self.feeding = b""
        if self.rewrite:
            self.held = None  # (re-emitted from the parser's pieces if it was held)
            if self.segments or self.hold is not None:
                self._cut(None)
                return b""  # all of it leaves through the queue, in order (take_segments)
            out, self.out = b"".join(self.out), []
            return out
        if self.held is not None:
            data, self.held = self.held + data, None
        req = self.current
        if at_start and not self.completed and req is not None and req.event is None and self.req_parser \
                and len(data) <= _MAX_HELD:
            self.held = data  # a head still incomplete: forward it once it is, with the toxics of then
            return b""
        return data

    def on_message_begin(self) -> None:
        self.current = _Request()

    def on_url(self, url: bytes) -> None:
        if self.current is not None:
            self.current.url += url

    def on_header(self, name: bytes, value: bytes) -> None:
        req = self.current
        if req is None:
            return
        lname = name.lower()
        if lname == _RUN_ID:
            req.run_id = value.decode("latin-1")
        elif lname == _TRACEPARENT:
            if req.traceparent is None:  # W3C: more than one makes no sense; the first one counts
                req.traceparent = value
        elif lname == _BAGGAGE:  # several baggage headers are one list (W3C); more than 8 KiB is not kept
            if req.baggage is None:
                req.baggage = value
            elif len(req.baggage) < _MAX_BAGGAGE_RAW:
                req.baggage += b"," + value
        elif lname == b"transfer-encoding" and b"chunked" in value.lower():
            req.chunked = True
        if self.rewrite:
            req.headers.append((name, value))

    def on_headers_complete(self) -> None:
        req = self.current
        if req is None or self.req_parser is None:
            return
        req.method = self.req_parser.get_method().decode("latin-1")
        path = req.url.decode("latin-1", "replace")
        req.event = self.stats.request(self.conn.id, req.method, path, req.run_id, req.traceparent, req.baggage)
        if self.conn.record is not None:
            self.conn.record.requests += 1
        if not self.rewrite and self.held is not None and self._acting():
            self.rewrite = True  # a toxic came while this head was arriving: it applies to this request
            req.headers = _headers_of(self.held + self.feeding)  # (rare: read them again from the raw head)
        delay: Hold | None = self._decide(req, req.event, path) if self.rewrite else None
        if req.answer is not None:
            return
        self.pending.append(req.event)
        if self.resp_parser is not None:
            self.order.forwarded()
        if self.rewrite:
            if delay is not None:
                req.delayed = True
                self._cut(delay)  # this request's bytes wait for the delay (and what is before them)
            version = self.req_parser.get_http_version()
            head = [req.method.encode() + b" " + req.url + b" HTTP/" + version.encode() + b"\r\n"]
            head += [n + b": " + v + b"\r\n" for n, v in req.headers]
            self.out.append(b"".join(head) + b"\r\n")

    def _decide(self, req: _Request, event: HttpEvent, path: str) -> Hold | None:
        """Check the request against each HTTP toxic's scope; answer it, or return the hold that delays it."""
        toxics = self.http_toxics()
        if not toxics:
            return None
        baggage: dict[str, str] | None = None
        hits = []
        for ctx, toxic in toxics:
            scope = toxic.scope
            header = None
            if scope.header_name:
                header = _header(req.headers, scope.header_name)
                if header is not None:
                    event.headers = {**(event.headers or {}), scope.header_name: header[:256]}
            if scope.baggage_key and baggage is None:
                baggage = parse_baggage(req.baggage.decode("latin-1")) if req.baggage is not None else {}
            counts = self.stats.toxic(ctx.spec)
            counts.last = event.ts
            if scope.matches(req.method, path, header, baggage or {}):
                counts.matched += 1
                hits.append((ctx, toxic, counts))
            else:
                counts.unmatched += 1
        if not hits:
            return None
        event.matched_by = [ctx.spec.name for ctx, _, _ in hits]
        for ctx, toxic, counts in hits:  # an answer first: an answered request is not also delayed
            if isinstance(toxic, HttpError) and toxic.applies():
                req.answer = toxic
                counts.faulted += 1
                event.faulted_by = [ctx.spec.name]
                return None
        total, sleeper = 0, None
        for ctx, toxic, counts in hits:  # several latencies add up, as chained latency toxics do
            if isinstance(toxic, HttpLatency) and toxic.applies():
                delay = toxic.delay_ms()
                if delay > 0:
                    total += delay
                    sleeper = sleeper or ctx
                    counts.faulted += 1
                    event.faulted_by = [*(event.faulted_by or ()), ctx.spec.name]
        if sleeper is None:
            return None
        event.delayed_ms = total
        # removing (or changing) the toxic ends the wait at once, as it does for the latency toxic
        return functools.partial(sleeper.sleep_until, monotonic() + total / 1000.0)

    def on_body(self, body: bytes) -> None:
        req = self.current
        if not self.rewrite or req is None or req.answer is not None:
            return
        if req.chunked:
            self.out.append(b"%x\r\n%s\r\n" % (len(body), body))
        else:
            self.out.append(body)

    def on_message_complete(self) -> None:
        req, self.current = self.current, None
        self.completed += 1
        if req is None or not self.rewrite:
            return
        if req.answer is None:
            if req.chunked:
                self.out.append(b"0\r\n\r\n")
            if req.delayed:
                self._cut(None)  # what follows queues behind it, no longer held by its delay
            return
        keep_alive = self.req_parser.should_keep_alive() if self.req_parser else False
        self._answer(req, req.answer, keep_alive)

    def _answer(self, req: _Request, toxic: HttpError, keep_alive: bool) -> None:
        if req.event is not None:
            self.stats.response(req.event, toxic.attrs.status, injected=True)
        payload = answer_payload(toxic, req.method, keep_alive)
        if self.resp_parser is None:  # responses are not followed: their order cannot be kept
            self.order.flush(everything=True)
            self.order.owed.clear()
        then = self.order.answer(payload, close=not keep_alive)
        if then is not None:  # responses to earlier requests are still owed: later requests wait for this answer
            self._cut(then)

    # -- responses (upstream -> client) ---------------------------------------
    def response_bytes(self, data: bytes) -> None:
        """Observe response bytes as they are written to the client (never changed)."""
        if self.resp_parser is None:
            return
        try:
            self.resp_parser.feed_data(data)
        except (httptools.HttpParserUpgrade, httptools.HttpParserError):
            self.resp_parser = None
            self.order.flush(everything=True)
        if self.reset_response_parser:  # a response to HEAD has no body, which the parser cannot know
            self.reset_response_parser = False
            self.resp_parser = httptools.HttpResponseParser(_ResponseSide(self))

    def response_head(self, status: int) -> None:
        if 100 <= status < 200 and status != 101:
            return  # informational: the final response is still to come
        if not self.pending:
            return
        event = self.pending.popleft()
        self.stats.response(event, status)
        if event.method == "HEAD":
            self.reset_response_parser = True
            self.order.response_done()  # no body follows a response to HEAD
        else:
            self.responding = True
        if status == 101:
            self.req_parser = self.resp_parser = None
            self.order.flush(everything=True)

    def response_complete(self) -> None:
        """A response message from the upstream ended (its last byte is written to the client)."""
        if self.responding:
            self.responding = False
            self.order.response_done()

    def response_eof(self) -> None:
        """The upstream closed its side: a response without length ends here."""
        if self.resp_parser is not None:
            try:
                self.resp_parser.feed_data(b"")
            except httptools.HttpParserError:
                pass

    def finish(self, reason: str) -> None:
        """The connection closed: requests still waiting get an ``error``."""
        error = reason if reason in ("reset", "timeout") else "closed"
        for event in self.pending:
            event.error = error  # type: ignore[assignment]
        self.pending.clear()


class _HeadCollector:
    """httptools callbacks that keep the headers of the first request head."""

    __slots__ = ("done", "headers")

    def __init__(self) -> None:
        self.headers: list[tuple[bytes, bytes]] = []
        self.done = False

    def on_header(self, name: bytes, value: bytes) -> None:
        if not self.done:
            self.headers.append((name, value))

    def on_headers_complete(self) -> None:
        self.done = True


def _headers_of(raw: bytes) -> list[tuple[bytes, bytes]]:
    """The headers of the request head at the start of ``raw``, as the parser reported them."""
    collector = _HeadCollector()
    try:
        httptools.HttpRequestParser(collector).feed_data(raw)
    except (httptools.HttpParserError, httptools.HttpParserUpgrade):
        pass  # what follows the head does not matter here
    return collector.headers


class _ResponseSide:
    """httptools callbacks for the response parser."""

    __slots__ = ("obs",)

    def __init__(self, obs: HttpObserver) -> None:
        self.obs = obs

    def on_headers_complete(self) -> None:
        parser = self.obs.resp_parser
        if parser is not None:
            self.obs.response_head(parser.get_status_code())

    def on_message_complete(self) -> None:
        self.obs.response_complete()
