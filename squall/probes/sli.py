"""SLI probes: send bounded HTTP traffic to a service and measure what its users would see.

Every request carries ``X-Chaos-Run-Id`` so the service (and squall's embedded
proxy) can tell chaos traffic apart, and W3C trace context
(``squall.tracecontext``: a ``traceparent`` with a fresh trace id per request,
``baggage: squall.run_id=<run id>``), so a service that forwards it lets the
proxy tie each dependency call to the request that caused it. A refused, reset or timed-out request is a
failed sample, never a crashed probe.

Tolerances: ``meets_slo`` returns an ``SLOVerdict``: the measured numbers as a
dict (so the journal and the report keep them) that compares equal to ``True``
when the objectives held and to ``False`` otherwise, so ``tolerance: true``
works as with a plain bool. ``slo_report`` returns the same numbers as a plain
dict, for the method or for a jsonpath tolerance on ``$.ok`` (Chaos Toolkit
needs ``pip install chaostoolkit-lib[jsonpath]`` for that).
"""

import contextvars
import logging
import math
import threading
import time
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, Literal

import httpx

from squall import config
from squall.activity import activity
from squall.errors import ExperimentInvalid
from squall.percentiles import nearest_rank
from squall.tracecontext import TRACEPARENT_HEADER, trace_headers, traced_request, with_caller_baggage, without_baggage

__all__ = ["meets_slo", "sample", "slo_report"]

logger = logging.getLogger("squall.probes.sli")

#: hard cap on requests one probe call may send, whatever its arguments say
MAX_REQUESTS = 10_000
#: concurrent requests in flight at most when a rate is asked
MAX_CONCURRENCY = 32

ErrorKind = Literal["timeout", "refused", "reset", "other"]
StatusSpec = int | Sequence[int] | None


@dataclass(frozen=True)
class Sample:
    """One request as the client saw it."""

    t: float  # unix time the request started
    ok: bool
    status: int | None
    latency_ms: float
    error: ErrorKind | None


def status_ok(status: int, expect_status: StatusSpec) -> bool:
    """True when `status` is what the caller expects (any 2xx/3xx when nothing is given)."""
    if expect_status is None:
        return 200 <= status < 400
    if isinstance(expect_status, int):
        return status == expect_status
    return status in expect_status


def classify_error(exc: BaseException) -> ErrorKind:
    """Name the kind of a transport error: timeout, refused, reset or other."""
    if isinstance(exc, httpx.TimeoutException):
        return "timeout"
    if isinstance(exc, httpx.ConnectError):
        text = str(exc).lower()
        if "reset" in text:
            return "reset"
        return "refused"
    if isinstance(exc, (httpx.ReadError, httpx.WriteError, httpx.RemoteProtocolError)):
        return "reset"
    return "other"


def probe_once(
    client: httpx.Client,
    url: str,
    method: str = "GET",
    timeout_s: float = 5.0,
    headers: Mapping[str, str] | None = None,
    expect_status: StatusSpec = None,
) -> Sample:
    """Send one request and return it as a Sample (never raises for transport errors).

    The request carries trace context (``squall.tracecontext.trace_headers``);
    headers the caller gives win, so a caller that made its own traceparent or
    X-Chaos-Run-Id (a verifier) keeps it.
    """
    given = dict(headers or {})
    tag = next((v for k, v in given.items() if k.lower() == config.RUN_ID_HEADER.lower()), config.run_id())
    names = {k.lower() for k in given}
    if TRACEPARENT_HEADER in names:  # the caller's own trace context: no span of ours
        traced, span = trace_headers(tag), None
    else:  # with tracing on, the request's span (linked to the sampler's or verifier's)
        traced, span = traced_request(tag, method, url)
    traced = with_caller_baggage(traced, given)  # e.g. squall.group=experiment joins the run id
    given = without_baggage(given)
    names = {k.lower() for k in given}
    merged = {k: v for k, v in traced.items() if k.lower() not in names}
    merged.update(given)
    t = time.time()
    start = time.perf_counter()
    try:
        response = client.request(method, url, headers=merged, timeout=timeout_s)
    except httpx.HTTPError as exc:
        latency = (time.perf_counter() - start) * 1000.0
        error = classify_error(exc)
        if span is not None:
            span.end(None, error)
        return Sample(t, False, None, round(latency, 3), error)
    latency = (time.perf_counter() - start) * 1000.0
    if span is not None:
        span.end(response.status_code, None)
    return Sample(t, status_ok(response.status_code, expect_status), response.status_code, round(latency, 3), None)


def percentile(values: Sequence[float], q: float) -> float | None:
    """The q-th percentile (0..100) by nearest rank; None for no values."""
    return nearest_rank(sorted(values), q)


