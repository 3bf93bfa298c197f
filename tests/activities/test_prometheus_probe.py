"""Prometheus probes against a fake Prometheus HTTP API on 127.0.0.1."""

import socket
from collections.abc import Iterator

import pytest
from chaoslib.exceptions import ActivityFailed
from services import prometheus as fake

from squall.background import serve_app
from squall.probes import prometheus


@pytest.fixture
def prom_url() -> Iterator[str]:
    results = {
        "slo:success_ratio": 0.995,
        "latency_p95": [({"route": "/a"}, 0.120), ({"route": "/b"}, 0.450)],
        "empty": [],
    }
    with serve_app(lambda: fake.make_app(results)) as url:
        yield url


def test_query_returns_value_and_series(prom_url: str) -> None:
    assert prometheus.query(prom_url, "slo:success_ratio")["value"] == 0.995
    many = prometheus.query(prom_url, "latency_p95")
    assert many["value"] is None
    assert [v["metric"]["route"] for v in many["values"]] == ["/a", "/b"]


def test_query_within_bounds(prom_url: str) -> None:
    assert prometheus.query_within(prom_url, "slo:success_ratio", min=0.99) is True
    assert prometheus.query_within(prom_url, "slo:success_ratio", min=0.999) is False
    assert prometheus.query_within(prom_url, "latency_p95", max=0.3) is False
    assert prometheus.query_within(prom_url, "latency_p95", min=0.1, max=0.5) is True
    assert prometheus.query_within(prom_url, "empty", max=1) is False


def test_bad_query_and_unreachable_server_are_clear(prom_url: str) -> None:
    with pytest.raises(ActivityFailed, match="refused query 'rate\\(\\(': bad_data"):
        prometheus.query(prom_url, "rate((")
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    with pytest.raises(ActivityFailed, match=f"cannot reach Prometheus at http://127.0.0.1:{port}"):
        prometheus.query(f"http://127.0.0.1:{port}", "up", timeout_s=2)
    with pytest.raises(ActivityFailed, match="needs min, max or both"):
        prometheus.query_within(prom_url, "up")
