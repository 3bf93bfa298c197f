"""Every request squall's SLI probes and the control's sampler send carries trace context; a verifier's hold pauses the sampler."""

import threading
import time

import httpx

from squall import config, quiet
from squall.control.sampling import Timeline
from squall.control.settings import SliTarget
from squall.probes import sli
from squall.tracecontext import parse_baggage, parse_traceparent


def _seen(dependency_url: str) -> list[dict]:
    return list(httpx.get(f"{dependency_url}/seen", timeout=5).json())


def _check_traced(rows: list[dict], count: int) -> None:
    assert len(rows) == count, rows
    traces = [parse_traceparent(r["traceparent"] or "") for r in rows]
    assert all(t is not None for t in traces), rows
    assert len({t[0] for t in traces if t}) == count  # a fresh trace id per request
    assert all(parse_baggage(r["baggage"] or "").get("squall.run_id") == config.run_id() for r in rows)
    assert all(r["X-Chaos-Run-Id"] == config.run_id() for r in rows)


def test_sample_and_meets_slo_send_trace_context(dependency_url: str) -> None:
    sli.sample(f"{dependency_url}/pay", requests=3)
    assert sli.meets_slo(f"{dependency_url}/pay", requests=2, max_p95_ms=None) == True  # noqa: E712
    _check_traced([r for r in _seen(dependency_url) if r["path"] == "/pay"], 5)


def test_the_controls_sampler_sends_trace_context_and_skips_ticks_while_held(dependency_url: str) -> None:
    timeline = Timeline([SliTarget("dep", f"{dependency_url}/pay", interval_s=0.05, timeout_s=0.05)], max_samples=10_000)
    timeline.start()
    try:
        deadline = time.monotonic() + 10
        while len(timeline.snapshot()) < 3 and time.monotonic() < deadline:
            time.sleep(0.05)
        with quiet.hold("test verifier") as held:
            assert held.drained  # the sampler's request in flight ended before the hold began
            before = len(_seen(dependency_url))
            time.sleep(0.5)  # ten ticks
            during = len(_seen(dependency_url))
        start, end = held.start, held.end
        deadline = time.monotonic() + 10
        while len(_seen(dependency_url)) <= during + 1 and time.monotonic() < deadline:
            time.sleep(0.05)
    finally:
        timeline.stop()
    rows = _seen(dependency_url)
    assert during == before  # nothing sent while held (the /seen calls are not recorded)
    assert len(rows) > during  # sampling resumed after the hold
    assert timeline.held_ticks >= 3
    assert not [r for r in timeline.snapshot() if start <= r[0] <= (end or 0)]
    assert any(p[2] == "test verifier" and p[0] == round(start, 3) and p[1] == round(end or 0, 3)
               for p in quiet.pauses(start - 1))
    _check_traced([r for r in rows if r["path"] == "/pay"], len([r for r in rows if r["path"] == "/pay"]))


def test_a_hold_waits_for_the_samplers_request_in_flight(dependency_url: str) -> None:
    slow = f"{dependency_url}/slow?s=0.4"
    timeline = Timeline([SliTarget("slow", slow, interval_s=1.0, timeout_s=1.0)], max_samples=100)
    timeline.start()
    try:
        deadline = time.monotonic() + 10
        while not _seen(dependency_url) and time.monotonic() < deadline:
            time.sleep(0.02)  # until the first request (0.4 s) is in flight
        with quiet.hold("waits") as held:
            taken = time.time()
        rows = timeline.snapshot()
    finally:
        timeline.stop()
    assert held.drained
    assert len(rows) == 1 and rows[0][2] == 1  # the request in flight ended (and was kept) before the hold began
    assert rows[0][0] + rows[0][4] / 1000 <= taken + 0.01


def test_sli_points_read_the_controls_samples(dependency_url: str) -> None:
    url = f"{dependency_url}/status/503"
    timeline = Timeline([SliTarget("bad", url, interval_s=0.05, timeout_s=0.05)], max_samples=100)
    start = time.time()
    timeline.start()
    try:
        deadline = time.monotonic() + 10
        while len(timeline.snapshot()) < 2 and time.monotonic() < deadline:
            time.sleep(0.05)
        points = quiet.sli_points(url, start, time.time())
        assert quiet.sli_points(f"{dependency_url}/pay", start, time.time()) is None  # not sampled
    finally:
        timeline.stop()
    assert points and not any(p.ok for p in points)
    assert quiet.sli_points(url, start, time.time()) is None  # unregistered when stopped


def test_holds_from_threads_are_counted_once_each() -> None:
    holds = [quiet.hold(f"h{i}", wait_s=0) for i in range(3)]
    assert quiet.holding()
    threads = [threading.Thread(target=h.release) for h in holds]
    for t in threads:
        t.start()
    for t in threads:
        t.join(5)
    assert not quiet.holding()
    holds[0].release()  # idempotent
    assert sum(1 for p in quiet.pauses(holds[0].start - 0.001) if str(p[2]).startswith("h")) == 3
