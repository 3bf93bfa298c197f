"""The control's `prometheus` SLI source against a real Prometheus scraping the demo's checkout and the fault proxy."""

import json
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from prom_helpers import CHECKOUT_OK, CHECKOUT_P95_MS, chaos_run, prometheus_binary, squall_of, wait_value

from squall.control.sampling import Timeline
from squall.control.settings import parse
from squall.demo.resilience import Mechanisms
from squall.demo.topology import DemoOptions, DemoSystem, running
from squall.proxy import run_in_thread
from squall.telemetry import prometheus_server
from squall.toxiproxy_client import ToxiproxyClient


def wait_until(condition: Callable[[], bool], timeout_s: float = 20.0) -> bool:
    """Poll ``condition`` until true or ``timeout_s`` passes (bounded)."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.05)
    return condition()


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


def test_queries_without_data_are_missing_samples_and_the_run_is_inconclusive_never_passed(
    start_prometheus: Callable[..., Any], tmp_path: Path,
) -> None:
    with run_in_thread() as proxy:
        prom = start_prometheus({"squall-proxy": [proxy.url.removeprefix("http://")]})
        sli = [{"name": "nothing", "source": "prometheus", "url": prom.url, "interval_s": 0.5, "window_s": 2,
                "success_ratio": "sum(rate(no_such_requests_total[{window}]))"}]
        exp = {"title": "no data", "description": "tests/telemetry",
               "controls": [{"name": "squall", "provider": {"type": "python", "module": "squall.control",
                                                            "arguments": {"sli": sli, "report": False}}}],
               "method": [{"type": "action", "name": "wait", "pauses": {"after": 3},
                           "provider": {"type": "python", "module": "os.path", "func": "exists",
                                        "arguments": {"path": "/"}}}]}
        code, journal, output = chaos_run(tmp_path, exp)
    ext = squall_of(journal)
    assert code != 0 and ext["verdict"] == "inconclusive", output[-3000:]
    assert 'Prometheus SLI "nothing" gave no value' in ext["reason"], ext["reason"]
    assert [r for r in ext["timeline"]["samples"] if r[1] == "nothing"] == []  # never a row, never ok
    assert ext["timeline"]["missing_count"]["nothing"] >= 4
    assert all("no data" in m[2] for m in ext["timeline"]["missing"])


def test_a_prometheus_that_goes_away_mid_run_leaves_missing_samples_naming_it() -> None:
    binary = prometheus_binary()
    with run_in_thread() as proxy:
        with prometheus_server.running({"squall-proxy": [proxy.url.removeprefix("http://")]}, binary=binary) as prom:
            [target] = parse({"sli": [{"name": "up", "source": "prometheus", "url": prom.url, "interval_s": 0.1,
                                       "timeout_s": 0.5, "success_ratio": "sum(up) / count(up)"}]}).sli
            timeline = Timeline([target], max_samples=1000)
            timeline.start()
            try:
                assert wait_until(lambda: len(timeline.snapshot()) >= 2)
            except BaseException:
                timeline.stop()
                raise
        try:  # prometheus was stopped by its PID as the block ended
            assert wait_until(lambda: any("cannot reach Prometheus" in m[2] for m in timeline.missing))
        finally:
            timeline.stop()
    rows = timeline.snapshot()
    assert all(r[6] == 1.0 and r[2] == 1 for r in rows)  # what it measured while it could
    gone = [m for m in timeline.missing if "cannot reach Prometheus" in m[2]]
    assert prom.url in gone[0][2] and gone[0][0] > rows[-1][0] - 1.0


def test_squall_gate_refuses_an_unreachable_prometheus_before_running_anything(tmp_path: Path) -> None:
    url = f"http://127.0.0.1:{_closed_port()}"
    sli = [{"name": "checkout-prom", "source": "prometheus", "url": "${prometheus_url}", "success_ratio": CHECKOUT_OK}]
    exp = {"title": "gate", "description": "tests/telemetry",
           "configuration": {"prometheus_url": {"type": "env", "key": "TEST_PROMETHEUS_URL", "default": url}},
           "controls": [{"name": "squall", "provider": {"type": "python", "module": "squall.control",
                                                        "arguments": {"sli": sli}}}],
           "method": [{"type": "action", "name": "noop", "provider": {"type": "python", "module": "os.path",
                                                                      "func": "exists", "arguments": {"path": "/"}}}]}
    path = tmp_path / "exp.json"
    path.write_text(json.dumps(exp))
    proc = subprocess.run([sys.executable, "-c", "from squall.cli import main; main()", "gate", str(path), "--quiet"],
                          cwd=tmp_path, capture_output=True, text=True, timeout=120, check=False)
    assert proc.returncode == 4, proc.stdout + proc.stderr
    assert f'sli "checkout-prom": Prometheus at {url} cannot answer success_ratio' in proc.stderr
    assert "nothing was run or injected" in proc.stdout
