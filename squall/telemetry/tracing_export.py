"""The export side of squall's tracing: its own tracer provider, the OTLP/HTTP exporter, one warning, a bounded end.

Imported only with tracing on (by ``squall.telemetry.tracing``). A tracer
provider of squall's own (never the process-wide global one), a
``BatchSpanProcessor`` and the SDK's ``OTLPSpanExporter`` wrapped so that a
failing collector is said once per run (the SDK's per-batch log lines are held
back while tracing runs) and the end waits at most ``SHUTDOWN_TIMEOUT_S``.
"""

import logging
import threading
from collections.abc import Mapping, Sequence
from typing import Any

from opentelemetry import context as otel_context
from opentelemetry import trace
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, SpanExporter, SpanExportResult

from squall import __version__, tracecontext
from squall.config import redact_url
from squall.telemetry.tracing_config import TracingTarget

__all__ = ["Provider", "attr", "ns", "parent_context", "trace_id_hex", "traceparent_of"]

logger = logging.getLogger("chaostoolkit.squall")

#: one export request may take this long (the SDK retries within it)
EXPORT_TIMEOUT_S = 2.0
#: the run's end waits at most this long for the last spans to leave
SHUTDOWN_TIMEOUT_S = 4.0
#: the SDK logs each failed batch; squall says it once instead
_SDK_LOGGERS = ("opentelemetry.exporter", "opentelemetry.sdk.trace.export", "opentelemetry.sdk._shared_internal")

Attributes = dict[str, str | bool | int | float]


def ns(t: float) -> int:
    """Unix seconds as OpenTelemetry's nanoseconds."""
    return int(t * 1_000_000_000)


def attr(value: Any) -> str | bool | int | float:
    """An attribute value OpenTelemetry accepts (anything else as text, bounded)."""
    if isinstance(value, (str, bool, int, float)):
        return value if not isinstance(value, str) else value[:2000]
    return str(value)[:2000]


def traceparent_of(span: trace.Span) -> str:
    """A span as a W3C traceparent header value."""
    ctx = span.get_span_context()
    return f"00-{ctx.trace_id:032x}-{ctx.span_id:016x}-{int(ctx.trace_flags):02x}"


def parent_context(traceparent: str | None) -> otel_context.Context:
    """A context whose parent is the span a traceparent names (an empty context for none or an invalid one)."""
    parsed = tracecontext.parse_traceparent(traceparent) if traceparent else None
    if parsed is None:
        return otel_context.Context()
    flags = int(str(traceparent).strip()[-2:], 16)
    remote = trace.SpanContext(int(parsed[0], 16), int(parsed[1], 16), is_remote=True,
                               trace_flags=trace.TraceFlags(flags & 0x01))
    return trace.set_span_in_context(trace.NonRecordingSpan(remote), otel_context.Context())


def trace_id_hex(span: trace.Span) -> str:
    """The span's trace id as 32 hex digits ('' for an invalid span)."""
    ctx = span.get_span_context()
    return f"{ctx.trace_id:032x}" if ctx.is_valid else ""


class _WarnOnce(SpanExporter):  # type: ignore[misc]
    """The OTLP exporter, saying once (not per batch) that spans could not be delivered."""

    def __init__(self, inner: SpanExporter, endpoint: str) -> None:
        self.inner = inner
        self.endpoint = endpoint
        self.failures = 0
        self.exported = 0

    def _failed(self, why: str) -> None:
        self.failures += 1
        if self.failures == 1:
            logger.warning("squall: tracing: spans could not be exported to %s (%s); the run goes on and its "
                           "verdict is unaffected (said once)", self.endpoint, why)

    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        try:
            result = self.inner.export(spans)
        except Exception as exc:  # never up into the SDK's worker, never into the run
            self._failed(type(exc).__name__)
            return SpanExportResult.FAILURE
        if result is SpanExportResult.SUCCESS:
            self.exported += len(spans)
        else:
            self._failed("the collector refused them or did not answer")
        return result

    def shutdown(self) -> None:
        try:
            self.inner.shutdown()
        except Exception:
            pass

    def force_flush(self, timeout_millis: int = 30000) -> bool:
        return True



class Provider:
    """A tracer provider of our own (never the process-wide global one), its exporter and a bounded shutdown."""

    def __init__(self, target: TracingTarget, run_id: str, exporter: SpanExporter | None = None) -> None:
        self.target = target
        self.run_id = run_id
        attrs = {"service.name": target.service_name, "service.version": __version__}
        resource = Resource.create({**attrs, "squall.run_id": run_id} if run_id else attrs)
        # no atexit shutdown: ours is bounded, the SDK's would wait for a dead collector at interpreter exit
        self.provider = TracerProvider(resource=resource, shutdown_on_exit=False)
        inner = exporter or OTLPSpanExporter(endpoint=target.endpoint, headers=dict(target.headers),
                                             timeout=EXPORT_TIMEOUT_S)
        self.exporter = _WarnOnce(inner, redact_url(target.endpoint))
        self.provider.add_span_processor(BatchSpanProcessor(self.exporter, schedule_delay_millis=500))
        self.tracer = self.provider.get_tracer("squall", __version__)
        self._levels = {name: logging.getLogger(name).level for name in _SDK_LOGGERS}
        for name in _SDK_LOGGERS:
            logging.getLogger(name).setLevel(logging.CRITICAL + 1)
        self._closed = False

    def base(self, extra: Mapping[str, Any] | None = None) -> Attributes:
        out: Attributes = {"squall.run_id": self.run_id}
        for key, value in (extra or {}).items():
            if value is not None:
                out[key] = attr(value)
        return out

    def shutdown(self) -> None:
        """Send what is left, waiting at most SHUTDOWN_TIMEOUT_S; then drop it (said once)."""
        if self._closed:
            return
        self._closed = True
        done = threading.Event()

        def close() -> None:
            try:
                self.provider.shutdown()
            finally:
                done.set()

        threading.Thread(target=close, name="squall-trace-shutdown", daemon=True).start()
        if not done.wait(SHUTDOWN_TIMEOUT_S):
            self.exporter._failed(f"the collector did not take the last spans within {SHUTDOWN_TIMEOUT_S:g} s")
        for name, level in self._levels.items():
            logging.getLogger(name).setLevel(level)


