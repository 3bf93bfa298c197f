"""Toxiproxy API conformance, case by case from the recorded toxiproxy-server transcript.

Each case runs against the embedded proxy and, where toxiproxy-server is on
PATH, against it too. Error messages are compared by Toxiproxy's prefix: squall
extends them with the bad value and what was expected.
"""

import socket

import pytest
from proxy_helpers import Api, connect

UP = "127.0.0.1:9"  # never dialled by these cases

TOXIC_DEFAULTS = {
    "latency": {"latency": 0, "jitter": 0},
    "bandwidth": {"rate": 0},
    "slow_close": {"delay": 0},
    "timeout": {"timeout": 0},
    "reset_peer": {"timeout": 0},
    "slicer": {"average_size": 0, "size_variation": 0, "delay": 0},
    "limit_data": {"bytes": 0},
    "noop": {},
}


def _shape(proxy: dict) -> dict:
    return {k: v for k, v in proxy.items() if k != "Logger"}


def _error(r, status: int, prefix: str) -> None:
    assert r.status_code == status, r.text
    assert r.headers["content-type"].startswith("text/plain")
    assert r.headers["x-content-type-options"] == "nosniff"
    body = r.json()
    assert body["status"] == status
    assert body["error"].startswith(prefix), body


def test_version_and_empty_list(api: Api) -> None:
    r = api.client.get("/version")
    assert r.status_code == 200
    assert r.headers["content-type"].replace(" ", "") == "application/json;charset=utf-8"
    assert set(r.json()) == {"version"}
    if api.kind == "embedded":
        assert r.text == '{"version": "squall-0.1.0"}\n'
    r = api.client.get("/proxies")
    assert (r.status_code, r.json()) == (200, {})
    assert r.headers["x-toxiproxy-request-id"]


def test_create_proxy_resolves_port_and_defaults(api: Api) -> None:
    r = api.client.post("/proxies", json={"name": "web", "listen": "127.0.0.1:0", "upstream": UP})
    assert r.status_code == 201
    body = _shape(r.json())
    host, port = body.pop("listen").rsplit(":", 1)
    assert host == "127.0.0.1" and int(port) > 0
    assert body == {"name": "web", "upstream": UP, "enabled": True, "toxics": []}
    assert list(body) == ["name", "upstream", "enabled", "toxics"]
    connect(f"127.0.0.1:{port}").close()  # really listening
    assert _shape(api.client.get("/proxies/web").json())["listen"] == f"127.0.0.1:{port}"


def test_create_disabled_proxy_does_not_listen(api: Api) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        listen = f"127.0.0.1:{s.getsockname()[1]}"
    r = api.client.post("/proxies", json={"name": "off", "listen": listen, "upstream": UP, "enabled": False})
    assert r.status_code == 201 and r.json()["enabled"] is False and r.json()["listen"] == listen
    with pytest.raises(ConnectionRefusedError):
        connect(listen, timeout=2)


def test_list_is_keyed_by_name(api: Api) -> None:
    for name in ("b", "a"):
        api.create(name, UP)
    body = api.client.get("/proxies").json()
    assert list(body) == ["a", "b"]
    assert body["a"]["name"] == "a" and body["a"]["toxics"] == []


@pytest.mark.parametrize("type_name", sorted(TOXIC_DEFAULTS))
def test_toxic_defaults(api: Api, type_name: str) -> None:
    api.create("p", UP)
    r = api.client.post("/proxies/p/toxics", json={"type": type_name})
    assert r.status_code == 200  # 200, not 201
    assert r.json() == {
        "attributes": TOXIC_DEFAULTS[type_name],
        "name": f"{type_name}_downstream",
        "type": type_name,
        "stream": "downstream",
        "toxicity": 1,
    }
    assert list(r.json()) == ["attributes", "name", "type", "stream", "toxicity"]


