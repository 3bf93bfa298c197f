"""What verifiers observe: traffic they send themselves, and the dependency's side from the embedded proxy's stats.

Each request a verifier sends carries its own ``X-Chaos-Run-Id`` value
(``<run id>-<verifier>-<n>``). A service that forwards that header to its
dependency (as trace headers are forwarded) lets the verifier attribute every
dependency attempt to the client request that caused it; otherwise attempts
are attributed by time (the request's start..end), and other traffic to the
same dependency during the check is counted too.
"""

import time
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import httpx

from squall import config
from squall.errors import ExperimentInvalid
from squall.probes.proxy import fetch_stats
from squall.probes.sli import Sample, classify_error, make_client, probe_once, status_ok

#: slack around a request's window when attributing proxy events by time
WINDOW_SLACK_S = 0.05


def result(verifier: str, ok: bool, summary: str, evidence: Mapping[str, Any]) -> dict[str, Any]:
    """The verifier result shape of docs/internals.md."""
    return {"verifier": verifier, "ok": bool(ok), "summary": summary, "evidence": dict(evidence)}


@dataclass
class Call:
    """One client request the verifier sent, and the dependency attempts attributed to it."""

    tag: str
    start: float
    end: float
    sample: Sample
    attempts: list[dict[str, Any]] = field(default_factory=list)


def check_count(name: str, value: Any, minimum: int = 1, maximum: int = 1000) -> int:
    """An integer argument within bounds, or ExperimentInvalid naming it."""
    if isinstance(value, bool) or not isinstance(value, int) or not minimum <= value <= maximum:
        raise ExperimentInvalid(f"{name}={value!r} (expected an integer from {minimum} to {maximum})")
    return value


def check_seconds(name: str, value: Any, maximum: float = 600) -> float:
    """A positive number of seconds within bounds, or ExperimentInvalid naming it."""
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 < value <= maximum:
        raise ExperimentInvalid(f"{name}={value!r} (expected a number of seconds above 0, at most {maximum})")
    return float(value)


class Observer:
    """Sends tagged client requests and reads the dependency's attempts from the proxy stats."""

    def __init__(self, verifier: str, url: str, configuration: Mapping[str, Any] | None,
                 proxy: str | None = None, headers: Mapping[str, str] | None = None,
                 expect_status: int | list | None = None) -> None:
        if not isinstance(url, str) or not url.startswith(("http://", "https://")):
            raise ExperimentInvalid(f'url "{url}" is not an http(s) URL (expected the service under test)')
        self.verifier, self.url, self.proxy = verifier, url, proxy
        self.headers = dict(headers or {})
        self.expect_status = expect_status
        self.api = config.toxiproxy_url(configuration)
        self.prefix = f"{config.run_id()}-{verifier}-{uuid.uuid4().hex[:4]}"
        self.calls: list[Call] = []
        self.started = time.time()
        self._n = 0
        self._client = make_client()
        if proxy is not None:
            fetch_stats(self.api, proxy, since=time.time())  # unknown proxy / not embedded: fail before traffic

    def __enter__(self) -> "Observer":
        return self

    def __exit__(self, *exc: object) -> None:
        self._client.close()

    def call(self, timeout_s: float) -> Call:
        """Send one tagged request to the service and remember it."""
        self._n += 1
        tag = f"{self.prefix}-{self._n}"
        headers = {**self.headers, config.RUN_ID_HEADER: tag}
        start = time.time()
        s = probe_once(self._client, self.url, "GET", timeout_s, headers, self.expect_status)
        c = Call(tag, start, time.time(), s)
        self.calls.append(c)
        return c

    def request(self, timeout_s: float) -> tuple[Call, httpx.Response | None]:
        """Like ``call`` but also return the response (for headers and body)."""
        self._n += 1
        tag = f"{self.prefix}-{self._n}"
        headers = {**self.headers, config.RUN_ID_HEADER: tag}
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
        c = Call(tag, start, time.time(), s)
        self.calls.append(c)
        return c, response

    def attribute(self, since: float | None = None) -> dict[str, Any]:
        """Fetch dependency events since `since` and attach them to calls; return the raw counts."""
        assert self.proxy is not None
        stats = fetch_stats(self.api, self.proxy, since=since or self.started - WINDOW_SLACK_S)
        events = list((stats.get("http") or {}).get("events") or [])
        tagged = [e for e in events if str(e.get("run_id") or "").startswith(self.prefix)]
        by_tag = {c.tag: c for c in self.calls}
        for c in self.calls:
            c.attempts = []
        if tagged:
            for e in tagged:
                if e["run_id"] in by_tag:
                    by_tag[e["run_id"]].attempts.append(e)
            mode, counted = "header", tagged
        else:
            counted = []
            for e in events:
                owner = _owner(self.calls, float(e["ts"]))
                if owner is not None:
                    owner.attempts.append(e)
                    counted.append(e)
            mode = "time-window"
        for c in self.calls:
            c.attempts.sort(key=lambda e: e["ts"])
        return {"attribution": mode, "dependency_events": len(counted), "events_seen": len(events),
                "connections": stats.get("connections", {})}


def _owner(calls: list[Call], ts: float) -> Call | None:
    """The call whose start..end holds `ts`; else the nearest one within the slack."""
    inside = [c for c in calls if c.start <= ts <= c.end]
    if inside:
        return max(inside, key=lambda c: c.start)
    near = [(min(abs(ts - c.start), abs(ts - c.end)), i) for i, c in enumerate(calls)]
    near = [(d, i) for d, i in near if d <= WINDOW_SLACK_S]
    return calls[min(near)[1]] if near else None


def event_brief(e: Mapping[str, Any]) -> dict[str, Any]:
    """The parts of a proxy event worth keeping as evidence."""
    return {k: e.get(k) for k in ("ts", "status", "duration_ms", "injected", "error")}
