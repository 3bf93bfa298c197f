"""checkout's resilience mechanisms, observed from outside: through the embedded fault proxy, /metrics and /healthz."""

import os
import re
import signal
import time
from collections.abc import Callable

import httpx
import pytest

from squall.demo.resilience import BreakerState, CircuitBreaker, RetryPolicy
from squall.demo.topology import DemoSystem, pid_alive
from squall.toxiproxy_client import ToxiproxyClient

METRIC_LINE = re.compile(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(?:[a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\]|\\.)*",?)*\})? (-?[0-9.e+]+|\+Inf|NaN)$')


def metrics(http: httpx.Client, system: DemoSystem) -> dict[str, float]:
    """Parse checkout's /metrics (Prometheus text format) into {"name{labels}": value}; fail on any bad line."""
    response = http.get(f"{system.checkout_url}/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain; version=0.0.4")
    out: dict[str, float] = {}
    typed: set[str] = set()
    for line in response.text.splitlines():
        if line.startswith("# TYPE "):
            typed.add(line.split()[2])
            continue
        if line.startswith("#") or not line:
            continue
        match = METRIC_LINE.match(line)
        assert match, f"not Prometheus text format: {line!r}"
        name = match.group(1)
        assert re.sub(r"_(bucket|sum|count)$", "", name) in typed, f"{name} has no # TYPE line"
        out[name + (match.group(2) or "")] = float(match.group(3))
    return out


def payments_events(toxiproxy: ToxiproxyClient, since: float) -> list[dict]:
    return list(toxiproxy.stats("payments", since=since)["http"]["events"])


def test_checkout_answers_through_the_proxy(demo: DemoSystem, http: httpx.Client, toxiproxy: ToxiproxyClient) -> None:
    since = time.time()
    answers = [http.get(demo.checkout_url + "/checkout") for _ in range(4)]
    assert [a.status_code for a in answers] == [200] * 4
    assert {a.json()["payment"] for a in answers} == {"captured"}
    assert {a.json()["inventory_replica"] for a in answers} == {"inventory-1", "inventory-2"}  # balanced
    assert all("X-Fallback" not in a.headers for a in answers)
    assert len(payments_events(toxiproxy, since)) == 4  # every payment went through the fault proxy


def test_retry_after_is_waited_out_before_retrying(demo: DemoSystem, http: httpx.Client, toxiproxy: ToxiproxyClient) -> None:
    toxiproxy.add_toxic("payments", "http_error", {"status": 429, "first_n": 1, "retry_after": 1}, stream="upstream")
    since = time.time()
    answer = http.get(demo.checkout_url + "/checkout", headers={"X-Chaos-Run-Id": "retry-after-test"})
    assert answer.status_code == 200 and answer.json()["payment"] == "captured"  # the retry succeeded
    attempts = [e for e in payments_events(toxiproxy, since) if e["run_id"] == "retry-after-test"]
    assert [e["status"] for e in attempts] == [429, 201]  # 201: payment created
    assert attempts[1]["ts"] - attempts[0]["ts"] >= 0.95  # Retry-After: 1 honoured, not retried at once
    assert metrics(http, demo)['checkout_retries_total{dependency="payments"}'] == 1


def test_fragile_checkout_neither_retries_nor_falls_back(fragile_demo: DemoSystem, http: httpx.Client) -> None:
    with ToxiproxyClient(fragile_demo.toxiproxy_url) as toxiproxy:
        toxiproxy.add_toxic("payments", "http_error", {"status": 429, "first_n": 1, "retry_after": 1}, stream="upstream")
        since = time.time()
        answer = http.get(fragile_demo.checkout_url + "/checkout")
        assert answer.status_code == 503
        assert "fallback switched off" in answer.json()["error"]
        assert [e["status"] for e in payments_events(toxiproxy, since)] == [429]


def test_breaker_opens_on_a_hang_then_closes_after_healing(demo: DemoSystem, http: httpx.Client, toxiproxy: ToxiproxyClient, wait_for: Callable[..., bool]) -> None:
    toxiproxy.add_toxic("payments", "timeout", {"timeout": 0}, name="hang")
    since = time.time()
    answers = [http.get(demo.checkout_url + "/checkout") for _ in range(10)]
    # Every order is accepted with the payment queued, and quickly (timeouts bound the wait).
    assert {a.status_code for a in answers} == {202}
    assert {a.headers["X-Fallback"] for a in answers} == {"payments-queued"}
    assert max(a.elapsed.total_seconds() for a in answers) < 1.0
    # The breaker opened after 3 failures: payments saw far fewer calls than the 10 orders' retries would make.
    assert len(payments_events(toxiproxy, since)) <= 4
    assert metrics(http, demo)['checkout_breaker_state{endpoint="payments"}'] == BreakerState.OPEN.value
    assert http.get(demo.checkout_url + "/healthz").json()["payments_queued"] == 10

    toxiproxy.remove_toxic("payments", "hang")
    # After the cool-down a trial call goes through (half-open) and the breaker closes.
    assert wait_for(lambda: http.get(demo.checkout_url + "/checkout").status_code == 200, timeout_s=5)
    assert metrics(http, demo)['checkout_breaker_state{endpoint="payments"}'] == BreakerState.CLOSED.value
    # ...and the queued payments are captured in the background.
    assert wait_for(lambda: http.get(demo.checkout_url + "/healthz").json()["payments_queued"] == 0, timeout_s=5)
    # (the polling above may have queued a few more before the breaker closed)
    assert http.get(demo.checkout_url + "/healthz").json()["payments_captured_later"] >= 10


def test_inventory_hang_serves_cached_stock_with_the_marker(demo: DemoSystem, http: httpx.Client, toxiproxy: ToxiproxyClient) -> None:
    assert http.get(demo.checkout_url + "/checkout?sku=widget").status_code == 200  # warms the cache
    for proxy in ("inventory-1", "inventory-2"):
        toxiproxy.add_toxic(proxy, "timeout", {"timeout": 0})
    answer = http.get(demo.checkout_url + "/checkout?sku=widget")
    assert answer.status_code == 200
    assert answer.headers["X-Fallback"] == "inventory-cache"
    assert answer.json()["stock_source"] == "cache"
    # No cached stock for a SKU never seen: no fallback, an honest 503 that says why.
    cold = http.get(demo.checkout_url + "/checkout?sku=gadget")
    assert cold.status_code == 503
    assert "inventory unavailable" in cold.json()["error"]
    assert metrics(http, demo)['checkout_fallbacks_total{kind="inventory-cache"}'] == 1


def test_metrics_count_requests_by_outcome(demo: DemoSystem, http: httpx.Client, toxiproxy: ToxiproxyClient) -> None:
    for _ in range(3):
        http.get(demo.checkout_url + "/checkout")
    toxiproxy.update_proxy("payments", enabled=False)  # a partition: connections refused
    for _ in range(2):
        assert http.get(demo.checkout_url + "/checkout").status_code == 202
    m = metrics(http, demo)
    assert m['checkout_requests_total{outcome="ok"}'] == 3
    assert m['checkout_requests_total{outcome="fallback"}'] == 2
    assert m['checkout_requests_total{outcome="error"}'] == 0
    assert m["checkout_request_duration_seconds_count"] == 5
    assert m['checkout_request_duration_seconds_bucket{le="+Inf"}'] == 5
    assert m['checkout_dependency_attempts_total{endpoint="payments",result="connection"}'] >= 2
    assert m["checkout_payments_queued"] == 2


def test_killed_replica_fails_over_and_is_restarted(demo: DemoSystem, http: httpx.Client, wait_for: Callable[..., bool]) -> None:
    pid_file = demo.pid_files["inventory-1"]
    old_pid = int(pid_file.read_text())
    os.kill(old_pid, signal.SIGKILL)
    assert wait_for(lambda: not pid_alive(old_pid) or demo.replicas["inventory-1"].process.poll() is not None, 5)
    answers = [http.get(demo.checkout_url + "/checkout") for _ in range(10)]
    assert [a.status_code for a in answers] == [200] * 10  # retries fail over to inventory-2
    assert {a.json()["inventory_replica"] for a in answers} == {"inventory-2"}
    # The supervisor restarts the replica (a new process on the same port)...
    assert wait_for(lambda: pid_file.exists() and int(pid_file.read_text() or 0) != old_pid, timeout_s=10)
    assert pid_alive(int(pid_file.read_text()))
    # ...and once its breaker lets a trial through, it serves again.
    assert wait_for(
        lambda: http.get(demo.checkout_url + "/checkout").json()["inventory_replica"] == "inventory-1", timeout_s=5
    )


def test_fragile_checkout_loses_orders_when_a_replica_dies(fragile_demo: DemoSystem, http: httpx.Client) -> None:
    os.kill(int(fragile_demo.pid_files["inventory-1"].read_text()), signal.SIGKILL)
    fragile_demo.replicas["inventory-1"].process.wait(5)
    statuses = [http.get(fragile_demo.checkout_url + "/checkout").status_code for _ in range(4)]
    assert statuses.count(503) >= 1  # requests routed to the dead replica fail


def test_backoff_grows_with_jitter_and_never_undercuts_retry_after() -> None:
    policy = RetryPolicy(attempts=4, base_s=0.02, cap_s=1.0)
    for _ in range(200):
        first, second, third = (policy.backoff_s(n) for n in (1, 2, 3))
        assert 0.01 <= first <= 0.02 <= second <= 0.04 <= third <= 0.08
        assert policy.backoff_s(1, retry_after_s=1.0) == 1.0
    assert len({policy.backoff_s(2) for _ in range(50)}) > 1  # jittered


def test_breaker_states_follow_closed_open_half_open_closed() -> None:
    now = [0.0]
    breaker = CircuitBreaker("payments", failure_threshold=3, reset_timeout_s=1.0, clock=lambda: now[0])
    for _ in range(2):
        breaker.record_failure()
    assert breaker.state is BreakerState.CLOSED and breaker.allow()
    breaker.record_failure()
    assert breaker.state is BreakerState.OPEN and not breaker.allow()
    now[0] = 1.0
    assert breaker.allow()  # one trial...
    assert breaker.state is BreakerState.HALF_OPEN and not breaker.allow()  # ...at a time
    breaker.record_failure()  # failed trial: open again at once
    assert breaker.state is BreakerState.OPEN
    now[0] = 2.5
    assert breaker.allow()
    breaker.record_success()
    assert breaker.state is BreakerState.CLOSED and breaker.allow()
    assert [s for _, s in breaker.transitions] == [
        BreakerState.OPEN, BreakerState.HALF_OPEN, BreakerState.OPEN, BreakerState.HALF_OPEN, BreakerState.CLOSED
    ]


@pytest.mark.parametrize("sku", ["nope"])
def test_unknown_sku_is_a_clear_client_error_not_a_breaker_failure(demo: DemoSystem, http: httpx.Client, sku: str) -> None:
    for _ in range(5):
        answer = http.get(demo.checkout_url + f"/checkout?sku={sku}")
        assert answer.status_code == 404
        assert f'unknown sku "{sku}"' in answer.json()["error"]
    m = metrics(http, demo)
    assert m['checkout_breaker_state{endpoint="inventory-1"}'] == BreakerState.CLOSED.value
    assert m['checkout_breaker_state{endpoint="inventory-2"}'] == BreakerState.CLOSED.value
