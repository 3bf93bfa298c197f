"""Bounded reads of a real Prometheus's HTTP API for the tests."""

import time
from collections.abc import Callable
from typing import Any

import httpx


def instant(url: str, promql: str) -> list[dict[str, Any]]:
    """The result vector of an instant query."""
    with httpx.Client(trust_env=False, timeout=5.0) as client:
        body = client.get(url + "/api/v1/query", params={"query": promql}).json()
    assert body["status"] == "success", body
    return list(body["data"]["result"])


def wait_value(url: str, promql: str, want: Callable[[float], bool], timeout_s: float = 30.0) -> float:
    """Poll an instant query until its single value satisfies ``want`` (bounded); return the last value."""
    deadline = time.monotonic() + timeout_s
    last: float = float("nan")
    while time.monotonic() < deadline:
        result = instant(url, promql)
        if len(result) == 1:
            last = float(result[0]["value"][1])
            if want(last):
                return last
        time.sleep(0.25)
    return last
