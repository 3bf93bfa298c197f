"""Property: the embedded proxy's admin API survives any request sequence.

Generated methods, paths (percent-encoded names), queries and bodies (nested
JSON, huge and non-finite numbers, NaN-like strings, wrong types, raw bytes)
go to a real embedded proxy. Every answer is JSON (or an empty 204), below 500
(except Toxiproxy's documented 500 for a ``listen`` it cannot bind), the API
stays healthy after each request, nothing is logged at ERROR, and once every
proxy is deleted no address any proxy ever listened on accepts a connection.

``SQUALL_HYPOTHESIS_EXAMPLES`` sets the number of examples (default 100).
Every ``listen`` and ``upstream`` sent is loopback or unparsable: nothing binds
beyond loopback and nothing is dialled beyond it.
"""

import json
import logging
import os
import socket
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from squall.proxy import RunningProxy, run_in_thread
from squall.proxy.toxics import REGISTRY

EXAMPLES = int(os.environ.get("SQUALL_HYPOTHESIS_EXAMPLES", "100"))
SAFE_LISTEN = ["127.0.0.1:0", "[::1]:0", "localhost:0", "127.0.0.1:99999", "127.0.0.1:-1", "nope", "127.0.0.1:x"]
SAFE_UPSTREAM = ["127.0.0.1:9", "[::1]:9", "127.0.0.1:99999", "127.0.0.1:-1", "127.0.0.1:65536", "nope", ":"]
NAMES = ["p", "q", "é ü", "a/b", "..", ".", "%41", "a?b#c", " ", "\x00", "{x}", "a%2Fb"]
METHODS = ["GET", "POST", "PATCH", "DELETE", "PUT", "HEAD", "OPTIONS"]


@dataclass
class Tally:
    """What a run tried and saw (printed at the end of the module with -s)."""

    requests: int = 0
    statuses: dict[int, int] = field(default_factory=dict)
    listen_500s: int = 0


TALLY = Tally()


