"""OpenTelemetry spans of one controlled run, exported over OTLP/HTTP (only ever imported with tracing on).

The span tree of a run (docs/internals.md lists every attribute)::

    squall.run                       the whole experiment; ends with squall.verdict and squall.score
    ├── squall.activity              one per activity (probe or action), with its status
    │   └── squall.verify.<name>     a verifier activity; an event ``squall.check`` with its verdict
    ├── squall.sli.sampler           one per SLI target of the control, while it samples
    └── squall.fault                 one per fault, from its ledger entry's applied_at to struck_at

    squall.gameday / squall.gate     a suite run (``SuiteTracing``), a child ``squall.experiment`` per
                                     experiment; each run span is a child of its experiment span
                                     (``$SQUALL_TRACEPARENT``)
    squall.request                   each request squall sends: the root of its own trace, linked
                                     to the span that sent it (a verifier, a sampler)

A request keeps a trace of its own because verifiers tell their requests apart
by the trace id the dependency's calls carry back; the link ties it to its
verifier. Every span carries ``squall.run_id``.

An exporter that fails never changes a verdict: it logs one warning for the
run (the SDK's own per-batch log lines are held back), and ``shutdown`` waits a
bounded time for the last spans, so a dead collector cannot hang the run's end.
"""

import threading
import time
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Any

from opentelemetry import context as otel_context
from opentelemetry import trace
from opentelemetry.sdk.trace.export import SpanExporter

from squall import tracecontext
from squall.config import redact_url
from squall.telemetry.tracing_config import TracingTarget, trace_url
from squall.telemetry.tracing_export import Provider, attr, ns, parent_context, trace_id_hex, traceparent_of

__all__ = ["RunTracing", "SuiteTracing", "start_tracing"]


class _Request:
    """A request's span, ended with what came back (``tracecontext.RequestSpan``)."""

    __slots__ = ("span",)

    def __init__(self, span: trace.Span) -> None:
        self.span = span

    def end(self, status: int | None, error: str | None) -> None:
        if status is not None:
            self.span.set_attribute("http.response.status_code", status)
        if error is not None:
            self.span.set_attribute("error.type", error)
        if error is not None or (status is not None and status >= 500):
            self.span.set_status(trace.StatusCode.ERROR)
        self.span.end()


