"""The demo's dependencies as aiohttp applications: ``inventory`` (stock levels) and ``payments`` (captures).

Both are deliberately plain: they answer quickly and correctly, and every
fault comes from the fault proxy in front of them (or from killing an
inventory replica's process). ``payments`` honours an ``Idempotency-Key`` so
that checkout's retries never charge a customer twice.
"""

import itertools
import os

from aiohttp import web

#: starting stock per SKU; inventory never runs out in the demo, so a failure is always a fault
STOCK = {"widget": 1000, "gadget": 500, "gizmo": 250}


def inventory_app(replica: str) -> web.Application:
    """An inventory replica: ``GET /stock/{sku}`` answers the stock level and which replica answered."""

    async def stock(request: web.Request) -> web.Response:
        sku = request.match_info["sku"]
        if sku not in STOCK:
            return web.json_response({"error": f'unknown sku "{sku}" (expected one of: {", ".join(STOCK)})'}, status=404)
        return web.json_response({"sku": sku, "available": STOCK[sku], "replica": replica, "pid": os.getpid()})

    async def health(request: web.Request) -> web.Response:
        return web.json_response({"service": "inventory", "replica": replica, "pid": os.getpid()})

    app = web.Application()
    app.router.add_get("/stock/{sku}", stock)
    app.router.add_get("/healthz", health)
    return app


def payments_app() -> web.Application:
    """Payments: ``POST /pay`` captures a payment once per ``Idempotency-Key``; a repeat gets the same answer."""
    captured: dict[str, dict[str, object]] = {}
    ids = itertools.count(1)

    async def pay(request: web.Request) -> web.Response:
        key = request.headers.get("Idempotency-Key")
        if not key:
            return web.json_response({"error": "missing Idempotency-Key header (expected the order id)"}, status=400)
        try:
            body = await request.json()
            amount = float(body["amount"])
        except (ValueError, KeyError, TypeError):
            return web.json_response({"error": 'expected a JSON body like {"amount": 9.99}'}, status=400)
        if key not in captured:
            captured[key] = {"payment_id": f"pay-{next(ids)}", "amount": amount, "status": "captured"}
            return web.json_response(captured[key], status=201)
        return web.json_response({**captured[key], "replayed": True})

    async def health(request: web.Request) -> web.Response:
        return web.json_response({"service": "payments", "captured": len(captured)})

    app = web.Application()
    app.router.add_post("/pay", pay)
    app.router.add_get("/healthz", health)
    return app