def test_toxic_fields_unknown_keys_and_odd_values(api: Api) -> None:
    api.create("p", UP)
    body = api.toxic("p", name="lat_up", type="latency", stream="upstream", toxicity=0.5, attributes={"latency": 50})
    assert body == {"attributes": {"latency": 50, "jitter": 0}, "name": "lat_up", "type": "latency",
                    "stream": "upstream", "toxicity": 0.5}
    assert api.toxic("p", type="latency", name="x", attributes={"bogus": 1, "latency": 5})["attributes"] == {
        "latency": 5, "jitter": 0}
    caps = api.toxic("p", type="latency", stream="UPSTREAM", name="caps")
    assert caps["stream"] == "UPSTREAM"
    # toxiproxy-server stores meaningless values; squall refuses them by name (tests/proxy/test_api_hardening.py)
    neg = api.client.post("/proxies/p/toxics", json={"type": "latency", "name": "neg", "attributes": {"latency": -5}})
    tox2 = api.client.post("/proxies/p/toxics", json={"type": "latency", "name": "tox2", "toxicity": 2})
    if api.kind == "embedded":
        _error(neg, 400, 'bad request body: attribute "latency" of latency toxic is -5')
        _error(tox2, 400, 'bad request body: field "toxicity" of toxic is 2')
    else:
        assert neg.json()["attributes"]["latency"] == -5 and tox2.json()["toxicity"] == 2
    assert api.toxic("p", type="latency", stream="UPSTREAM")["name"] == "latency_UPSTREAM"


def test_toxic_list_is_upstream_first(api: Api) -> None:
    api.create("p", UP)
    api.toxic("p", type="latency", name="d1")
    api.toxic("p", type="latency", name="u1", stream="upstream")
    api.toxic("p", type="bandwidth", name="d2")
    api.toxic("p", type="timeout", name="u2", stream="upstream")
    names = [t["name"] for t in api.client.get("/proxies/p/toxics").json()]
    assert names == ["u1", "u2", "d1", "d2"]
    assert [t["name"] for t in api.client.get("/proxies/p").json()["toxics"]] == names
    assert api.client.get("/proxies/p/toxics/d2").json()["type"] == "bandwidth"


def test_toxic_update_merges_and_ignores_identity_fields(api: Api) -> None:
    api.create("p", UP)
    api.toxic("p", type="latency", attributes={"latency": 100, "jitter": 10})
    r = api.client.patch("/proxies/p/toxics/latency_downstream", json={"attributes": {"latency": 200}})
    assert r.status_code == 200 and r.json()["attributes"] == {"latency": 200, "jitter": 10}
    r = api.client.post("/proxies/p/toxics/latency_downstream", json={"toxicity": 0.25})  # older alias
    assert r.json()["toxicity"] == 0.25 and r.json()["attributes"]["latency"] == 200
    r = api.client.patch("/proxies/p/toxics/latency_downstream",
                         json={"name": "zzz", "type": "bandwidth", "stream": "upstream", "attributes": {"jitter": 3}})
    assert r.json() == {"attributes": {"latency": 200, "jitter": 3}, "name": "latency_downstream",
                        "type": "latency", "stream": "downstream", "toxicity": 0.25}
    assert api.client.delete("/proxies/p/toxics/latency_downstream").status_code == 204
    assert api.client.get("/proxies/p/toxics").json() == []


def test_toxic_errors(api: Api) -> None:
    api.create("p", UP)
    api.toxic("p", type="latency", name="caps")
    c = api.client
    _error(c.post("/proxies/p/toxics", json={"type": "latency", "stream": "sideways"}), 400,
           "stream was invalid, can be either upstream or downstream")
    _error(c.post("/proxies/p/toxics", json={"type": "bogus", "attributes": {}}), 400, "invalid toxic type")
    _error(c.post("/proxies/p/toxics", json={"attributes": {"latency": 1}}), 400, "invalid toxic type")
    _error(c.post("/proxies/p/toxics", json={"type": "latency", "name": "caps"}), 409, "toxic already exists")
    _error(c.post("/proxies/p/toxics", content=b'{"type":'), 400, "bad request body")
    _error(c.post("/proxies/p/toxics", json={"type": "latency", "name": "s", "attributes": {"latency": "100"}}),
           400, "bad request body")
    _error(c.patch("/proxies/p/toxics/caps", content=b'{"attributes":'), 400, "bad request body")
    _error(c.get("/proxies/p/toxics/nope"), 404, "toxic not found")
    _error(c.delete("/proxies/p/toxics/nope"), 404, "toxic not found")
    _error(c.patch("/proxies/p/toxics/nope", json={"attributes": {"latency": 1}}), 404, "toxic not found")
    _error(c.post("/proxies/missing/toxics", json={"type": "latency"}), 404, "proxy not found")
    names = [t["name"] for t in c.get("/proxies/p/toxics").json()]
    assert names == ["caps"]  # nothing was added by the failed requests