def summarize(samples: Iterable[Sample]) -> dict[str, Any]:
    """Success rate, p50/p95/p99/max latency (ms), status histogram and error kinds of samples."""
    items = list(samples)
    latencies = [s.latency_ms for s in items]
    ok = sum(1 for s in items if s.ok)
    statuses = Counter(str(s.status) for s in items if s.status is not None)
    errors = Counter(s.error for s in items if s.error is not None)
    return {
        "count": len(items),
        "succeeded": ok,
        "failed": len(items) - ok,
        "success_rate": round(ok / len(items), 4) if items else 0.0,
        "p50_ms": percentile(latencies, 50),
        "p95_ms": percentile(latencies, 95),
        "p99_ms": percentile(latencies, 99),
        "max_ms": max(latencies) if latencies else None,
        "statuses": dict(sorted(statuses.items())),
        "errors": dict(sorted(errors.items())),
    }


def make_client() -> httpx.Client:
    """An httpx client for probe traffic: no environment proxies, keep-alive pool sized for concurrency."""
    limits = httpx.Limits(max_connections=MAX_CONCURRENCY, max_keepalive_connections=MAX_CONCURRENCY)
    return httpx.Client(trust_env=False, limits=limits, follow_redirects=False)


def _check_args(url: str, requests: int, duration_s: float | None, rate_per_s: float | None, timeout_s: float) -> None:
    if not isinstance(url, str) or not url.startswith(("http://", "https://")):
        shown = config.redact_url(url) if isinstance(url, str) else url
        raise ExperimentInvalid(f'url "{shown}" is not an http(s) URL (expected e.g. "http://127.0.0.1:8080/health")')
    if not isinstance(requests, int) or requests < 1 or requests > MAX_REQUESTS:
        raise ExperimentInvalid(f"requests={requests!r} (expected an integer from 1 to {MAX_REQUESTS})")
    if duration_s is not None and not duration_s > 0:
        raise ExperimentInvalid(f"duration_s={duration_s!r} (expected a positive number of seconds)")
    if rate_per_s is not None and not rate_per_s > 0:
        raise ExperimentInvalid(f"rate_per_s={rate_per_s!r} (expected a positive number of requests per second)")
    if not timeout_s > 0:
        raise ExperimentInvalid(f"timeout_s={timeout_s!r} (expected a positive number of seconds)")


def collect(
    url: str,
    method: str = "GET",
    requests: int = 50,
    duration_s: float | None = None,
    rate_per_s: float | None = None,
    timeout_s: float = 5.0,
    headers: Mapping[str, str] | None = None,
    expect_status: StatusSpec = None,
) -> list[Sample]:
    """Send bounded traffic and return every Sample (the engine behind ``sample``)."""
    _check_args(url, requests, duration_s, rate_per_s, timeout_s)
    with make_client() as client:
        def one() -> Sample:
            return probe_once(client, url, method, timeout_s, headers, expect_status)

        if rate_per_s is None:
            # Sequential: `requests` requests, or as many as fit in duration_s (capped).
            limit = MAX_REQUESTS if duration_s is not None else requests
            deadline = time.monotonic() + (duration_s or math.inf)
            out: list[Sample] = []
            while len(out) < limit and time.monotonic() < deadline:
                out.append(one())
            return out
        # Paced: one request every 1/rate seconds, concurrently, for duration_s (or `requests` of them).
        count = min(MAX_REQUESTS, math.ceil(duration_s * rate_per_s)) if duration_s else requests
        interval = 1.0 / rate_per_s
        results: list[Sample] = []
        lock = threading.Lock()

        def record() -> None:
            s = one()
            with lock:
                results.append(s)

        start = time.monotonic()
        with ThreadPoolExecutor(max_workers=MAX_CONCURRENCY, thread_name_prefix="squall-sli") as pool:
            for i in range(count):
                delay = start + i * interval - time.monotonic()
                if delay > 0:
                    time.sleep(delay)
                pool.submit(contextvars.copy_context().run, record)  # with tracing on: the activity's span
        return sorted(results, key=lambda s: s.t)


@activity(role="probe")
def sample(
    url: str,
    method: str = "GET",
    requests: int = 50,
    duration_s: float | None = None,
    rate_per_s: float | None = None,
    timeout_s: float = 5.0,
    headers: dict | None = None,
    expect_status: int | list | None = None,
) -> dict:
    """Send bounded HTTP traffic to `url` and return success rate, p50/p95/p99/max latency (ms), statuses and error kinds.

    Sends `requests` requests one after another, or for `duration_s` seconds;
    with `rate_per_s` the requests are paced at that rate and run concurrently.
    A request succeeds when its status is `expect_status` (an int or a list),
    or any 2xx/3xx when it is not given. Each request carries X-Chaos-Run-Id
    and W3C trace context (a fresh traceparent, baggage squall.run_id).
    """
    return summarize(collect(url, method, requests, duration_s, rate_per_s, timeout_s, headers, expect_status))


