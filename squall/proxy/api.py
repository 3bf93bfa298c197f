"""The admin HTTP API (aiohttp.web): Toxiproxy's routes, JSON shapes and status codes, plus stats.

Errors are written like Toxiproxy's ``http.Error``: ``{"error": ..., "status": N}``
and a newline, as ``text/plain; charset=utf-8`` with ``nosniff``; anything
unexpected becomes a 500 and a log line, never a crash. Every answer is one of
these or JSON: aiohttp's own refusals are translated here (no route, wrong
method, body too large) and in ``server._ApiRequestHandler`` (requests it cannot
parse). Before any handler runs, a foreign ``Host`` or ``Origin`` and browsers
are refused (``hosts.HostPolicy``).
"""

import json
import logging
import math
import secrets
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web
from aiohttp.http_exceptions import HttpProcessingError

from squall import __version__
from squall.proxy import errors, jsonbody
from squall.proxy.collection import ProxyCollection
from squall.proxy.errors import ApiError
from squall.proxy.hosts import HostPolicy
from squall.telemetry import metrics

log = logging.getLogger("squall.proxy")

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
COLLECTION: web.AppKey[ProxyCollection] = web.AppKey("collection", ProxyCollection)
POLICY: web.AppKey[HostPolicy] = web.AppKey("policy", HostPolicy)
MAX_BODY = 4 * 1024 * 1024


def _json(data: Any, status: int = 200) -> web.Response:
    body = json.dumps(data, separators=(",", ":"))
    return web.Response(body=body.encode(), status=status, content_type="application/json")


def error_response(exc: ApiError, **extra: Any) -> web.Response:
    """An error as Toxiproxy writes it: a JSON body as text/plain with nosniff."""
    body = json.dumps({"error": exc.message, "status": exc.status, **extra}, separators=(",", ":"))
    resp = web.Response(body=(body + "\n").encode(), status=exc.status)
    resp.headers["Content-Type"] = "text/plain; charset=utf-8"
    resp.headers["X-Content-Type-Options"] = "nosniff"
    return resp


async def _body(request: web.Request) -> Any:
    try:
        raw = await request.read()
    except (ConnectionError, HttpProcessingError) as exc:  # the client went away or sent a broken body
        raise ApiError(f"bad request body: it ended early or was malformed ({exc}) (expected a whole JSON body)", 400) from None
    return jsonbody.parse(raw)


def _check_caller(request: web.Request) -> None:
    """Refuse foreign Host headers (DNS rebinding), cross-origin requests and browsers, before any handler runs."""
    policy = request.app[POLICY]
    host = request.headers.get("Host")
    if not policy.host_allowed(host):
        raise errors.forbidden_host(host or "")
    origin = request.headers.get("Origin")
    if not policy.origin_allowed(origin):
        raise errors.forbidden_origin(origin or "")
    agent = request.headers.get("User-Agent", "")
    if agent.startswith("Mozilla/"):
        raise errors.browser_refused(agent)


def _translate(request: web.Request, exc: web.HTTPException) -> ApiError:
    """aiohttp's own answers (no route, wrong method, body too large) as API errors."""
    if isinstance(exc, web.HTTPNotFound):
        return errors.route_not_found(request.method, request.path)
    if isinstance(exc, web.HTTPMethodNotAllowed):
        return errors.method_not_allowed(request.method, request.path, ", ".join(sorted(exc.allowed_methods)))
    if isinstance(exc, web.HTTPRequestEntityTooLarge):
        return errors.from_http_status(413, "over 4 MiB", limit=MAX_BODY)
    return errors.from_http_status(exc.status, exc.reason)


@web.middleware
async def _middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    try:
        _check_caller(request)
        response = await handler(request)
    except web.HTTPException as exc:
        if exc.status < 400:
            raise
        response = error_response(_translate(request, exc))
        if isinstance(exc, web.HTTPMethodNotAllowed):
            response.headers["Allow"] = ", ".join(sorted(exc.allowed_methods))
    except ApiError as exc:
        response = error_response(exc)
    except Exception:  # the proxy never crashes on bad input: log, answer 500
        log.exception("admin API: %s %s failed", request.method, request.path)
        response = error_response(ApiError("internal error (see the proxy's log)", 500))
    response.headers["X-Toxiproxy-Request-Id"] = secrets.token_hex(10)
    return response


def _coll(request: web.Request) -> ProxyCollection:
    return request.app[COLLECTION]


async def version(request: web.Request) -> web.Response:
    body = json.dumps({"version": f"squall-{__version__}"}) + "\n"
    resp = web.Response(body=body.encode())
    resp.headers["Content-Type"] = "application/json;charset=utf-8"
    return resp


async def reset(request: web.Request) -> web.Response:
    await _coll(request).reset()
    return web.Response(status=204)


async def list_proxies(request: web.Request) -> web.Response:
    return _json(_coll(request).to_json())


async def create_proxy(request: web.Request) -> web.Response:
    proxy = await _coll(request).create(await _body(request))
    return _json(proxy.to_json(), 201)