def test_proxy_errors(api: Api) -> None:
    first = api.create("web2", UP)
    c = api.client
    _error(c.post("/proxies", content=b'{"name":'), 400, "bad request body")
    _error(c.post("/proxies", json={"name": 5, "upstream": "x"}), 400, "bad request body")
    _error(c.post("/proxies", json={"upstream": UP}), 400, "missing required field: name")
    _error(c.post("/proxies", json={"name": "x"}), 400, "missing required field: upstream")
    _error(c.post("/proxies", json={"name": "web2", "listen": "127.0.0.1:0", "upstream": UP}), 409,
           "proxy already exists")
    _error(c.post("/proxies", json={"name": "clash", "listen": first["listen"], "upstream": UP}), 500,
           f"listen tcp {first['listen']}: bind: address already in use")
    _error(c.get("/proxies/clash"), 404, "proxy not found")
    _error(c.post("/proxies", json={"name": "bad", "listen": "nope", "upstream": UP}), 500,
           "listen tcp: address nope: missing port in address")
    _error(c.get("/proxies/missing"), 404, "proxy not found")
    _error(c.delete("/proxies/missing"), 404, "proxy not found")
    _error(c.patch("/proxies/missing", json={"enabled": False}), 404, "proxy not found")
    _error(c.patch("/proxies/web2", content=b'{"enabled":'), 400, "bad request body")
    assert sorted(c.get("/proxies").json()) == ["web2"]


def test_routing_errors_and_browser_refusal(api: Api) -> None:
    # same statuses; toxiproxy-server answers these three in plain text (or nothing), squall in its JSON error shape
    r404, r405 = api.client.get("/nothing"), api.client.put("/proxies")
    r403 = api.client.get("/version", headers={"User-Agent": "Mozilla/5.0"})
    if api.kind == "embedded":
        _error(r404, 404, "404 page not found")
        _error(r405, 405, "method not allowed")
        _error(r403, 403, "User agent not allowed")
        return
    assert (r404.status_code, r404.text) == (404, "404 page not found\n")
    assert r405.status_code == 405 and r405.content == b""
    assert (r403.status_code, r403.text) == (403, "User agent not allowed\n")


def test_proxy_update_partition_listen_and_failure(api: Api) -> None:
    p = api.create("web2", UP)
    c = api.client
    r = c.patch("/proxies/web2", json={"enabled": False})
    assert r.status_code == 200 and r.json()["enabled"] is False
    with pytest.raises(ConnectionRefusedError):
        connect(p["listen"], timeout=2)
    r = c.patch("/proxies/web2", json={"enabled": True, "listen": "127.0.0.1:0"})
    assert r.json()["enabled"] is True and r.json()["listen"] != p["listen"]
    connect(r.json()["listen"]).close()
    r = c.patch("/proxies/web2", json={"name": "renamed"})
    assert r.json()["name"] == "web2"
    r = c.post("/proxies/web2", json={"upstream": "127.0.0.1:18081"})  # older alias
    assert r.status_code == 200 and r.json()["upstream"] == "127.0.0.1:18081"
    other = api.create("other", UP)
    _error(c.patch("/proxies/web2", json={"listen": other["listen"]}), 500, "listen tcp")
    after = c.get("/proxies/web2").json()
    assert after["enabled"] is False and after["listen"] == other["listen"]
    r = c.patch("/proxies/web2", json={"listen": "127.0.0.1:0", "enabled": True})
    assert r.status_code == 200 and r.json()["enabled"] is True
    assert c.delete("/proxies/web2").status_code == 204
    _error(c.delete("/proxies/web2"), 404, "proxy not found")


