"""The traceparent on squall's requests is the exported span of that very request, linked to what sent it."""

import time
from collections.abc import Iterator

import pytest
from aiohttp import web
from otlp_receiver import Receiver, otlp_receiver

from squall import tracecontext
from squall.background import serve_app
from squall.probes import sli
from squall.telemetry.tracing import RunTracing
from squall.telemetry.tracing_config import TracingTarget


@pytest.fixture
def service() -> Iterator[tuple[str, list[str]]]:
    """A real HTTP service on 127.0.0.1 that keeps the traceparent of every request it gets."""
    seen: list[str] = []

    async def handler(request: web.Request) -> web.Response:
        seen.append(request.headers.get("traceparent", ""))
        return web.Response(text="ok")

    def app() -> web.Application:
        a = web.Application()
        a.router.add_get("/", handler)
        return a

    with serve_app(app) as base:
        yield f"{base}/", seen


def _wait(receiver: Receiver, name: str, count: int) -> list:
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and len(receiver.named(name)) < count:
        time.sleep(0.05)
    return receiver.named(name)


def test_a_probes_concurrent_requests_are_spans_linked_to_its_activity(service: tuple[str, list[str]]) -> None:
    url, seen = service
    with otlp_receiver() as receiver:
        tracing = RunTracing(TracingTarget(endpoint=f"{receiver.url}/v1/traces"), "run-req-1")
        tracing.start_run("requests", time.time())
        assert tracecontext.tracing_active()
        activity = {"type": "probe", "name": "checkout sample"}
        tracing.activity_started(activity, "squall.probes.sli", "sample")
        result = sli.sample(f"{url}?api_key=sekret-123", requests=6, rate_per_s=50.0, timeout_s=2.0)  # paced: a pool
        tracing.activity_ended(activity, {"status": "succeeded", "output": result}, None)
        tracing.end_run("passed", 100.0, "all held", [], None)
        assert not tracecontext.tracing_active()  # after the run, requests are plain again
        requests = _wait(receiver, "squall.request", 6)
        [span] = receiver.named("squall.activity")

    assert result["count"] == 6 and result["success_rate"] == 1.0
    assert len(requests) == 6
    assert sorted(tracecontext.parse_traceparent(v) for v in seen) == sorted((r.trace_id, r.span_id) for r in requests)
    assert all(int(v[-2:], 16) & 0x01 for v in seen)  # sampled
    assert len({r.trace_id for r in requests}) == 6  # each request its own trace ...
    for r in requests:
        assert r.links == [(span.trace_id, span.span_id)]  # ... linked to the activity that sent it
        assert r.attributes["http.response.status_code"] == 200
        assert r.attributes["squall.run_id"] == "run-req-1"
        assert r.attributes["url.full"] == f"{url}?api_key=[masked]"  # credentials never leave in a span


def test_with_tracing_off_requests_keep_a_fresh_unexported_trace_id(service: tuple[str, list[str]]) -> None:
    url, seen = service
    assert not tracecontext.tracing_active()
    headers, span = tracecontext.traced_request("tag", "GET", url)
    assert span is None and tracecontext.parse_traceparent(headers["traceparent"]) is not None
    sli.sample(url, requests=3, timeout_s=2.0)
    assert len({tracecontext.parse_traceparent(v)[0] for v in seen}) == 3  # type: ignore[index]
