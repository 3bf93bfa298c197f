"""Fault actions against the embedded proxy: what gets applied, what the ledger says, and clean undo."""

import asyncio

import httpx
import pytest
from aiohttp import web
from chaoslib.exceptions import ActivityFailed
from services.system import System

from squall import config
from squall.actions import toxiproxy as tp
from squall.background import serve_app
from squall.cleanup import cleanup
from squall.ledger import Ledger
from squall.toxiproxy_client import ToxiproxyClient


def _get(url: str, timeout: float = 5.0) -> httpx.Response:
    with httpx.Client(trust_env=False) as c:
        return c.get(url, timeout=timeout)


def test_latency_is_applied_recorded_and_removed(system: System) -> None:
    out = tp.add_latency("payments", 300, jitter_ms=0, configuration=system.configuration)
    assert out["toxic"]["type"] == "latency" and out["toxic"]["attributes"]["latency"] == 300
    assert out["toxic"]["name"] == "latency_downstream" and out["url"] == system.api
    [entry] = Ledger(config.ledger_path()).open_entries()
    assert entry.kind == "toxiproxy.toxic"
    assert entry.undo == {"url": system.api, "proxy": "payments", "toxic": "latency_downstream"}
    assert entry.run_id == config.run_id()
    slow = _get(f"{system.proxied}/pay")
    assert slow.elapsed.total_seconds() >= 0.25
    removed = tp.remove_toxic("payments", "latency_downstream", configuration=system.configuration)
    assert removed["removed"] is True and removed["ledger_struck"] == 1
    assert Ledger(config.ledger_path()).open_entries() == []
    assert _get(f"{system.proxied}/pay").status_code == 200


def test_bad_arguments_fail_before_anything_is_written(system: System) -> None:
    cases = [
        (lambda: tp.add_latency("payments", 10, stream="sideways", configuration=system.configuration),
         'unknown stream "sideways" \\(expected one of: upstream, downstream\\)'),
        (lambda: tp.add_latency("payments", -5, configuration=system.configuration), "latency_ms=-5"),
        (lambda: tp.add_latency("payments", 1.5, configuration=system.configuration),
         "latency_ms=1.5 \\(expected a whole number"),
        (lambda: tp.add_bandwidth("payments", 10, toxicity=1.5, configuration=system.configuration), "toxicity=1.5"),
        (lambda: tp.reset_peer("paymnts", configuration=system.configuration),
         'unknown proxy "paymnts" at .* \\(expected one of: payments\\)'),
        (lambda: tp.add_http_error("payments", status=42, configuration=system.configuration), "status=42"),
    ]
    for call, message in cases:
        with pytest.raises(ActivityFailed, match=message):
            call()
    assert Ledger(config.ledger_path()).entries() == []
    with ToxiproxyClient(system.api) as client:
        assert client.toxics("payments") == []


def test_partition_refuses_connections_until_heal(system: System) -> None:
    out = tp.partition("payments", configuration=system.configuration)
    assert out["enabled"] is False
    with pytest.raises(httpx.ConnectError):
        _get(f"{system.proxied}/pay", timeout=2)
    tp.add_latency("payments", 100, configuration=system.configuration)
    assert len(Ledger(config.ledger_path()).open_entries()) == 2
    healed = tp.heal(configuration=system.configuration)
    assert healed["healed"] == [{"proxy": "payments", "toxics_removed": ["latency_downstream"], "re_enabled": True}]
    assert healed["ledger_struck"] == 2
    assert _get(f"{system.proxied}/pay").status_code == 200


def test_http_error_with_retry_after_and_first_n(system: System) -> None:
    tp.add_http_error("payments", status=503, retry_after_s=2, first_n=1, configuration=system.configuration)
    first = _get(f"{system.proxied}/pay")
    assert first.status_code == 503 and first.headers["Retry-After"] == "2"
    assert _get(f"{system.proxied}/pay").status_code == 200


def test_cleanup_undoes_what_the_ledger_lists_and_is_idempotent(system: System) -> None:
    tp.add_timeout("payments", 0, configuration=system.configuration)
    tp.partition("payments", configuration=system.configuration)
    created = tp.create_proxy("extra", "127.0.0.1:0", system.direct.removeprefix("http://"),
                              configuration=system.configuration)
    assert created["created"] is True
    again = tp.create_proxy("extra", "127.0.0.1:0", system.direct.removeprefix("http://"),
                            configuration=system.configuration)
    assert again["created"] is False
    with ToxiproxyClient(system.api) as client:
        client.remove_toxic("payments", "timeout_downstream")  # someone removed it already: 404 is fine
    results = cleanup(Ledger(config.ledger_path()), run_id=config.run_id())
    assert all(r.removed for r in results) and len(results) == 3
    assert any("already gone" in r.message for r in results)
    with ToxiproxyClient(system.api) as client:
        proxies = client.proxies()
    assert "extra" not in proxies and proxies["payments"]["enabled"] is True
    assert _get(f"{system.proxied}/pay").status_code == 200


