"""A tiny fake Prometheus: /api/v1/query answers from a dict of PromQL -> result, like the real HTTP API."""

from typing import Any

from aiohttp import web


def make_app(results: dict[str, Any]) -> web.Application:
    """`results` maps a query to a number (one sample), a list of (labels, number), or "error"."""

    async def query(request: web.Request) -> web.Response:
        promql = request.query.get("query", "")
        if promql not in results or results[promql] == "error":
            return web.json_response(
                {"status": "error", "errorType": "bad_data", "error": f'parse error: unknown "{promql}"'}, status=400
            )
        value = results[promql]
        pairs = value if isinstance(value, list) else [({"job": "checkout"}, value)]
        vector = [{"metric": labels, "value": [1764300000.0, str(v)]} for labels, v in pairs]
        return web.json_response({"status": "success", "data": {"resultType": "vector", "result": vector}})

    app = web.Application()
    app.router.add_get("/api/v1/query", query)
    return app
