"""W3C trace context for every request squall sends: ``traceparent``, ``baggage`` and ``X-Chaos-Run-Id``.

Each request gets a fresh trace id, so a service that forwards ``traceparent``
(as any OpenTelemetry-instrumented HTTP client does) lets squall's embedded
proxy tell exactly which of squall's requests caused a dependency call. The
run id travels in ``baggage`` as ``squall.run_id``. No third-party
dependencies (only ``squall.config``): the proxy imports this module too.

- https://www.w3.org/TR/trace-context/#traceparent-header
- https://www.w3.org/TR/baggage/
"""

import os
import re
from collections.abc import Callable, Mapping
from typing import Protocol
from urllib.parse import quote, unquote

from squall import config

__all__ = [
    "BAGGAGE_HEADER",
    "TRACEPARENT_HEADER",
    "RequestSpan",
    "new_trace_id",
    "parse_baggage",
    "parse_traceparent",
    "set_request_tracer",
    "trace_headers",
    "traced_request",
    "tracing_active",
]

TRACEPARENT_HEADER = "traceparent"
BAGGAGE_HEADER = "baggage"
RUN_ID_MEMBER = "squall.run_id"

#: W3C baggage limits a receiver must be able to keep: at most 32 members, 2 KiB (we keep no more)
MAX_BAGGAGE_MEMBERS = 32
MAX_BAGGAGE_BYTES = 2048

_TRACEPARENT = re.compile(r"^([0-9a-f]{2})-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})$")
_TOKEN = re.compile(r"^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$")
# baggage value: printable US-ASCII except space, double quote, comma, semicolon and backslash
_VALUE_SAFE = "!#$&'()*+-./:<=>?@[]^_`{|}~"


def new_trace_id() -> str:
    """A fresh random trace id: 32 lowercase hex digits, never all zeros."""
    while True:
        value = os.urandom(16).hex()
        if value != "0" * 32:
            return value


def _new_span_id() -> str:
    while True:
        value = os.urandom(8).hex()
        if value != "0" * 16:
            return value


def trace_headers(run_tag: str, baggage: Mapping[str, str] | None = None) -> dict[str, str]:
    """Headers for one request: a traceparent with a fresh trace id, baggage with the run id, X-Chaos-Run-Id.

    `run_tag` is the X-Chaos-Run-Id value (the run id, or a verifier's
    ``<run id>-<verifier>-<n>`` tag); the baggage member ``squall.run_id``
    carries this run's id (``squall.config.run_id()``); `baggage` adds members.
    """
    members = {RUN_ID_MEMBER: config.run_id()}
    members.update(baggage or {})
    items = [f"{k}={quote(str(v), safe=_VALUE_SAFE)}" for k, v in members.items() if _TOKEN.match(str(k))]
    return {
        TRACEPARENT_HEADER: f"00-{new_trace_id()}-{_new_span_id()}-01",
        BAGGAGE_HEADER: ",".join(items),
        config.RUN_ID_HEADER: run_tag,
    }


def with_caller_baggage(headers: Mapping[str, str], given: Mapping[str, str]) -> dict[str, str]:
    """``headers`` (squall's trace headers) with the members of any ``baggage`` header in ``given`` joined to theirs.

    A caller (an SLI target's or a verifier's ``headers``) that sends
    ``baggage: squall.group=experiment`` puts its requests in the experiment group
    without losing the run id squall's baggage carries; ``squall.run_id`` stays
    squall's. The caller's own baggage header is then not sent as well.
    """
    extra: dict[str, str] = {}
    for key, value in given.items():
        if key.lower() == BAGGAGE_HEADER:
            extra.update(parse_baggage(value))
    extra.pop(RUN_ID_MEMBER, None)
    if not extra:
        return dict(headers)
    out = dict(headers)
    members = parse_baggage(out.get(BAGGAGE_HEADER, ""))
    members.update(extra)
    out[BAGGAGE_HEADER] = ",".join(f"{k}={quote(str(v), safe=_VALUE_SAFE)}" for k, v in members.items())
    return out


def without_baggage(given: Mapping[str, str]) -> dict[str, str]:
    """``given`` without its baggage header (joined into squall's by ``with_caller_baggage``)."""
    return {k: v for k, v in given.items() if k.lower() != BAGGAGE_HEADER}


class RequestSpan(Protocol):
    """The span of one request squall sends (``squall.telemetry.tracing``); ended with what came back."""

    def end(self, status: int | None, error: str | None) -> None:
        """Close the span: the HTTP status, or the transport error's kind."""


#: (run tag, method, url) -> (traceparent, span); None when the request is not traced
RequestTracer = Callable[[str, str, str], "tuple[str, RequestSpan] | None"]

#: set by squall.telemetry.tracing while a traced run is on; None (the default) costs one comparison
_request_tracer: RequestTracer | None = None


def set_request_tracer(tracer: RequestTracer | None) -> None:
    """Install (or with None remove) the tracer that gives each request its span."""
    global _request_tracer
    _request_tracer = tracer


def tracing_active() -> bool:
    """True while a request tracer is installed (a run with OpenTelemetry tracing on)."""
    return _request_tracer is not None


def traced_request(
    run_tag: str, method: str, url: str, baggage: Mapping[str, str] | None = None
) -> tuple[dict[str, str], RequestSpan | None]:
    """Headers for one request and, with tracing on, its span (end it with the outcome).

    With tracing off this is ``trace_headers`` (a fresh trace id per request) and no
    span. With tracing on, the traceparent names the request's exported span
    ``squall.request``: still a fresh trace id per request (verifiers tell their
    requests apart by trace id), linked to the span that sent it.
    """
    headers = trace_headers(run_tag, baggage)
    tracer = _request_tracer
    if tracer is None:
        return headers, None
    try:
        made = tracer(run_tag, method, url)
    except Exception:  # tracing never costs a request
        made = None
    if made is None:
        return headers, None
    headers[TRACEPARENT_HEADER] = made[0]
    return headers, made[1]


def parse_traceparent(value: str) -> tuple[str, str] | None:
    """(trace id, parent id) of a valid version-00 traceparent; None when it is invalid per W3C."""
    if not isinstance(value, str):
        return None
    match = _TRACEPARENT.match(value.strip())
    if match is None:
        return None
    version, trace_id, parent_id, _flags = match.groups()
    if version != "00" or trace_id == "0" * 32 or parent_id == "0" * 16:
        return None
    return trace_id, parent_id


def parse_baggage(value: str) -> dict[str, str]:
    """The members of a baggage header (values percent-decoded); malformed members are skipped, limits kept."""
    out: dict[str, str] = {}
    if not isinstance(value, str):
        return out
    size = 0
    for raw in value.split(","):
        member = raw.split(";", 1)[0].strip()  # properties after ";" are dropped
        key, sep, val = member.partition("=")
        key, val = key.strip(), val.strip()
        if not sep or not _TOKEN.match(key) or any(c in val for c in ' ",;\\') or not val.isascii():
            continue
        size += len(raw.strip()) + (1 if out else 0)
        if len(out) >= MAX_BAGGAGE_MEMBERS or size > MAX_BAGGAGE_BYTES:
            break
        out[key] = unquote(val)
    return out