def test_refused_toxic_is_struck_as_failed_to_apply(system: System) -> None:
    tp.add_latency("payments", 10, configuration=system.configuration)
    with pytest.raises(ActivityFailed, match="409|exists"):
        tp.add_latency("payments", 20, configuration=system.configuration)
    entries = Ledger(config.ledger_path()).entries()
    assert [e.outcome for e in entries] == [None, "failed-to-apply"]


def test_every_other_toxic_is_accepted(system: System) -> None:
    cfg = system.configuration
    applied = [
        tp.add_bandwidth("payments", 100, configuration=cfg),
        tp.add_slow_close("payments", 50, configuration=cfg),
        tp.add_slicer("payments", 64, size_variation=8, delay_us=10, stream="upstream", configuration=cfg),
        tp.add_limit_data("payments", 100_000, configuration=cfg),
        tp.reset_peer("payments", timeout_ms=5000, toxicity=0.5, configuration=cfg),
    ]
    assert [a["toxic"]["type"] for a in applied] == ["bandwidth", "slow_close", "slicer", "limit_data", "reset_peer"]
    assert applied[4]["toxic"]["toxicity"] == 0.5
    assert len(Ledger(config.ledger_path()).open_entries()) == 5
    assert tp.heal("payments", configuration=cfg)["ledger_struck"] == 5


def test_http_error_against_toxiproxy_server_fails_before_applying() -> None:
    from aiohttp import web

    from squall.background import serve_app

    posted: list[str] = []

    def fake_toxiproxy_server() -> web.Application:
        async def version(request: web.Request) -> web.Response:
            return web.json_response({"version": "2.9.0"})

        async def proxies(request: web.Request) -> web.Response:
            return web.json_response({"payments": {"name": "payments", "enabled": True, "toxics": []}})

        async def add_toxic(request: web.Request) -> web.Response:
            posted.append(request.path)
            return web.json_response({"error": "invalid toxic type", "status": 400}, status=400)

        app = web.Application()
        app.router.add_get("/version", version)
        app.router.add_get("/proxies", proxies)
        app.router.add_post("/proxies/{name}/toxics", add_toxic)
        return app

    with serve_app(fake_toxiproxy_server) as url:
        with pytest.raises(ActivityFailed, match='needs squall\'s embedded proxy, but .* is "2.9.0"'):
            tp.add_http_error("payments", configuration={"toxiproxy_url": url})
    assert posted == []
    assert Ledger(config.ledger_path()).entries() == []


def _hanging_toxiproxy_api() -> web.Application:
    """A Toxiproxy API that knows proxy "payments" but never answers a request to add a toxic."""

    async def version(request: web.Request) -> web.Response:
        return web.json_response({"version": "v2.12.0"})

    async def proxies(request: web.Request) -> web.Response:
        return web.json_response({"payments": {"name": "payments", "listen": "127.0.0.1:1",
                                               "upstream": "127.0.0.1:2", "enabled": True, "toxics": []}})

    async def hang(request: web.Request) -> web.Response:
        await asyncio.sleep(10)
        return web.json_response({})

    app = web.Application()
    app.router.add_get("/version", version)
    app.router.add_get("/proxies", proxies)
    app.router.add_post("/proxies/payments/toxics", hang)
    return app


def test_a_toxic_whose_request_timed_out_stays_in_the_ledger_for_cleanup() -> None:
    # The server may have applied the toxic before the answer was lost: the entry
    # must stay open so that the end-of-run cleanup or `squall cleanup` removes it.
    with serve_app(_hanging_toxiproxy_api) as api:
        configuration = {"toxiproxy_url": api, "toxiproxy_timeout_s": 0.3}
        with pytest.raises(ActivityFailed, match="did not answer"):
            tp.add_latency("payments", 100, configuration=configuration)
    [entry] = Ledger(config.ledger_path()).open_entries()
    assert entry.kind == "toxiproxy.toxic" and entry.undo["toxic"] == "latency_downstream"


def test_a_toxic_the_api_refused_is_struck_as_never_applied(system: System) -> None:
    tp.add_latency("payments", 10, configuration=system.configuration)
    with pytest.raises(ActivityFailed, match="409"):
        tp.add_latency("payments", 20, configuration=system.configuration)  # same default name
    ledger = Ledger(config.ledger_path())
    assert [e.outcome for e in ledger.entries()] == [None, "failed-to-apply"]
    assert len(ledger.open_entries()) == 1


def test_a_bad_api_timeout_is_refused_before_anything_is_written() -> None:
    with pytest.raises(ActivityFailed, match=r"toxiproxy_timeout_s='soon' \(expected seconds"):
        tp.add_latency("payments", 100, configuration={"toxiproxy_timeout_s": "soon"})
    assert Ledger(config.ledger_path()).entries() == []