class RunTracing:
    """The spans of one controlled run (see the module docstring)."""

    def __init__(self, target: TracingTarget, run_id: str, exporter: SpanExporter | None = None) -> None:
        self._p = Provider(target, run_id, exporter)
        self.tracer = self._p.tracer
        self.run_span: trace.Span | None = None
        self._run_ctx: otel_context.Context | None = None
        self._open: dict[tuple[int, int], tuple[trace.Span, trace.Span | None, object]] = {}
        self._toxics: dict[str, Mapping[str, Any]] = {}  # ledger id -> the toxic the action stored
        self._lock = threading.Lock()

    @property
    def trace_id(self) -> str:
        """The run's trace id ('' before the run span started)."""
        return trace_id_hex(self.run_span) if self.run_span is not None else ""

    @property
    def url_template(self) -> str | None:
        """The trace viewer's link template (``trace_url_template``), if configured."""
        return self._p.target.trace_url_template

    def trace_url(self, trace_id: str) -> str | None:
        """The viewer link for a trace id (``trace_url_template``), or None."""
        return trace_url(self._p.target.trace_url_template, trace_id)

    @property
    def exporter_failures(self) -> int:
        """How many export calls failed so far."""
        return self._p.exporter.failures

    # -- the run -----------------------------------------------------------------
    def start_run(self, title: str, started: float, parent: str | None = None) -> None:
        """Open the run span (a child of `parent`, a game day's traceparent) and trace requests from now on."""
        if self.run_span is not None:
            return
        self.run_span = self.tracer.start_span(
            "squall.run", context=parent_context(parent), start_time=ns(started),
            attributes=self._p.base({"squall.experiment.title": title}))
        self._run_ctx = trace.set_span_in_context(self.run_span, otel_context.Context())
        tracecontext.set_request_tracer(self._request)

    def end_run(self, verdict: str, score: float | None, reason: str, checks: Iterable[Mapping[str, Any]],
                ended: float | None = None) -> None:
        """Close the run span with the verdict and score, then flush (bounded) and stop tracing requests."""
        tracecontext.set_request_tracer(None)
        span = self.run_span
        if span is not None and span.is_recording():
            span.set_attribute("squall.verdict", verdict)
            span.set_attribute("squall.reason", reason[:2000])
            if score is not None:
                span.set_attribute("squall.score", float(score))
            for check in checks:
                span.add_event("squall.check", self._p.base(check_attributes(check)))
            if verdict != "passed":
                span.set_status(trace.StatusCode.ERROR, f"verdict {verdict}")
            span.end(end_time=ns(ended) if ended else None)
        self.close()

    def close(self) -> None:
        """End what is still open and shut the exporter down (bounded); idempotent."""
        tracecontext.set_request_tracer(None)
        with self._lock:
            left = list(self._open.values())
            self._open.clear()
        for activity, verifier, _token in left:
            for span in (verifier, activity):
                if span is not None and span.is_recording():
                    span.set_status(trace.StatusCode.ERROR, "the activity never ended")
                    span.end()
        if self.run_span is not None and self.run_span.is_recording():
            self.run_span.end()
        self._p.shutdown()

    # -- activities --------------------------------------------------------------
    def activity_started(self, activity: Mapping[str, Any], module: str, func: str) -> None:
        """Open the activity's span (and its verifier span): current in this thread until it ends."""
        if self._run_ctx is None:
            return
        name = str(activity.get("name") or func or "activity")
        span = self.tracer.start_span("squall.activity", context=self._run_ctx, attributes=self._p.base({
            "squall.activity.name": name, "squall.activity.type": activity.get("type"),
            "code.namespace": module or None, "code.function": func or None}))
        verifier = None
        current = trace.set_span_in_context(span, self._run_ctx)
        if module.startswith("squall.verify"):
            verifier = self.tracer.start_span(f"squall.verify.{func}", context=current, attributes=self._p.base({
                "squall.verifier": func, "squall.activity.name": name}))
            current = trace.set_span_in_context(verifier, current)
        token = otel_context.attach(current)  # the requests the activity sends link to it
        with self._lock:
            self._open[(threading.get_ident(), id(activity))] = (span, verifier, token)

    def activity_ended(self, activity: Mapping[str, Any], state: Mapping[str, Any] | None,
                       check: Mapping[str, Any] | None) -> None:
        """Close the activity's spans; a verifier's check becomes an event with its verdict."""
        with self._lock:
            found = self._open.pop((threading.get_ident(), id(activity)), None)
        if found is None:
            return
        span, verifier, token = found
        try:
            otel_context.detach(token)  # type: ignore[arg-type]
        except Exception:
            pass
        status = str((state or {}).get("status") or "unknown")
        output = (state or {}).get("output")
        if isinstance(output, Mapping) and isinstance(output.get("ledger_id"), str) and isinstance(output.get("toxic"), Mapping):
            with self._lock:
                self._toxics[output["ledger_id"]] = output["toxic"]
        if verifier is not None:
            if check is not None:
                verifier.add_event("squall.check", self._p.base(check_attributes(check)))
                verifier.set_attribute("squall.verdict", str(check.get("verdict") or ("passed" if check.get("ok") else "failed")))
                if not check.get("ok"):
                    verifier.set_status(trace.StatusCode.ERROR, str(check.get("summary") or "")[:500])
            verifier.end()
        span.set_attribute("squall.activity.status", status)
        if status != "succeeded":
            span.set_status(trace.StatusCode.ERROR, status)
        span.end()

    # -- the SLI sampler -----------------------------------------------------------
    @contextmanager
    def sampler(self, target: str, url: str) -> Iterator[None]:
        """A span for one SLI target's sampling thread, current in it: each sample's request links to it."""
        if self._run_ctx is None:
            yield
            return
        span = self.tracer.start_span("squall.sli.sampler", context=self._run_ctx,
                                      attributes=self._p.base({"squall.sli.target": target, "url.full": redact_url(url)}))
        token = otel_context.attach(trace.set_span_in_context(span, self._run_ctx))
        try:
            yield
        finally:
            otel_context.detach(token)
            span.end()

    # -- faults ----------------------------------------------------------------------
    def faults(self, entries: Iterable[Any], now: float | None = None) -> None:
        """A span per ledger entry of the run, from the moment it was recorded to its removal."""
        if self._run_ctx is None:
            return
        for e in entries:
            target = e.target if isinstance(e.target, Mapping) else {}
            toxic = self._toxics.get(e.id) or {}
            attrs: dict[str, Any] = {
                "squall.fault.id": e.id, "squall.fault.kind": e.kind, "squall.fault.description": e.description,
                "squall.fault.outcome": e.outcome or "still-in-place", "squall.fault.proxy": target.get("proxy"),
                "squall.fault.toxic.name": target.get("toxic"), "squall.fault.toxic.type": toxic.get("type"),
                "squall.fault.toxic.stream": toxic.get("stream"), "squall.fault.toxic.toxicity": toxic.get("toxicity"),
            }
            for key, value in (toxic.get("attributes") or {}).items() if isinstance(toxic.get("attributes"), Mapping) else ():
                attrs[f"squall.fault.toxic.attributes.{key}"] = value
            span = self.tracer.start_span("squall.fault", context=self._run_ctx, start_time=ns(e.applied_at),
                                          attributes=self._p.base(attrs))
            if e.outcome == "failed-to-apply":
                span.set_status(trace.StatusCode.ERROR, "the fault was never applied")
            end = e.struck_at if e.struck_at is not None else (now or time.time())
            span.end(end_time=ns(max(end, e.applied_at)))

    # -- requests --------------------------------------------------------------------
    def _request(self, tag: str, method: str, url: str) -> tuple[str, tracecontext.RequestSpan] | None:
        sender = trace.get_current_span()  # the verifier or sampler span of this thread, if any
        sent_by = sender.get_span_context()
        links = [trace.Link(sent_by)] if sent_by.is_valid else []
        span = self.tracer.start_span(
            "squall.request", context=otel_context.Context(), kind=trace.SpanKind.CLIENT, links=links,
            attributes=self._p.base({"http.request.method": method, "url.full": redact_url(url),
                                     "squall.request.tag": tag}))
        return traceparent_of(span), _Request(span)


