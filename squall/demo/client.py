"""How checkout calls a dependency: pick an endpoint, time out, retry with backoff and Retry-After, respect breakers.

One ``DependencyClient`` per dependency (``inventory`` with two replicas,
``payments`` with one). Every endpoint is a proxy of the embedded fault proxy,
named like the proxy, and has its own circuit breaker, so a dead replica is
taken out of rotation while the other keeps serving. The flow of one call, in
order, is all in ``DependencyClient.call``.
"""

import asyncio
import itertools
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

import aiohttp

from squall.demo.metrics import Metrics
from squall.demo.resilience import BreakerState, CircuitBreaker, Mechanisms, RetryPolicy

#: With timeouts off, a call waits as long as the HTTP library lets it: aiohttp's
#: default is five minutes; the demo caps it so that it can still shut down.
NO_TIMEOUT_S = 30.0


class DependencyRejected(Exception):
    """The dependency answered with a client error (4xx other than 429): not retried, not a breaker failure."""

    def __init__(self, dependency: str, status: int, body: dict[str, Any]) -> None:
        super().__init__(f"{dependency} answered {status}: {body.get('error', body)}")
        self.dependency = dependency
        self.status = status
        self.body = body


class DependencyFailed(Exception):
    """Every allowed attempt failed (or none was allowed); ``reason`` says why, for the response and logs."""

    def __init__(self, dependency: str, reason: str) -> None:
        super().__init__(f"{dependency}: {reason}")
        self.dependency = dependency
        self.reason = reason


@dataclass
class Endpoint:
    """One place a dependency answers (one proxy of the fault proxy), with its own circuit breaker."""

    name: str
    url: str
    breaker: CircuitBreaker

    def available(self, mechanisms: Mechanisms) -> bool:
        """Will this endpoint be tried now? Always, unless the breaker is on and refuses."""
        return self.breaker.allow() if mechanisms.breaker else True


@dataclass(frozen=True)
class CallBudget:
    """Time limits of one dependency call: per attempt, for all attempts, and for waiting out Retry-After.

    A ``Retry-After`` is the dependency saying exactly when to come back, so
    checkout waits it out (extending the deadline) as long as the waits of one
    call add up to at most ``max_retry_after_s``; a longer one goes straight to
    the fallback instead.
    """

    attempt_timeout_s: float
    deadline_s: float
    max_retry_after_s: float = 1.0


