"""A small two-tier system squall's authors did not shape for squall: a catalogue frontend in front of an inventory backend.

The frontend answers ``GET /api/item/{id}`` by calling the backend's
``GET /inventory/{id}``. Its resilience mechanisms are switched by
``Mechanisms`` as a team would configure a real service: a per-attempt
timeout, a retry policy (none, exponential backoff with jitter, constant
backoff, or a "storm" of immediate retries), Retry-After honoured or not, a
circuit breaker (none, a buggy one that never closes, a normal one), a
fallback (on every error or only when the backend answered with an HTTP
error), outlier ejection with slow re-admission, and trace propagation (none,
a run-id header, or W3C ``traceparent`` + ``baggage`` as an OpenTelemetry
instrumented HTTP client would send them: same trace id, a new span id).
"""

import asyncio
import os
import random
import re
import time
from collections import deque
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass
from typing import Literal

import aiohttp
from aiohttp import web

Retry = Literal["none", "exponential", "constant", "storm"]
Breaker = Literal["none", "never_closes", "normal"]
Fallback = Literal["none", "all_errors", "http_errors"]
Trace = Literal["none", "run_id", "traceparent"]

RETRYABLE = frozenset({429, 500, 502, 503, 504})
_TRACEPARENT = re.compile(r"^00-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})$")


@dataclass(frozen=True)
class Mechanisms:
    """How the frontend protects itself from its backend."""

    timeout_s: float | None = None  # per attempt; None = wait as long as it takes
    retry: Retry = "none"
    max_attempts: int = 3
    backoff_s: float = 0.05  # first (exponential) or every (constant) wait
    storm_attempts: int = 10
    honour_retry_after: bool = False
    retry_after_cap_s: float = 2.0
    breaker: Breaker = "none"
    breaker_threshold: int = 3
    breaker_cooldown_s: float = 1.5
    fallback: Fallback = "none"
    eject_after: int = 0  # consecutive failed calls that eject the backend (0 = never)
    readmit_after_s: float = 0.0  # how long the backend must stay healthy before it is used again
    refresh_every_s: float = 0.0  # keep the popular item warm in the background (0 = no refresher)
    trace: Trace = "none"


class CircuitBreaker:
    """Consecutive-failure breaker: closed -> open -> (after the cool-down) half-open, one trial -> closed."""

    def __init__(self, mode: Breaker, threshold: int, cooldown_s: float) -> None:
        self.mode, self.threshold, self.cooldown_s = mode, threshold, cooldown_s
        self.failures = 0
        self.opened_at: float | None = None
        self.trial = False

    def allow(self) -> bool:
        """May a call go to the backend now?"""
        if self.mode == "none" or self.opened_at is None:
            return True
        if self.mode == "never_closes":  # the bug: the cool-down is never checked
            return False
        if time.monotonic() - self.opened_at >= self.cooldown_s and not self.trial:
            self.trial = True
            return True
        return False

    def record(self, ok: bool) -> None:
        """The outcome of a call that was allowed."""
        self.trial = False
        if ok:
            self.failures, self.opened_at = 0, None
            return
        self.failures += 1
        if self.opened_at is not None or self.failures >= self.threshold:
            self.opened_at = time.monotonic()


class BackendError(Exception):
    """A call to the backend failed; `status` is set when the backend answered."""

    def __init__(self, reason: str, status: int | None = None, retry_after: float | None = None) -> None:
        super().__init__(reason)
        self.status, self.retry_after = status, retry_after


def outgoing_trace_headers(mode: Trace, incoming: Mapping[str, str]) -> dict[str, str]:
    """The headers the frontend's HTTP client adds to a backend call, per its tracing setup."""
    if mode == "run_id":
        value = incoming.get("X-Chaos-Run-Id")
        return {"X-Chaos-Run-Id": value} if value else {}
    if mode != "traceparent":
        return {}
    match = _TRACEPARENT.match(incoming.get("traceparent", "").strip())
    valid = match is not None and match.group(1) != "0" * 32 and match.group(2) != "0" * 16
    trace_id = match.group(1) if valid and match else os.urandom(16).hex()  # no parent: a new root span
    out = {"traceparent": f"00-{trace_id}-{os.urandom(8).hex()}-01"}
    if incoming.get("baggage"):
        out["baggage"] = incoming["baggage"]
    return out