def _judge(summary: Mapping[str, Any], min_success_rate: float, max_p95_ms: float | None, max_p99_ms: float | None) -> list[str]:
    broken = []
    if summary["success_rate"] < min_success_rate:
        broken.append(f"success rate {summary['success_rate']:.2%} < {min_success_rate:.2%}")
    if max_p95_ms is not None and (summary["p95_ms"] is None or summary["p95_ms"] > max_p95_ms):
        broken.append(f"p95 {summary['p95_ms']} ms > {max_p95_ms} ms")
    if max_p99_ms is not None and (summary["p99_ms"] is None or summary["p99_ms"] > max_p99_ms):
        broken.append(f"p99 {summary['p99_ms']} ms > {max_p99_ms} ms")
    return broken


@activity(role="probe")
def slo_report(
    url: str,
    min_success_rate: float = 0.99,
    max_p95_ms: float | None = 300,
    max_p99_ms: float | None = None,
    method: str = "GET",
    requests: int = 50,
    duration_s: float | None = None,
    rate_per_s: float | None = None,
    timeout_s: float = 5.0,
    headers: dict | None = None,
    expect_status: int | list | None = None,
) -> dict:
    """Sample `url` and return {"ok", "summary", success rate, latencies...}, the numbers behind `meets_slo`.

    Same traffic as `sample`; `ok` is true when the success rate is at least
    `min_success_rate` and p95 (p99) latency is at most `max_p95_ms` (`max_p99_ms`).
    As a steady-state probe use a jsonpath tolerance on "$.ok" (needs
    chaostoolkit-lib[jsonpath]).
    """
    if not 0.0 <= min_success_rate <= 1.0:
        raise ExperimentInvalid(f"min_success_rate={min_success_rate!r} (expected a fraction from 0 to 1)")
    measured = summarize(collect(url, method, requests, duration_s, rate_per_s, timeout_s, headers, expect_status))
    broken = _judge(measured, min_success_rate, max_p95_ms, max_p99_ms)
    line = (
        f"{config.redact_url(url)}: success {measured['success_rate']:.2%}, p95 {measured['p95_ms']} ms, "
        f"p99 {measured['p99_ms']} ms over {measured['count']} requests"
    )
    summary = line + (" — " + "; ".join(broken) if broken else " — within objectives")
    return {"ok": not broken, "summary": summary, **measured}


class SLOVerdict(dict):  # type: ignore[type-arg]
    """The numbers `meets_slo` measured; equal to True when the objectives held, to False otherwise.

    Chaos Toolkit checks a boolean tolerance with ``value == tolerance``, so
    ``tolerance: true`` passes exactly when ``self["ok"]`` is true, while the
    journal (JSON) records the whole dict.
    """

    def __eq__(self, other: object) -> bool:
        if isinstance(other, bool):
            return bool(self.get("ok")) is other
        return dict.__eq__(self, other)

    def __ne__(self, other: object) -> bool:
        return not self.__eq__(other)

    __hash__ = None  # type: ignore[assignment]  # a dict: unhashable, as before

    def __bool__(self) -> bool:
        return bool(self.get("ok"))


@activity(role="probe")
def meets_slo(
    url: str,
    min_success_rate: float = 0.99,
    max_p95_ms: float | None = 300,
    max_p99_ms: float | None = None,
    method: str = "GET",
    requests: int = 50,
    duration_s: float | None = None,
    rate_per_s: float | None = None,
    timeout_s: float = 5.0,
    headers: dict | None = None,
    expect_status: int | list | None = None,
) -> dict:
    """Whether `url` meets its objectives (success rate, p95/p99 latency); use with `tolerance: true`.

    Sends the same bounded traffic as `sample`. The result is the measured
    numbers ("ok", "summary", success_rate, p50/p95/p99/max latency, statuses,
    errors), recorded in the journal, and it compares equal to true exactly when
    the objectives held, so `tolerance: true` passes or fails as with a boolean.
    """
    report = slo_report.__wrapped__(  # type: ignore[attr-defined]
        url, min_success_rate, max_p95_ms, max_p99_ms, method, requests,
        duration_s, rate_per_s, timeout_s, headers, expect_status,
    )
    logger.info("meets_slo: %s", report["summary"])
    return SLOVerdict(report)
