"""A dependency service: answers /pay with JSON, /slow after a delay, /status/{code} with that status.

``GET /seen`` lists the trace headers of the last requests it answered (path,
traceparent, baggage, X-Chaos-Run-Id), so tests can check what callers sent.
"""

import asyncio

from aiohttp import web
from aiohttp.typedefs import Handler


async def pay(request: web.Request) -> web.Response:
    return web.json_response({"paid": True, "run_id": request.headers.get("X-Chaos-Run-Id")})


async def slow(request: web.Request) -> web.Response:
    await asyncio.sleep(float(request.query.get("s", "0.2")))
    return web.json_response({"slow": True})


async def status(request: web.Request) -> web.Response:
    code = int(request.match_info["code"])
    return web.json_response({"status": code}, status=code)


SEEN: web.AppKey[list[dict[str, str | None]]] = web.AppKey("seen", list)


@web.middleware
async def record(request: web.Request, handler: Handler) -> web.StreamResponse:
    if request.path != "/seen":
        seen = request.app[SEEN]
        seen.append({"path": request.path, **{h: request.headers.get(h) for h in ("traceparent", "baggage", "X-Chaos-Run-Id")}})
        del seen[:-1000]
    return await handler(request)


async def seen(request: web.Request) -> web.Response:
    return web.json_response(request.app[SEEN])


def make_app() -> web.Application:
    app = web.Application(middlewares=[record])
    app[SEEN] = []
    app.router.add_get("/seen", seen)
    app.router.add_get("/pay", pay)
    app.router.add_get("/slow", slow)
    app.router.add_get("/status/{code}", status)
    return app
