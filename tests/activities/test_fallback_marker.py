"""The fallback verifier reads a marker header as HTTP reads a list: one answer may name several fallbacks."""

from collections.abc import Iterator
from contextlib import contextmanager

from aiohttp import web

from squall.background import serve_app
from squall.verify import fallback


@contextmanager
def answering(marker: str) -> Iterator[str]:
    """A service whose every answer is a 202 carrying `X-Fallback: <marker>`."""
    async def handle(request: web.Request) -> web.Response:
        return web.json_response({"payment": "queued"}, status=202, headers={"X-Fallback": marker})

    def make() -> web.Application:
        app = web.Application()
        app.router.add_get("/checkout", handle)
        return app

    with serve_app(make) as url:
        yield f"{url}/checkout"


def test_an_answer_with_two_fallbacks_carries_each_marker() -> None:
    # a slow inventory made checkout use its stock cache too: the payment was still queued
    with answering("inventory-cache, payments-queued") as url:
        result = fallback(url, header="X-Fallback", header_value="payments-queued", status=202, requests=3)
    assert result["verdict"] == "passed", result


def test_a_different_or_partial_marker_is_a_miss() -> None:
    with answering("inventory-cache, payments-queued-later") as url:
        result = fallback(url, header="X-Fallback", header_value="payments-queued", status=202, requests=2)
    assert result["verdict"] == "failed", result
    assert 'X-Fallback: "inventory-cache, payments-queued-later"' in result["summary"]