class Frontend:
    """The catalogue service's state: one HTTP session, the breaker, and the backend's health."""

    def __init__(self, backend_url: str, m: Mechanisms) -> None:
        self.backend_url, self.m = backend_url.rstrip("/"), m
        self.breaker = CircuitBreaker(m.breaker, m.breaker_threshold, m.breaker_cooldown_s)
        self.consecutive_failures = 0
        self.ejected = False
        self._checker: asyncio.Task[None] | None = None
        self._refresher: asyncio.Task[None] | None = None
        self.popular: dict[str, object] | None = None
        #: its own record of recent client requests and the backend attempts each made (GET /debug/calls)
        self.calls: deque[dict[str, object]] = deque(maxlen=2000)
        self.session: aiohttp.ClientSession | None = None

    def _wait(self, attempt: int, error: BackendError) -> float:
        if self.m.honour_retry_after and error.retry_after is not None:
            return min(error.retry_after, self.m.retry_after_cap_s)
        if self.m.retry == "exponential":
            return self.m.backoff_s * (2 ** attempt) * random.uniform(0.8, 1.2)
        if self.m.retry == "constant":
            return self.m.backoff_s
        return 0.0

    async def _attempt(self, path: str, headers: dict[str, str], log: list[list[object]] | None = None) -> dict[str, object]:
        assert self.session is not None
        timeout = aiohttp.ClientTimeout(total=self.m.timeout_s)
        entry: list[object] = [time.time(), None, "ok"]  # start, end, outcome
        if log is not None:
            log.append(entry)
        try:
            async with self.session.get(f"{self.backend_url}{path}", headers=headers, timeout=timeout) as r:
                if r.status >= 400:
                    entry[2] = f"status {r.status}"
                    ra = r.headers.get("Retry-After")
                    retry_after = float(ra) if ra and ra.replace(".", "", 1).isdigit() else None
                    raise BackendError(f"backend answered {r.status}", r.status, retry_after)
                body: dict[str, object] = await r.json()
                return body
        except (TimeoutError, aiohttp.ClientError) as exc:
            entry[2] = type(exc).__name__
            raise BackendError(f"backend unreachable ({type(exc).__name__})") from exc
        finally:
            entry[1] = time.time()

    async def call(self, path: str, incoming: Mapping[str, str], log: list[list[object]] | None = None) -> dict[str, object]:
        """Call the backend with the configured retries; raise the last BackendError."""
        attempts = {"none": 1, "storm": self.m.storm_attempts}.get(self.m.retry, self.m.max_attempts)
        last = BackendError("no attempt made")
        for attempt in range(attempts):
            try:
                return await self._attempt(path, outgoing_trace_headers(self.m.trace, incoming), log)
            except BackendError as exc:
                last = exc
                if exc.status is not None and exc.status not in RETRYABLE:
                    break
            if attempt + 1 < attempts:
                await asyncio.sleep(self._wait(attempt, last))
        raise last

    def _note(self, ok: bool) -> None:
        self.consecutive_failures = 0 if ok else self.consecutive_failures + 1
        if self.m.eject_after and self.consecutive_failures >= self.m.eject_after and not self.ejected:
            self.ejected = True
            self._checker = asyncio.get_running_loop().create_task(self._health_check())

    async def _health_check(self) -> None:
        """While ejected, poll the backend; re-admit it after it has stayed healthy for readmit_after_s."""
        assert self.session is not None
        healthy_since: float | None = None
        while self.ejected:
            try:
                timeout = aiohttp.ClientTimeout(total=0.5)
                async with self.session.get(f"{self.backend_url}/health", timeout=timeout) as r:
                    ok = r.status == 200
            except (TimeoutError, aiohttp.ClientError):
                ok = False
            now = time.monotonic()
            healthy_since = (healthy_since or now) if ok else None
            if healthy_since is not None and now - healthy_since >= self.m.readmit_after_s:
                self.ejected, self.consecutive_failures = False, 0
                return
            await asyncio.sleep(0.2)

    async def _refresh(self) -> None:
        """Re-read the popular item every refresh_every_s (its own traffic, not caused by any client request)."""
        while True:
            try:
                self.popular = await self._attempt("/inventory/popular", outgoing_trace_headers(self.m.trace, {}))
            except BackendError:
                pass  # keep the last good copy
            await asyncio.sleep(self.m.refresh_every_s)

    def _degraded(self, error: BackendError) -> web.Response:
        fallback = self.m.fallback == "all_errors" or (self.m.fallback == "http_errors" and error.status is not None)
        if fallback:
            return web.json_response({"item": None, "fallback": True, "reason": str(error)},
                                     headers={"X-Fallback": "true"})
        status = error.status if error.status is not None else 502
        return web.json_response({"error": str(error)}, status=status if status >= 500 else 502)

    async def item(self, request: web.Request) -> web.Response:
        """GET /api/item/{id}."""
        attempts: list[list[object]] = []
        self.calls.append({"request_id": request.headers.get("X-Request-Id"), "attempts": attempts})
        if self.ejected:
            return self._degraded(BackendError("backend ejected"))
        if not self.breaker.allow():
            return self._degraded(BackendError("circuit open"))
        try:
            body = await self.call(f"/inventory/{request.match_info['id']}", request.headers, attempts)
        except BackendError as exc:
            self.breaker.record(False)
            self._note(False)
            return self._degraded(exc)
        self.breaker.record(True)
        self._note(True)
        return web.json_response({"item": body, "fallback": False})

    async def debug_calls(self, request: web.Request) -> web.Response:
        """GET /debug/calls[?request_id=X]: the service's own record of requests and their backend attempts."""
        wanted = request.query.get("request_id")
        return web.json_response([c for c in self.calls if wanted is None or c["request_id"] == wanted])

    async def lifecycle(self, app: web.Application) -> AsyncIterator[None]:
        """Open the client session on start-up; stop the health checker and close it on clean-up."""
        self.session = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=None))
        if self.m.refresh_every_s > 0:
            self._refresher = asyncio.get_running_loop().create_task(self._refresh())
        yield
        self.ejected = False
        tasks = [t for t in (self._checker, self._refresher) if t is not None]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        await self.session.close()


def make_frontend(backend_url: str, mechanisms: Mechanisms) -> web.Application:
    """The catalogue frontend with the given mechanisms."""
    frontend = Frontend(backend_url, mechanisms)
    app = web.Application()
    app.router.add_get("/api/item/{id}", frontend.item)
    app.router.add_get("/debug/calls", frontend.debug_calls)
    app.cleanup_ctx.append(frontend.lifecycle)
    return app


def make_backend() -> web.Application:
    """The inventory backend: ``/inventory/{id}`` and ``/health``."""

    async def inventory(request: web.Request) -> web.Response:
        seen = {k: request.headers[k] for k in ("traceparent", "baggage", "X-Chaos-Run-Id") if k in request.headers}
        return web.json_response({"id": request.match_info["id"], "stock": 7, "headers_seen": seen})

    async def health(request: web.Request) -> web.Response:
        return web.json_response({"status": "ok"})

    app = web.Application()
    app.router.add_get("/inventory/{id}", inventory)
    app.router.add_get("/health", health)
    return app
