"""Two client services in front of a dependency: a resilient one and a fragile one.

Both answer ``GET /checkout`` by calling ``GET <dependency_url>`` (through the
fault proxy in the tests) and forward ``X-Chaos-Run-Id`` (switchable), and
optionally ``traceparent``/``baggage`` the way an OpenTelemetry-instrumented
client does (same trace id, a new span id).

- resilient: per-attempt timeout, retries with exponential backoff honouring
  Retry-After (capped), an overall deadline, a circuit breaker (opens after N
  consecutive failed calls, half-open after a cooldown) and a fallback answer
  (200, ``X-Fallback: true``, ``{"fallback": true}``).
- fragile: one attempt, no timeout, no breaker; a failure becomes a 502.
"""

import asyncio
import os
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal

import aiohttp
from aiohttp import web

RUN_ID_HEADER = "X-Chaos-Run-Id"


@dataclass
class Settings:
    """The resilient client's knobs (small, so tests stay fast)."""

    attempt_timeout_s: float = 0.25
    max_attempts: int = 3
    backoff_base_s: float = 0.05
    retry_after_cap_s: float = 2.0
    deadline_s: float = 3.0
    breaker_threshold: int = 3
    breaker_cooldown_s: float = 1.0
    forward_run_id: bool = True  # False: like a service that drops trace headers
    forward_traceparent: bool = False  # True: like an OpenTelemetry-instrumented HTTP client
    backoff: Literal["exponential", "constant"] = "exponential"
    backoff_step_s: float = 0.0  # constant backoff: each wait this much longer than the last (clock drift, jitter)
    retry_budget: int | None = None  # retries allowed in total, across all requests (None: unlimited)
    delay_s: float = 0.0  # extra time each request spends in the service (a slow, loaded service)


def forwarded(headers: Mapping[str, str], run_id: bool, traceparent: bool) -> dict[str, str]:
    """The headers a service passes on to its dependency: X-Chaos-Run-Id, and trace context with a new span id."""
    out = {RUN_ID_HEADER: headers[RUN_ID_HEADER]} if run_id and RUN_ID_HEADER in headers else {}
    parent = headers.get("traceparent", "")
    if traceparent and len(parent) == 55:
        out["traceparent"] = f"{parent[:36]}{os.urandom(8).hex()}{parent[52:]}"
        if "baggage" in headers:
            out["baggage"] = headers["baggage"]
    return out


class Breaker:
    """Closed -> open after `threshold` consecutive failed calls -> half-open after `cooldown` -> closed on success."""

    def __init__(self, threshold: int, cooldown_s: float) -> None:
        self.threshold, self.cooldown_s = threshold, cooldown_s
        self.failures = 0
        self.opened_at: float | None = None
        self.trial_running = False

    def allow(self) -> bool:
        if self.opened_at is None:
            return True
        if time.monotonic() - self.opened_at >= self.cooldown_s and not self.trial_running:
            self.trial_running = True  # half-open: let one trial call through
            return True
        return False

    def record(self, ok: bool) -> None:
        self.trial_running = False
        if ok:
            self.failures, self.opened_at = 0, None
            return
        self.failures += 1
        if self.opened_at is not None or self.failures >= self.threshold:
            self.opened_at = time.monotonic()


def _fallback(reason: str) -> web.Response:
    return web.json_response({"fallback": True, "reason": reason}, headers={"X-Fallback": "true"})


def _retry_after(response: aiohttp.ClientResponse) -> float | None:
    value = response.headers.get("Retry-After")
    try:
        return float(value) if value is not None else None
    except ValueError:
        return None


