"""The control's `prometheus` SLI source against a real Prometheus scraping the demo's checkout and the fault proxy."""

import socket
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from prom_helpers import CHECKOUT_OK, CHECKOUT_P95_MS, chaos_run, squall_of, wait_value

from squall.demo.resilience import Mechanisms
from squall.demo.topology import DemoOptions, DemoSystem, running
from squall.proxy import run_in_thread
from squall.toxiproxy_client import ToxiproxyClient


@pytest.fixture
def fragile_demo(tmp_path: Path) -> Iterator[DemoSystem]:
    """The demo with its mechanisms off: a payments partition fails checkout requests."""
    options = DemoOptions(checkout_port=0, admin_port=0, mechanisms=Mechanisms.fragile(),
                          state_dir=tmp_path / "demo-state", restart_delay_s=0.5)
    with running(options) as system:
        yield system


def _experiment(demo: DemoSystem, prom_url: str, fault_s: float, stop: list[dict[str, Any]]) -> dict[str, Any]:
    sli = [
        # the HTTP sampler is the traffic checkout serves (and Prometheus counts)
        {"name": "checkout", "url": f"{demo.checkout_url}/checkout", "interval_s": 0.1, "timeout_s": 0.5},
        {"name": "checkout-prom", "source": "prometheus", "url": prom_url, "success_ratio": CHECKOUT_OK,
         "latency_ms": CHECKOUT_P95_MS, "window_s": 3, "interval_s": 0.5},
    ]
    return {
        "title": "prometheus SLI",
        "description": "tests/telemetry",
        "configuration": {"toxiproxy_url": demo.toxiproxy_url},
        "controls": [{"name": "squall", "provider": {"type": "python", "module": "squall.control",
                                                     "arguments": {"sli": sli, "stop_conditions": stop,
                                                                   "report": False}}}],
        "method": [{"type": "action", "name": "cut-payments", "pauses": {"before": 5, "after": fault_s},
                    "provider": {"type": "python", "module": "squall.actions.toxiproxy", "func": "partition",
                                 "arguments": {"proxy": "payments"}}}],
        "rollbacks": [],
    }


def _run(demo: DemoSystem, start_prometheus: Callable[..., Any], tmp_path: Path, fault_s: float,
         stop: list[dict[str, Any]]) -> tuple[str, int, dict[str, Any], str]:
    admin = demo.toxiproxy_url.removeprefix("http://")
    checkout = demo.checkout_url.removeprefix("http://")
    prom = start_prometheus({"checkout": [checkout], "squall-proxy": [admin]})
    code, journal, output = chaos_run(tmp_path, _experiment(demo, prom.url, fault_s, stop))
    return prom.url, code, squall_of(journal), output


def test_a_prometheus_sli_samples_real_values_and_a_fault_shows_in_them(
    fragile_demo: DemoSystem, start_prometheus: Callable[..., Any], tmp_path: Path,
) -> None:
    prom_url, code, ext, output = _run(fragile_demo, start_prometheus, tmp_path, 6, [])
    fault = ext["fault_windows"][0]
    rows = [r for r in ext["timeline"]["samples"] if r[1] == "checkout-prom"]
    assert rows and all(len(r) == 7 for r in rows), output[-3000:]
    before = [r for r in rows if r[0] < fault["start"] - 0.5]
    during = [r for r in rows if fault["start"] + 3 < r[0] <= fault["end"]]
    # before the fault checkout answered everything; the latency quantile came from the histogram, in ms
    assert before and before[-1][6] == pytest.approx(1.0) and before[-1][2] == 1
    assert any(r[4] is not None and 0 < r[4] < 5000 for r in before)
    # the partition shows in what Prometheus measured: no request succeeded over the last 3 s window
    assert during and min(r[6] for r in during) < 0.2 and any(r[2] == 0 for r in during)
    target = next(t for t in ext["timeline"]["targets"] if t["name"] == "checkout-prom")
    assert target["source"] == "prometheus" and "{window}" in target["success_ratio"]
    # the proxy's own series were scraped too, with Toxiproxy's names
    up = 'sum(toxiproxy_proxy_sent_bytes_total{proxy="payments",direction="upstream"})'
    assert wait_value(prom_url, up, lambda v: v > 0) > 0


def test_the_burn_rate_stop_condition_from_promql_fires_on_a_real_failure(
    fragile_demo: DemoSystem, start_prometheus: Callable[..., Any], tmp_path: Path,
) -> None:
    stop = [{"name": "budget", "kind": "burn_rate_above", "target": "checkout-prom", "slo": 0.9, "threshold": 5,
             "window_s": 3}]
    _, code, ext, output = _run(fragile_demo, start_prometheus, tmp_path, 40, stop)
    assert ext["verdict"] == "aborted", output[-3000:]
    assert code != 0
    event = ext["stop_events"][0]
    assert event["condition"] == "budget" and "(PromQL)" in event["reason"], event
    fault = ext["fault_windows"][0]
    assert event["t"] - fault["start"] < 30  # it stopped the 40 s fault (generous: a loaded machine)
    assert fault["end"] is not None and fault["end"] - fault["start"] < 35
    with ToxiproxyClient(fragile_demo.toxiproxy_url) as client:
        assert client.get_proxy("payments")["enabled"] is True  # the abort healed the partition


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_an_unreachable_prometheus_stops_the_run_before_anything_is_injected(tmp_path: Path) -> None:
    url = f"http://127.0.0.1:{_closed_port()}"
    with run_in_thread() as proxy, ToxiproxyClient(proxy.url) as client:
        client.create_proxy("payments", "127.0.0.1:0", f"127.0.0.1:{_closed_port()}")
        demo = DemoSystem(checkout_url="http://127.0.0.1:9", toxiproxy_url=proxy.url, proxies={}, pid_files={},
                          replicas={})
        code, journal, output = chaos_run(tmp_path, _experiment(demo, url, 0, []), timeout_s=60)
        assert client.get_proxy("payments")["enabled"] is True
    ext = squall_of(journal)
    assert code != 0 and ext["verdict"] == "inconclusive"
    assert f"Prometheus at {url}" in ext["reason"] and "cannot reach" in ext["reason"], ext["reason"]
    assert ext["fault_windows"] == []
    assert "cut-payments" not in [r["activity"]["name"] for r in journal.get("run", [])]