async def populate(request: web.Request) -> web.Response:
    coll = _coll(request)
    try:
        body = await _body(request)
        done, failure = await coll.populate(body)
    except ApiError as exc:
        return _populate_error(exc, None)
    proxies = [p.to_json() for p in done] or None
    if failure is not None:
        return _populate_error(failure, proxies)
    return _json({"proxies": proxies}, 201)


def _populate_error(exc: ApiError, proxies: list[dict[str, Any]] | None) -> web.Response:
    # Toxiproxy writes populate errors as application/json (not via http.Error).
    return _json({"error": exc.message, "status": exc.status, "proxies": proxies}, exc.status)


async def get_proxy(request: web.Request) -> web.Response:
    return _json(_coll(request).get(request.match_info["proxy"]).to_json())


async def update_proxy(request: web.Request) -> web.Response:
    name = request.match_info["proxy"]
    coll = _coll(request)
    coll.get(name)  # 404 before reading the body, as Toxiproxy
    proxy = await coll.update(name, await _body(request))
    return _json(proxy.to_json())


async def delete_proxy(request: web.Request) -> web.Response:
    await _coll(request).delete(request.match_info["proxy"])
    return web.Response(status=204)


async def list_toxics(request: web.Request) -> web.Response:
    proxy = _coll(request).get(request.match_info["proxy"])
    return _json([t.to_json() for t in proxy.ordered_toxics()])


async def create_toxic(request: web.Request) -> web.Response:
    coll = _coll(request)
    coll.get(request.match_info["proxy"])
    spec = coll.add_toxic(request.match_info["proxy"], await _body(request))
    return _json(spec.to_json())  # 200, not 201, as Toxiproxy


async def get_toxic(request: web.Request) -> web.Response:
    proxy = _coll(request).get(request.match_info["proxy"])
    return _json(proxy.find_toxic(request.match_info["toxic"]).to_json())


async def update_toxic(request: web.Request) -> web.Response:
    coll = _coll(request)
    coll.get(request.match_info["proxy"]).find_toxic(request.match_info["toxic"])
    spec = coll.update_toxic(request.match_info["proxy"], request.match_info["toxic"], await _body(request))
    return _json(spec.to_json())


async def delete_toxic(request: web.Request) -> web.Response:
    _coll(request).remove_toxic(request.match_info["proxy"], request.match_info["toxic"])
    return web.Response(status=204)


async def get_stats(request: web.Request) -> web.Response:
    proxy = _coll(request).get(request.match_info["proxy"])
    since_raw = request.query.get("since")
    since = None
    if since_raw is not None:
        try:
            since = float(since_raw)
            if not math.isfinite(since):
                raise ValueError(since_raw)
        except ValueError:
            raise ApiError(f'bad query: since "{since_raw}" (expected unix seconds, e.g. 1764300000.5)', 400) from None
    return _json(proxy.stats.to_json(since))


async def clear_stats(request: web.Request) -> web.Response:
    _coll(request).get(request.match_info["proxy"]).stats.clear()
    return web.Response(status=204)


async def get_metrics(request: web.Request) -> web.Response:
    body = metrics.exposition(lambda: _coll(request).proxies.values())
    return web.Response(body=body, headers={"Content-Type": metrics.CONTENT_TYPE})


def make_app(collection: ProxyCollection, bound_host: str = "127.0.0.1") -> web.Application:
    """The admin API application over ``collection``, answering loopback hosts and ``bound_host``."""
    app = web.Application(middlewares=[_middleware], client_max_size=MAX_BODY)
    app[COLLECTION] = collection
    app[POLICY] = HostPolicy(bound_host)
    # [^/]+, not aiohttp's default [^{}/]+: a toxic or proxy named with "{" or "}" must be reachable too
    p, t = "/proxies/{proxy:[^/]+}", "/proxies/{proxy:[^/]+}/toxics/{toxic:[^/]+}"
    app.router.add_get("/version", version, allow_head=False)
    app.router.add_post("/reset", reset)
    app.router.add_get("/proxies", list_proxies, allow_head=False)
    app.router.add_post("/proxies", create_proxy)
    app.router.add_post("/populate", populate)
    app.router.add_get(p, get_proxy, allow_head=False)
    app.router.add_patch(p, update_proxy)
    app.router.add_post(p, update_proxy)  # deprecated alias of PATCH
    app.router.add_delete(p, delete_proxy)
    app.router.add_get(p + "/toxics", list_toxics, allow_head=False)
    app.router.add_post(p + "/toxics", create_toxic)
    app.router.add_get(t, get_toxic, allow_head=False)
    app.router.add_patch(t, update_toxic)
    app.router.add_post(t, update_toxic)  # deprecated alias of PATCH
    app.router.add_delete(t, delete_toxic)
    app.router.add_get(p + "/stats", get_stats, allow_head=False)
    app.router.add_delete(p + "/stats", clear_stats)
    app.router.add_get("/metrics", get_metrics, allow_head=False)  # Prometheus text format, as Toxiproxy's
    return app