def make_resilient_app(dependency_url: str, settings: Settings | None = None) -> web.Application:
    """The resilient checkout service."""
    s = settings or Settings()
    breaker = Breaker(s.breaker_threshold, s.breaker_cooldown_s)
    state: dict[str, aiohttp.ClientSession] = {}
    retries_left = [s.retry_budget]

    async def call_dependency(headers: dict[str, str], attempts: int) -> tuple[dict | None, str]:
        deadline = time.monotonic() + s.deadline_s
        reason = "no attempt"
        for attempt in range(attempts):
            if attempt and retries_left[0] is not None:
                if retries_left[0] <= 0:
                    break
                retries_left[0] -= 1
            if s.backoff == "constant":
                wait = s.backoff_base_s + attempt * s.backoff_step_s
            else:
                wait = s.backoff_base_s * (2 ** attempt)
            try:
                timeout = aiohttp.ClientTimeout(total=s.attempt_timeout_s)
                async with state["session"].get(dependency_url, headers=headers, timeout=timeout) as r:
                    if r.status < 400:
                        return await r.json(), "ok"
                    reason = f"status {r.status}"
                    if r.status not in (429, 500, 502, 503, 504):
                        return None, reason
                    ra = _retry_after(r)
                    if ra is not None:
                        wait = min(ra, s.retry_after_cap_s)
            except (TimeoutError, aiohttp.ClientError) as exc:
                reason = type(exc).__name__
            if attempt + 1 < attempts:
                if time.monotonic() + wait > deadline:
                    break
                await asyncio.sleep(wait)
        return None, reason

    async def checkout(request: web.Request) -> web.Response:
        headers = forwarded(request.headers, s.forward_run_id, s.forward_traceparent)
        if s.delay_s:
            await asyncio.sleep(s.delay_s)
        if not breaker.allow():
            return _fallback("circuit open")
        half_open = breaker.opened_at is not None
        body, reason = await call_dependency(headers, 1 if half_open else s.max_attempts)
        breaker.record(body is not None)
        if body is None:
            return _fallback(reason)
        return web.json_response({"fallback": False, "dependency": body})

    async def on_startup(app: web.Application) -> None:
        state["session"] = aiohttp.ClientSession()

    async def on_cleanup(app: web.Application) -> None:
        await state["session"].close()

    app = web.Application()
    app.router.add_get("/checkout", checkout)
    app.on_startup.append(on_startup)
    app.on_cleanup.append(on_cleanup)
    return app


def make_fragile_app(dependency_url: str, forward_run_id: bool = True, delay_s: float = 0.0,
                     recover_after_s: float = 0.0, forward_traceparent: bool = False) -> web.Application:
    """The fragile checkout service: one attempt, no timeout, no breaker, no fallback.

    `delay_s`: time each request spends in the service before calling the
    dependency. `forward_traceparent`: pass trace context and baggage on, as an
    instrumented service does. `recover_after_s`: after a failed call it keeps answering 503
    (without calling) until this long after the dependency answers again, like
    a client that reconnects slowly.
    """
    state: dict[str, aiohttp.ClientSession] = {}
    broken_since: list[float | None] = [None]
    healthy_since: list[float | None] = [None]

    async def checkout(request: web.Request) -> web.Response:
        headers = forwarded(request.headers, forward_run_id, forward_traceparent)
        if delay_s:
            await asyncio.sleep(delay_s)
        if recover_after_s and broken_since[0] is not None:
            try:  # probe the dependency; stay broken until it has answered for recover_after_s
                async with state["session"].get(dependency_url, headers=headers) as r:
                    fine = r.status < 400
            except aiohttp.ClientError:
                fine = False
            now = time.monotonic()
            if not fine:
                healthy_since[0] = None
            elif healthy_since[0] is None:
                healthy_since[0] = now
            if healthy_since[0] is None or now - healthy_since[0] < recover_after_s:
                return web.json_response({"error": "still reconnecting"}, status=503)
            broken_since[0] = healthy_since[0] = None
        try:
            async with state["session"].get(dependency_url, headers=headers) as r:
                if r.status >= 400:
                    broken_since[0] = broken_since[0] or time.monotonic()
                    return web.json_response({"error": f"dependency said {r.status}"}, status=r.status)
                return web.json_response({"fallback": False, "dependency": await r.json()})
        except aiohttp.ClientError as exc:
            broken_since[0] = broken_since[0] or time.monotonic()
            return web.json_response({"error": type(exc).__name__}, status=502)

    async def on_startup(app: web.Application) -> None:
        state["session"] = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=None))

    async def on_cleanup(app: web.Application) -> None:
        await state["session"].close()

    app = web.Application()
    app.router.add_get("/checkout", checkout)
    app.on_startup.append(on_startup)
    app.on_cleanup.append(on_cleanup)
    return app