def check_attributes(check: Mapping[str, Any]) -> dict[str, Any]:
    """A check of the run record as event attributes: name, kind, verdict, ok, summary."""
    ok = check.get("ok")
    verdict = check.get("verdict") or ("passed" if ok else "failed")
    return {"squall.check.name": check.get("name"), "squall.check.kind": check.get("kind"),
            "squall.check.verdict": verdict, "squall.check.ok": bool(ok),
            "squall.check.summary": str(check.get("summary") or "")[:2000]}


class SuiteTracing:
    """The span of a game day or gate run, with a child span per experiment; its trace context goes to each run."""

    def __init__(self, target: TracingTarget, name: str, kind: str, started: float,
                 exporter: SpanExporter | None = None) -> None:
        self._p = Provider(target, "", exporter)
        self.span = self._p.tracer.start_span(f"squall.{kind}", context=otel_context.Context(),
                                              start_time=ns(started), attributes={"squall.suite": name})
        self._ctx = trace.set_span_in_context(self.span, otel_context.Context())
        self._run_ids: list[str] = []

    @property
    def trace_id(self) -> str:
        """The suite run's trace id."""
        return trace_id_hex(self.span)

    @property
    def exporter_failures(self) -> int:
        """How many export calls failed so far."""
        return self._p.exporter.failures

    def begin_experiment(self, name: str, started: float) -> tuple[trace.Span, str]:
        """Open an experiment's span; the traceparent (for ``$SQUALL_TRACEPARENT``) makes its run span a child."""
        span = self._p.tracer.start_span("squall.experiment", context=self._ctx, start_time=ns(started),
                                         attributes={"squall.experiment": name})
        return span, traceparent_of(span)

    def end_experiment(self, span: trace.Span, name: str, run_id: str | None, verdict: str, score: float | None,
                       mechanisms: Mapping[str, str], ended: float) -> None:
        """Close an experiment's span with its verdict, score and each mechanism's outcome (also on the suite span)."""
        attrs: dict[str, Any] = {"squall.run_id": run_id or "", "squall.verdict": verdict, "squall.score": score}
        for mech, outcome in mechanisms.items():
            attrs[f"squall.mechanism.{mech}"] = outcome
        span.set_attributes({k: attr(v) for k, v in attrs.items() if v is not None})
        if verdict != "passed":
            span.set_status(trace.StatusCode.ERROR, f"verdict {verdict}")
        span.end(end_time=ns(ended))
        prefix = f"squall.experiment.{name}"
        self.span.set_attributes({f"{prefix}.{k.removeprefix('squall.')}": v for k, v in
                                  ((k, attr(v)) for k, v in attrs.items() if v is not None)})
        if run_id:
            self._run_ids.append(run_id)
            self.span.set_attribute("squall.run_id", list(self._run_ids))  # every experiment run's id

    def end(self, verdict: str, score: float | None, exit_code: int, reasons: Sequence[str]) -> None:
        """Close the suite span with the game day's verdict, score and exit code; flush (bounded)."""
        self.span.set_attribute("squall.verdict", verdict)
        self.span.set_attribute("squall.exit_code", int(exit_code))
        if score is not None:
            self.span.set_attribute("squall.score", float(score))
        if reasons:
            self.span.set_attribute("squall.reasons", [str(r)[:500] for r in reasons[:20]])
        if verdict != "passed":
            self.span.set_status(trace.StatusCode.ERROR, f"verdict {verdict}")
        self.span.end()
        self._p.shutdown()


def start_tracing(target: TracingTarget, run_id: str, exporter: SpanExporter | None = None) -> RunTracing:
    """The tracing of one run (the caller decided that tracing is on)."""
    return RunTracing(target, run_id, exporter)

