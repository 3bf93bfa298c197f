"""``checkout``: the demo's service under test, and the fallbacks it serves when a dependency fails.

``GET`` or ``POST /checkout?sku=widget&qty=1`` checks stock with ``inventory``
and captures the payment with ``payments``, both through the fault proxy.

What the fallbacks mean, honestly:

- ``X-Fallback: inventory-cache`` — inventory did not answer, so the order was
  checked against the last stock level checkout saw for that SKU (its age is in
  ``stock_age_s``). The order may oversell if stock changed meanwhile. With no
  cached level for the SKU there is no fallback: 503.
- ``X-Fallback: payments-queued`` (status 202) — payments did not answer, so
  the order is accepted and the payment is queued in checkout's memory; a
  background task captures it (same ``Idempotency-Key``) once payments answers
  again. The queue is not durable: a checkout restart loses it. A caller that
  cannot accept a queued payment asks for ``?require=captured`` and gets 503
  instead.

Also served: ``/metrics`` (Prometheus text) and ``/healthz``.
"""

import asyncio
import contextlib
import os
import time
import uuid
from collections import deque
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import aiohttp
from aiohttp import web

from squall.config import RUN_ID_HEADER
from squall.demo.client import (
    CallBudget,
    DependencyClient,
    DependencyFailed,
    DependencyRejected,
    Endpoint,
)
from squall.demo.metrics import CONTENT_TYPE, Metrics
from squall.demo.resilience import BreakerState, CircuitBreaker, Mechanisms
from squall.tracecontext import BAGGAGE_HEADER, TRACEPARENT_HEADER, parse_traceparent

FALLBACK_HEADER = "X-Fallback"
PRICE = 9.99
MAX_QUEUED_PAYMENTS = 10_000


@dataclass(frozen=True)
class CheckoutConfig:
    """Where checkout's dependencies are (endpoint name -> base URL) and which mechanisms it uses."""

    inventory: dict[str, str]
    payments: dict[str, str]
    mechanisms: Mechanisms = field(default_factory=Mechanisms)
    inventory_budget: CallBudget = field(default_factory=lambda: CallBudget(attempt_timeout_s=0.08, deadline_s=0.12))
    payments_budget: CallBudget = field(default_factory=lambda: CallBudget(attempt_timeout_s=0.1, deadline_s=0.15))
    breaker_failures: int = 3
    breaker_reset_s: float = 1.0


@dataclass
class _State:
    config: CheckoutConfig
    session: aiohttp.ClientSession
    inventory: DependencyClient
    payments: DependencyClient
    metrics: Metrics
    stock_cache: dict[str, tuple[dict[str, Any], float]] = field(default_factory=dict)
    queued: deque[dict[str, Any]] = field(default_factory=deque)
    captured_later: int = 0


STATE = web.AppKey("checkout_state", _State)


def checkout_app(config: CheckoutConfig) -> web.Application:
    """The checkout application; its HTTP client session lives as long as the app runs."""
    app = web.Application()
    app.cleanup_ctx.append(_lifecycle(config))
    app.on_shutdown.append(_close_session)  # runs before aiohttp waits for in-flight requests
    app.router.add_route("GET", "/checkout", _checkout)
    app.router.add_route("POST", "/checkout", _checkout)
    app.router.add_get("/metrics", _metrics)
    app.router.add_get("/healthz", _health)
    return app


def _lifecycle(config: CheckoutConfig):  # type: ignore[no-untyped-def]
    async def lifecycle(app: web.Application) -> AsyncIterator[None]:
        metrics = Metrics()
        session = aiohttp.ClientSession(
            connector=aiohttp.TCPConnector(limit=200), trust_env=False, raise_for_status=False
        )

        def client(dependency: str, urls: dict[str, str], budget: CallBudget) -> DependencyClient:
            endpoints = [
                Endpoint(name, url.rstrip("/"), CircuitBreaker(name, config.breaker_failures, config.breaker_reset_s))
                for name, url in urls.items()
            ]
            return DependencyClient(dependency, endpoints, session, config.mechanisms, budget, metrics)

        state = _State(
            config, session,
            client("inventory", config.inventory, config.inventory_budget),
            client("payments", config.payments, config.payments_budget),
            metrics,
        )
        app[STATE] = state
        drain = asyncio.create_task(_drain_queued_payments(state))
        yield
        drain.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await drain
        await session.close()

    return lifecycle


async def _close_session(app: web.Application) -> None:
    await app[STATE].session.close()


async def _checkout(request: web.Request) -> web.Response:
    state = request.app[STATE]
    started = time.monotonic()
    response = await _handle_checkout(state, request)
    outcome = "error" if response.status >= 400 else ("fallback" if FALLBACK_HEADER in response.headers else "ok")
    state.metrics.observe_request(outcome, time.monotonic() - started)
    return response


