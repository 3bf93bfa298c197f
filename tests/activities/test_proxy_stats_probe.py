"""The proxy stats probe, and verifiers attributing attempts by time when a service drops X-Chaos-Run-Id."""

import httpx
import pytest
from chaoslib.exceptions import ActivityFailed
from services import clients
from services.system import System

from squall import config
from squall.actions import toxiproxy as tp
from squall.background import serve_app
from squall.probes.proxy import stats
from squall.verify import retries


def test_stats_show_the_requests_that_went_through(system: System) -> None:
    with httpx.Client(trust_env=False) as client:
        for _ in range(3):
            client.get(f"{system.proxied}/pay", headers={config.RUN_ID_HEADER: "probe-test"})
    out = stats("payments", configuration=system.configuration)
    assert out["proxy"] == "payments"
    assert out["http"]["requests"] == 3 and out["http"]["by_status"] == {"200": 3}
    assert [e["run_id"] for e in out["http"]["events"]] == ["probe-test"] * 3
    later = stats("payments", since=out["http"]["events"][-1]["ts"] + 1, configuration=system.configuration)
    assert later["http"]["events"] == []


def test_unknown_proxy_is_named(system: System) -> None:
    with pytest.raises(ActivityFailed, match='unknown proxy "paymnts" .*expected one of: payments'):
        stats("paymnts", configuration=system.configuration)


def test_retries_counted_by_time_when_the_header_is_not_forwarded(system: System) -> None:
    settings = clients.Settings(forward_run_id=False)
    with serve_app(lambda: clients.make_resilient_app(f"{system.proxied}/pay", settings)) as url:
        tp.add_http_error("payments", status=503, first_n=2, configuration=system.configuration)
        result = retries(f"{url}/checkout", "payments", requests=2, configuration=system.configuration)
    assert result["ok"] is True, result
    assert result["evidence"]["attribution"] == "time"
    assert result["evidence"]["attempts_per_request"] == [3, 1]
