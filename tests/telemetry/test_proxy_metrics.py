"""GET /metrics on the embedded proxy: Toxiproxy's series names and labels, squall's own, scraped by a real Prometheus."""

import socket

import httpx
from prom_helpers import instant, wait_value
from prometheus_client.parser import text_string_to_metric_families

from squall.proxy import run_in_thread


def _echo_server() -> tuple[socket.socket, str]:
    srv = socket.socket()
    srv.bind(("127.0.0.1", 0))
    srv.listen(8)
    return srv, f"127.0.0.1:{srv.getsockname()[1]}"


def _samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    out = {}
    for family in text_string_to_metric_families(text):
        for s in family.samples:
            out[(s.name, tuple(sorted(s.labels.items())))] = s.value
    return out


def _send_through(listen: str, upstream: socket.socket, payload: bytes, reply: bytes) -> None:
    host, _, port = listen.rpartition(":")
    with socket.create_connection((host, int(port)), timeout=5) as client:
        client.sendall(payload)
        conn, _ = upstream.accept()
        with conn:
            conn.settimeout(5)
            got = b""
            while len(got) < len(payload):
                chunk = conn.recv(65536)
                assert chunk, "upstream saw the connection close early"
                got += chunk
            assert got == payload
            conn.sendall(reply)
            back = b""
            client.settimeout(5)
            while len(back) < len(reply):
                chunk = client.recv(65536)
                assert chunk
                back += chunk


def test_metrics_has_toxiproxys_series_with_exact_byte_counts_and_squalls_own() -> None:
    srv, upstream = _echo_server()
    with srv, run_in_thread() as proxy, httpx.Client(base_url=proxy.url, trust_env=False, timeout=5) as api:
        created = api.post("/proxies", json={"name": "db", "listen": "127.0.0.1:0", "upstream": upstream}).json()
        listen = created["listen"]
        _send_through(listen, srv, b"x" * 1234, b"y" * 4321)
        assert api.post("/proxies/db/toxics", json={"type": "latency", "attributes": {"latency": 5}}).status_code == 200
        assert api.post("/proxies/db/toxics", json={"type": "latency", "name": "l2", "stream": "upstream",
                                                    "attributes": {"latency": 5}}).status_code == 200
        response = api.get("/metrics")
    assert response.status_code == 200
    assert response.headers["Content-Type"].startswith("text/plain; version=0.0.4")
    got = _samples(response.text)
    link = (("listener", listen), ("proxy", "db"), ("upstream", upstream))
    for name in ("toxiproxy_proxy_received_bytes_total", "toxiproxy_proxy_sent_bytes_total"):
        assert got[(name, (("direction", "upstream"), *link))] == 1234
        assert got[(name, (("direction", "downstream"), *link))] == 4321
    assert got[("squall_proxy_connections_opened_total", (("proxy", "db"),))] == 1
    assert got[("squall_proxy_enabled", (("proxy", "db"),))] == 1
    assert got[("squall_proxy_toxics", (("proxy", "db"), ("stream", "downstream"), ("type", "latency")))] == 1
    assert got[("squall_proxy_toxics", (("proxy", "db"), ("stream", "upstream"), ("type", "latency")))] == 1


def test_http_responses_by_status_and_injected(http_upstream: str) -> None:
    with run_in_thread() as proxy, httpx.Client(base_url=proxy.url, trust_env=False, timeout=5) as api:
        listen = api.post("/proxies", json={"name": "web", "listen": "127.0.0.1:0",
                                            "upstream": http_upstream}).json()["listen"]
        with httpx.Client(base_url=f"http://{listen}", trust_env=False, timeout=5) as client:
            assert client.get("/ok").status_code == 200
            assert client.get("/status/404").status_code == 404
            assert api.post("/proxies/web/toxics", json={"type": "http_error", "name": "storm",
                                                         "attributes": {"status": 503, "path_prefix": "/ok"}}
                            ).status_code == 200
            assert client.get("/ok").status_code == 503
            assert client.get("/status/201").status_code == 201  # outside the toxic's scope
        got = _samples(api.get("/metrics").text)
    assert got[("squall_proxy_http_requests_total", (("proxy", "web"),))] == 4
    assert got[("squall_proxy_http_responses_total", (("proxy", "web"), ("status", "200")))] == 1
    assert got[("squall_proxy_http_responses_total", (("proxy", "web"), ("status", "404")))] == 1
    assert got[("squall_proxy_http_responses_total", (("proxy", "web"), ("status", "503")))] == 1
    assert got[("squall_proxy_http_injected_responses_total", (("proxy", "web"),))] == 1
    [scoped] = [k for k in got if k[0] == "squall_proxy_http_toxic_matched_requests_total"]
    labels = dict(scoped[1])
    assert labels["toxic"] == "storm" and labels["type"] == "http_error" and "/ok" in labels["scope"]
    assert got[scoped] == 1
    assert got[("squall_proxy_http_toxic_unmatched_requests_total", scoped[1])] == 1
    assert got[("squall_proxy_http_toxic_faulted_requests_total", scoped[1])] == 1


def test_a_real_prometheus_scrapes_the_proxys_series(start_prometheus) -> None:  # type: ignore[no-untyped-def]
    srv, upstream = _echo_server()
    with srv, run_in_thread() as proxy, httpx.Client(base_url=proxy.url, trust_env=False, timeout=5) as api:
        api.post("/proxies", json={"name": "db", "listen": "127.0.0.1:0", "upstream": upstream})
        prom = start_prometheus({"squall-proxy": [proxy.url.removeprefix("http://")]})
        listen = api.get("/proxies/db").json()["listen"]
        _send_through(listen, srv, b"a" * 2000, b"b" * 500)
        up = 'toxiproxy_proxy_sent_bytes_total{proxy="db",direction="upstream",job="squall-proxy"}'
        assert wait_value(prom.url, up, lambda v: v == 2000) == 2000
        down = 'toxiproxy_proxy_received_bytes_total{proxy="db",direction="downstream"}'
        assert wait_value(prom.url, down, lambda v: v == 500) == 500
        series = instant(prom.url, up)[0]["metric"]
        assert series["listener"] == listen and series["upstream"] == upstream
        api.post("/proxies/db/toxics", json={"type": "timeout", "attributes": {"timeout": 0}})
        assert wait_value(prom.url, 'squall_proxy_toxics{proxy="db",type="timeout"}', lambda v: v == 1) == 1