def _propagated(request: web.Request) -> dict[str, str]:
    """The headers checkout forwards to its dependencies, as an OpenTelemetry-instrumented service would.

    X-Chaos-Run-Id as is; ``traceparent`` with the same trace id and a span id
    of checkout's own (the dependency call is a child span); ``baggage`` as is
    (so an experiment group marker reaches the dependencies' proxies).
    """
    headers: dict[str, str] = {}
    run_id = request.headers.get(RUN_ID_HEADER)
    if run_id:
        headers[RUN_ID_HEADER] = run_id
    parent = parse_traceparent(request.headers.get(TRACEPARENT_HEADER, ""))
    if parent is not None:
        headers[TRACEPARENT_HEADER] = f"00-{parent[0]}-{os.urandom(8).hex()}-01"
    baggage = request.headers.get(BAGGAGE_HEADER)
    if baggage:
        headers[BAGGAGE_HEADER] = baggage
    return headers


async def _handle_checkout(state: _State, request: web.Request) -> web.Response:
    sku = request.query.get("sku", "widget")
    try:
        qty = int(request.query.get("qty", "1"))
    except ValueError:
        return _error(400, f'qty must be a whole number, got "{request.query["qty"]}"')
    headers = _propagated(request)
    fallbacks: list[str] = []
    mechanisms = state.config.mechanisms

    # 1. stock, live or (fallback) cached
    try:
        stock = await state.inventory.call("GET", f"/stock/{sku}", headers=headers)
        state.stock_cache[sku] = (stock, time.monotonic())
        stock_age_s = 0.0
    except DependencyRejected as exc:
        return _error(exc.status, str(exc.body.get("error", exc)))
    except DependencyFailed as exc:
        cached = state.stock_cache.get(sku)
        if not mechanisms.fallback or cached is None:
            why = "" if mechanisms.fallback else " (fallback switched off)"
            return _error(503, f"inventory unavailable: {exc.reason}{why}")
        stock, seen_at = cached
        stock_age_s = round(time.monotonic() - seen_at, 3)
        fallbacks.append("inventory-cache")
        state.metrics.fallbacks["inventory-cache"] += 1
    if int(stock["available"]) < qty:
        return _error(409, f"only {stock['available']} {sku} in stock, {qty} asked for")

    # 2. payment, captured now or (fallback) queued for later
    order_id = uuid.uuid4().hex[:16]
    amount = round(PRICE * qty, 2)
    try:
        await state.payments.call(
            "POST", "/pay", json={"amount": amount}, headers={**headers, "Idempotency-Key": order_id}
        )
        payment = "captured"
    except DependencyRejected as exc:
        return _error(502, f"payments refused the order: {exc.body.get('error', exc)}")
    except DependencyFailed as exc:
        if not mechanisms.fallback:
            return _error(503, f"payments unavailable: {exc.reason} (fallback switched off)")
        if request.query.get("require") == "captured":
            return _error(503, f"payments unavailable: {exc.reason} (the caller asked for require=captured)")
        if len(state.queued) >= MAX_QUEUED_PAYMENTS:
            return _error(503, f"payments unavailable and {MAX_QUEUED_PAYMENTS} payments already queued")
        state.queued.append({"order_id": order_id, "amount": amount})
        payment = "queued"
        fallbacks.append("payments-queued")
        state.metrics.fallbacks["payments-queued"] += 1

    body = {
        "order_id": order_id, "sku": sku, "qty": qty, "amount": amount, "payment": payment,
        "stock_source": "cache" if "inventory-cache" in fallbacks else "live", "stock_age_s": stock_age_s,
        "inventory_replica": stock.get("replica"),
    }
    response = web.json_response(body, status=202 if payment == "queued" else 200)
    if fallbacks:
        response.headers[FALLBACK_HEADER] = ", ".join(fallbacks)
    return response


async def _drain_queued_payments(state: _State) -> None:
    """Capture queued payments in order, only while payments' breaker is closed."""
    while True:
        await asyncio.sleep(0.25)
        while state.queued and all(e.breaker.state is BreakerState.CLOSED for e in state.payments.endpoints):
            order = state.queued[0]
            try:
                await state.payments.call(
                    "POST", "/pay", json={"amount": order["amount"]}, headers={"Idempotency-Key": order["order_id"]}
                )
            except (DependencyFailed, DependencyRejected):
                break
            state.queued.popleft()
            state.captured_later += 1


async def _metrics(request: web.Request) -> web.Response:
    state = request.app[STATE]
    text = state.metrics.render(
        state.inventory.breaker_states() + state.payments.breaker_states(), len(state.queued)
    )
    return web.Response(body=text.encode(), headers={"Content-Type": CONTENT_TYPE})


async def _health(request: web.Request) -> web.Response:
    state = request.app[STATE]
    return web.json_response({
        "service": "checkout",
        "mechanisms_off": state.config.mechanisms.switched_off(),
        "payments_queued": len(state.queued),
        "payments_captured_later": state.captured_later,
    })


def _error(status: int, message: str) -> web.Response:
    return web.json_response({"error": message}, status=status)