@dataclass
class DependencyClient:
    """Calls one dependency through its endpoints with the switched-on mechanisms."""

    dependency: str
    endpoints: list[Endpoint]
    session: aiohttp.ClientSession
    mechanisms: Mechanisms
    budget: CallBudget
    metrics: Metrics
    retry: RetryPolicy = field(default_factory=RetryPolicy)
    _next: Iterator[int] = field(default_factory=itertools.count)

    async def call(
        self, method: str, path: str, *, json: Any = None, headers: Mapping[str, str] | None = None
    ) -> dict[str, Any]:
        """Make the call and return the JSON body; raise ``DependencyFailed`` when the mechanisms give up."""
        deadline = time.monotonic() + (self.budget.deadline_s if self.mechanisms.timeouts else NO_TIMEOUT_S)
        attempts = self.retry.attempts if self.mechanisms.retries else 1
        waited_for_retry_after = 0.0
        reason = "no attempt made"
        failed: Endpoint | None = None
        for attempt in range(attempts):
            endpoint = self._pick(avoid=failed)
            if endpoint is None:
                reason = "every endpoint's circuit breaker is open"
                break
            if attempt:
                self.metrics.retries[self.dependency] += 1
            retry_after_s = 0.0
            try:
                body = await self._attempt(endpoint, method, path, json, headers, deadline)
            except _AttemptFailed as exc:
                failed = endpoint
                reason, retry_after_s = exc.reason, exc.retry_after_s
                self.metrics.attempts[(endpoint.name, exc.result)] += 1
                if exc.result == "rate_limited":
                    # A 429 is the dependency protecting itself on purpose: it is alive, not broken.
                    endpoint.breaker.record_success()
                else:
                    endpoint.breaker.record_failure()
            except DependencyRejected:
                self.metrics.attempts[(endpoint.name, "rejected")] += 1
                endpoint.breaker.record_success()  # the endpoint is healthy; the request was wrong
                raise
            except BaseException:
                endpoint.breaker.record_failure()  # cancelled mid-call: don't leave a half-open trial hanging
                raise
            else:
                self.metrics.attempts[(endpoint.name, "ok")] += 1
                endpoint.breaker.record_success()
                return body
            if attempt + 1 == attempts:
                break
            if retry_after_s:
                if waited_for_retry_after + retry_after_s > self.budget.max_retry_after_s:
                    reason += f"; Retry-After {retry_after_s:g} s is more than checkout waits"
                    break
                waited_for_retry_after += retry_after_s
                deadline = max(deadline, time.monotonic() + retry_after_s + self.budget.attempt_timeout_s)
            wait = self.retry.backoff_s(attempt + 1, retry_after_s)
            if time.monotonic() + wait >= deadline:
                reason += f"; no time left for a retry within {self.budget.deadline_s * 1000:.0f} ms"
                break
            await asyncio.sleep(wait)
        raise DependencyFailed(self.dependency, reason)

    def breaker_states(self) -> list[tuple[str, int]]:
        """(endpoint, state value) for /metrics; a switched-off breaker always reads closed."""
        return [
            (e.name, e.breaker.state.value if self.mechanisms.breaker else BreakerState.CLOSED.value)
            for e in self.endpoints
        ]

    def _pick(self, avoid: Endpoint | None = None) -> Endpoint | None:
        """Round-robin over the endpoints, skipping those whose breaker is open; None if all are.

        A retry prefers an endpoint other than the one that just failed (failover),
        and goes back to the same one only if it is the only one left.
        """
        start = next(self._next)
        ordered = [self.endpoints[(start + i) % len(self.endpoints)] for i in range(len(self.endpoints))]
        if avoid is not None and len(ordered) > 1:
            ordered.remove(avoid)
            ordered.append(avoid)
        for endpoint in ordered:
            if endpoint.available(self.mechanisms):
                return endpoint
            self.metrics.short_circuits[endpoint.name] += 1
        return None

    async def _attempt(
        self,
        endpoint: Endpoint,
        method: str,
        path: str,
        json: Any,
        headers: Mapping[str, str] | None,
        deadline: float,
    ) -> dict[str, Any]:
        limit = self.budget.attempt_timeout_s if self.mechanisms.timeouts else NO_TIMEOUT_S
        timeout = max(0.001, min(limit, deadline - time.monotonic()))
        try:
            async with self.session.request(
                method, endpoint.url + path, json=json, headers=headers,
                timeout=aiohttp.ClientTimeout(total=timeout),
            ) as response:
                if response.status == 429 or response.status >= 500:
                    raise _AttemptFailed(
                        "rate_limited" if response.status == 429 else "error_status",
                        f"{endpoint.name} answered {response.status}",
                        _retry_after_s(response.headers.get("Retry-After")),
                    )
                body = dict(await response.json())
                if response.status >= 400:
                    raise DependencyRejected(self.dependency, response.status, body)
                return body
        except TimeoutError as exc:
            raise _AttemptFailed("timeout", f"{endpoint.name} did not answer within {timeout * 1000:.0f} ms") from exc
        except (aiohttp.ClientError, ValueError) as exc:
            raise _AttemptFailed("connection", f"{endpoint.name}: {type(exc).__name__}: {exc}") from exc


class _AttemptFailed(Exception):
    def __init__(self, result: str, reason: str, retry_after_s: float = 0.0) -> None:
        super().__init__(reason)
        self.result = result
        self.reason = reason
        self.retry_after_s = retry_after_s


def _retry_after_s(value: str | None) -> float:
    """Seconds from a ``Retry-After: N`` header (the HTTP-date form is not used by the demo's dependencies)."""
    try:
        return max(0.0, float(value)) if value else 0.0
    except ValueError:
        return 0.0
