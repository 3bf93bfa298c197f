"""A dependency service: answers /pay with JSON, /slow after a delay, /status/{code} with that status."""

import asyncio

from aiohttp import web


async def pay(request: web.Request) -> web.Response:
    return web.json_response({"paid": True, "run_id": request.headers.get("X-Chaos-Run-Id")})


async def slow(request: web.Request) -> web.Response:
    await asyncio.sleep(float(request.query.get("s", "0.2")))
    return web.json_response({"slow": True})


async def status(request: web.Request) -> web.Response:
    code = int(request.match_info["code"])
    return web.json_response({"status": code}, status=code)


def make_app() -> web.Application:
    app = web.Application()
    app.router.add_get("/pay", pay)
    app.router.add_get("/slow", slow)
    app.router.add_get("/status/{code}", status)
    return app
