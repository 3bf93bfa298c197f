"""squall.probes.prometheus against a real Prometheus (until now it was tested against a stand-in only)."""

from collections.abc import Callable
from typing import Any

import pytest
from chaoslib.exceptions import ActivityFailed

from squall.errors import PrometheusError
from squall.probes.prometheus import query, query_within, single_value
from squall.proxy import run_in_thread


def test_query_query_within_and_single_value_read_a_real_prometheus(start_prometheus: Callable[..., Any]) -> None:
    with run_in_thread() as proxy:
        prom = start_prometheus({"squall-proxy": [proxy.url.removeprefix("http://")]})
        got = query(prom.url, 'up{job="squall-proxy"}')
        assert got["value"] == 1.0 and got["values"][0]["metric"]["job"] == "squall-proxy"
        assert query_within(prom.url, 'up{job="squall-proxy"}', min=1, max=1) is True
        assert query_within(prom.url, 'up{job="squall-proxy"}', max=0.5) is False
        assert query_within(prom.url, "no_such_series", min=0) is False  # no data is never within bounds
        assert single_value(prom.url, "count(up)") == 1.0
        assert single_value(prom.url, "no_such_series") is None
        with pytest.raises(ActivityFailed, match="Prometheus refused query .* bad_data"):
            query(prom.url, "sum(rate(up[5s])")  # unbalanced: Prometheus refuses it, the activity says so
        with pytest.raises(PrometheusError, match="returned 2 series"):
            single_value(prom.url, 'label_replace(up, "x", "1", "", "") or label_replace(up, "x", "2", "", "")')