def test_populate(api: Api) -> None:
    c = api.client
    kept = api.create("web2", UP)
    api.toxic("web2", type="latency", name="stays")
    r = c.post("/populate", json=[
        {"name": "pop1", "listen": "127.0.0.1:0", "upstream": UP},
        {"name": "web2", "listen": kept["listen"], "upstream": UP, "enabled": False},
    ])
    assert r.status_code == 201, r.text
    assert r.headers["content-type"].startswith("application/json")
    proxies = r.json()["proxies"]
    assert [p["name"] for p in proxies] == ["pop1", "web2"]
    assert proxies[1]["enabled"] is True and [t["name"] for t in proxies[1]["toxics"]] == ["stays"]
    assert c.post("/populate", json=[]).json() == {"proxies": None}

    r = c.post("/populate", json=[{"name": "pop2", "listen": "127.0.0.1:0"}])
    assert r.status_code == 400 and r.json()["proxies"] is None
    assert r.json()["error"].startswith("missing required field: upstream at proxy 1")
    for bad in (b'{"name":"pop3"}', b"[{"):
        r = c.post("/populate", content=bad)
        assert r.status_code == 400 and r.json()["error"].startswith("bad request body")
        assert r.json()["proxies"] is None
    r = c.post("/populate", json=[
        {"name": "pop4", "listen": "127.0.0.1:0", "upstream": UP},
        {"name": "pop5", "listen": kept["listen"], "upstream": UP},
    ])
    assert r.status_code == 500 and r.json()["error"].endswith("bind: address already in use")
    assert [p["name"] for p in r.json()["proxies"]] == ["pop4"]
    assert sorted(c.get("/proxies").json()) == ["pop1", "pop4", "web2"]


def test_reset_enables_everything_and_removes_toxics(api: Api) -> None:
    api.create("a", UP)
    api.create("b", UP, enabled=False)
    api.toxic("a", type="latency")
    api.toxic("a", type="timeout", stream="upstream")
    r = api.client.post("/reset")
    assert r.status_code == 204 and r.content == b""
    body = api.client.get("/proxies").json()
    assert all(p["enabled"] and p["toxics"] == [] for p in body.values())
    connect(body["b"]["listen"]).close()


def test_bad_input_never_crashes_the_proxy(api: Api) -> None:
    api.create("p", UP)
    c = api.client
    assert c.post("/proxies/p/toxics", json={"type": "latency", "attributes": {"latency": 10**30}}).status_code == 400
    assert c.post("/proxies/p/toxics", json={"type": "latency", "attributes": [1]}).status_code == 400
    assert c.post("/proxies/p/toxics", json={"type": "latency", "toxicity": "high"}).status_code == 400
    assert c.post("/proxies/p/toxics", json=["not", "an", "object"]).status_code == 400
    assert c.post("/proxies/p/toxics", content=b"\xff\xfe garbage").status_code == 400
    assert c.patch("/proxies/p", json={"enabled": "yes"}).status_code == 400
    assert c.post("/proxies", json={"name": "q", "upstream": UP, "listen": "127.0.0.1:99999"}).status_code == 500
    # a huge but valid timer is accepted and does not disturb the proxy
    assert c.post("/proxies/p/toxics", json={"type": "timeout", "attributes": {"timeout": 2**62}}).status_code == 200
    assert c.get("/proxies/p").json()["toxics"][0]["attributes"] == {"timeout": 2**62}
    assert c.get("/version").status_code == 200


def test_toxic_checks_come_in_toxiproxys_order(api: Api) -> None:
    api.create("p", UP)
    api.toxic("p", type="latency", name="caps")
    c = api.client
    _error(c.post("/proxies/p/toxics", json={"type": "bogus", "stream": "sideways"}), 400, "stream was invalid")
    _error(c.post("/proxies/p/toxics", json={"type": "bogus", "name": "caps"}), 400, "invalid toxic type")
    _error(c.post("/proxies/p/toxics", json={"type": "latency", "name": "caps", "attributes": {"latency": "x"}}),
           409, "toxic already exists")
    _error(c.post("/proxies/p/toxics", content=b'{"type": "bogus"'), 400, "bad request body")


def test_reset_fails_with_500_when_a_proxy_cannot_listen(api: Api) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        listen = f"127.0.0.1:{s.getsockname()[1]}"
    api.create("sleeper", UP, listen=listen, enabled=False)
    api.create("squatter", UP, listen=listen)  # takes the port while "sleeper" is disabled
    api.toxic("squatter", type="latency")
    r = api.client.post("/reset")
    _error(r, 500, f"listen tcp {listen}: bind: address already in use")
    assert api.client.get("/proxies/sleeper").json()["enabled"] is False