class _Errors(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


@pytest.fixture(scope="module")
def running() -> Iterator[tuple[RunningProxy, httpx.Client, _Errors]]:
    errors = _Errors()
    loggers = [logging.getLogger(n) for n in ("squall.proxy", "aiohttp", "asyncio")]
    for lg in loggers:
        lg.addHandler(errors)
    try:
        with run_in_thread() as proxy, httpx.Client(base_url=proxy.url, timeout=20, trust_env=False,
                                                     headers={"User-Agent": "squall-props"}) as client:
            yield proxy, client, errors
    finally:
        for lg in loggers:
            lg.removeHandler(errors)
        print(f"\nproperty run: {TALLY.requests} generated requests, statuses {sorted(TALLY.statuses.items())}, "
              f"{TALLY.listen_500s} documented 'listen tcp' 500s")


def _enc(name: str) -> str:
    return quote(name, safe="").replace(".", "%2E")  # clients would drop "." and ".." path segments


# -- strategies ------------------------------------------------------------------------------------
names = st.one_of(st.sampled_from(NAMES), st.text(max_size=12))
numbers = st.one_of(
    st.integers(min_value=-(2**70), max_value=2**70), st.floats(allow_nan=False, allow_infinity=False),
    st.sampled_from([0, -1, 1, 2**63 - 1, 2**63, -(2**63) - 1, 1e308, 1e-320, 0.5, 1.5, -0.0]),
)
nan_like = st.sampled_from(["NaN", "Infinity", "-Infinity", "1e999", "nan", "inf", "", "1" * 50])
scalars = st.one_of(st.none(), st.booleans(), numbers, nan_like, st.text(max_size=20))
json_values = st.recursive(scalars, lambda inner: st.one_of(
    st.lists(inner, max_size=4), st.dictionaries(st.text(max_size=8), inner, max_size=4)), max_leaves=12)
attributes = st.one_of(json_values, st.dictionaries(
    st.sampled_from(["latency", "jitter", "rate", "delay", "timeout", "bytes", "average_size", "size_variation",
                     "status", "retry_after", "first_n", "body", "bogus"]),
    st.one_of(numbers, scalars, json_values), max_size=4))
toxic_bodies = st.fixed_dictionaries({}, optional={
    "type": st.one_of(st.sampled_from(sorted(REGISTRY)), scalars), "name": st.one_of(names, scalars),
    "stream": st.one_of(st.sampled_from(["upstream", "downstream", "UPSTREAM", "sideways"]), scalars),
    "toxicity": st.one_of(numbers, scalars), "attributes": attributes})
proxy_bodies = st.fixed_dictionaries({}, optional={
    "name": st.one_of(names, scalars), "listen": st.one_of(st.sampled_from(SAFE_LISTEN), scalars),
    "upstream": st.one_of(st.sampled_from(SAFE_UPSTREAM), scalars), "enabled": st.one_of(st.booleans(), scalars)})
bodies = st.one_of(
    st.none(), json_values, toxic_bodies, proxy_bodies, st.lists(proxy_bodies, max_size=3),
    st.binary(max_size=40).map(lambda b: ("raw", b)),
    st.tuples(st.sampled_from(["NaN", "Infinity", "-Infinity", "1e999", "-1e999", "1" * 5000]),
              st.sampled_from(["toxicity", "latency", "name", "enabled"])).map(
        lambda t: ("raw", b'{"type": "latency", "%s": %s, "attributes": {"%s": %s}}' % (
            t[1].encode(), t[0].encode(), t[1].encode(), t[0].encode()))),
    st.integers(min_value=30, max_value=3000).map(lambda d: ("raw", b"[" * d + b"]" * d)),
)
paths = st.one_of(
    st.sampled_from(["/version", "/reset", "/populate", "/proxies", "/", "/proxies/", "//proxies"]),
    st.tuples(names, st.sampled_from(["", "/toxics", "/stats", "/toxics/", "/nothing"])).map(
        lambda t: f"/proxies/{_enc(t[0])}{t[1]}"),
    st.tuples(names, names).map(lambda t: f"/proxies/{_enc(t[0])}/toxics/{_enc(t[1])}"),
    st.text(max_size=20).map(lambda s: "/" + quote(s, safe="/")),
)
queries = st.one_of(st.just(""), st.sampled_from(["?since=0", "?since=nan", "?since=1e999", "?since=x", "?since="]))
known = st.sampled_from(["p", "p", *NAMES[:4], "{x}"])  # names the sequence is likely to have created
toxic_names = st.one_of(st.sampled_from(["t", "t", "t", "latency_downstream", "http_error_upstream"]), names)
headers = st.fixed_dictionaries({}, optional={
    "Host": st.sampled_from(["127.0.0.1:8474", "localhost:8474", "[::1]", "evil.example:8474", "10.0.0.1", "", "a b"]),
    "Origin": st.sampled_from(["http://localhost:3000", "http://evil.example", "null", "", "::", "http://[::1"]),
    "Content-Type": st.sampled_from(["application/json", "text/plain", "multipart/form-data; boundary=x"]),
    "User-Agent": st.sampled_from(["Mozilla/5.0", "toxiproxy-cli", ""]),
})
anything = st.tuples(st.sampled_from(METHODS), paths, queries, bodies, headers)
create = st.tuples(st.just("POST"), st.just("/proxies"), st.just(""), st.fixed_dictionaries(
    {"name": known, "listen": st.sampled_from(["127.0.0.1:0"] * 6 + SAFE_LISTEN),
     "upstream": st.sampled_from(SAFE_UPSTREAM)},
    optional={"enabled": st.booleans()}))
on_proxy = st.tuples(st.sampled_from(["GET", "PATCH", "POST", "DELETE"]), known.map(lambda n: f"/proxies/{_enc(n)}"),
                     st.just(""), st.one_of(proxy_bodies, bodies))
add_toxic = st.tuples(st.just("POST"), known.map(lambda n: f"/proxies/{_enc(n)}/toxics"), st.just(""),
                      st.one_of(toxic_bodies, toxic_bodies.map(lambda b: {**b, "type": "latency"})))
on_toxic = st.tuples(st.sampled_from(["GET", "PATCH", "POST", "DELETE"]),
                     st.tuples(known, toxic_names).map(lambda t: f"/proxies/{_enc(t[0])}/toxics/{_enc(t[1])}"),
                     st.just(""), st.one_of(toxic_bodies, bodies))
plain = st.one_of(create, on_proxy, add_toxic, on_toxic, create).map(lambda t: (*t, {}))
requests = st.lists(st.one_of(anything, plain), min_size=1, max_size=8)


# -- safety and checks -----------------------------------------------------------------------------
def _safe(body: Any) -> Any:
    """Force every string ``listen``/``upstream`` (top level or in a populate array) into the loopback-safe sets."""
    if isinstance(body, list):
        return [_safe(b) for b in body]
    if isinstance(body, dict):
        body = dict(body)
        if body.get("listen") is None:
            body["listen"] = "127.0.0.1:0"  # absent or null means every interface ("[::]:PORT")
        for key, safe in (("listen", SAFE_LISTEN), ("upstream", SAFE_UPSTREAM)):
            if isinstance(body.get(key), str) and body[key] not in safe:
                body[key] = safe[len(body[key]) % len(safe)]
    return body


def _listens(data: Any) -> Iterator[str]:
    """Every ``listen`` address in an answer (a proxy, a map of proxies, a populate answer)."""
    if isinstance(data, dict):
        if isinstance(data.get("listen"), str) and "name" in data:
            yield data["listen"]
        for value in data.values():
            if isinstance(value, dict | list):
                yield from _listens(value)
    elif isinstance(data, list):
        for value in data:
            yield from _listens(value)


def _send(client: httpx.Client, method: str, url: str, body: Any, headers: dict[str, str]) -> httpx.Response:
    if body is None:
        return client.request(method, url, headers=headers)
    if isinstance(body, tuple):
        return client.request(method, url, content=body[1], headers=headers)
    return client.request(method, url, content=json.dumps(_safe(body)).encode(), headers=headers)


def _check(r: httpx.Response, method: str) -> Any:
    TALLY.requests += 1
    TALLY.statuses[r.status_code] = TALLY.statuses.get(r.status_code, 0) + 1
    if r.status_code == 204 or method == "HEAD":
        assert r.content == b"", r.content
        return None
    data = r.json()  # every answer is JSON
    if r.status_code >= 500:
        assert r.status_code == 500 and data["error"].startswith("listen tcp"), (r.status_code, r.text)
        TALLY.listen_500s += 1
    if r.status_code >= 400:
        assert isinstance(data, dict) and data["status"] == r.status_code and data["error"], data
    return data


def _refuses(addr: str) -> bool:
    host, _, port = addr.rpartition(":")
    if not port.isdigit() or not 0 < int(port) < 65536:
        return True  # never bound (a disabled proxy's unparsable or unresolved listen)
    try:
        with socket.create_connection((host.strip("[]"), int(port)), timeout=2):
            return False
    except OSError:
        return True


def _delete_all(client: httpx.Client) -> None:
    for name in client.get("/proxies").json():
        assert client.delete(f"/proxies/{_enc(name)}").status_code == 204, name
    assert client.get("/proxies").json() == {}


@settings(max_examples=EXAMPLES, deadline=None, database=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.filter_too_much])
@given(steps=requests)
def test_any_request_sequence_keeps_the_api_healthy(
    running: tuple[RunningProxy, httpx.Client, _Errors], steps: list[tuple[str, str, str, Any, dict[str, str]]]
) -> None:
    _, client, errors = running
    seen: set[str] = set()
    _delete_all(client)  # a clean start even after a failed example
    start = client.post("/proxies", json={"name": "p", "listen": "127.0.0.1:0", "upstream": "127.0.0.1:9"})
    assert start.status_code == 201, start.text
    seen.add(start.json()["listen"])
    assert client.post("/proxies/p/toxics", json={"type": "latency", "name": "t"}).status_code == 200
    for method, path, query, body, extra in steps:
        data = _check(_send(client, method, path + query, body, extra), method)
        seen.update(_listens(data))
        health = client.get("/proxies")
        assert health.status_code == 200 and isinstance(health.json(), dict), health.text
        seen.update(_listens(health.json()))
    assert [r.getMessage() for r in errors.records] == []  # no traceback, no "Task exception was never retrieved"
    # delete everything through the API; then no address that was listened on may accept a connection
    _delete_all(client)
    leaked = sorted(a for a in seen if not _refuses(a))
    assert leaked == [], f"still listening after every proxy was deleted: {leaked}"
