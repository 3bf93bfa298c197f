"""Prometheus probes: read SLIs a team already has, with an instant PromQL query."""

import math
from typing import Any

import httpx

from squall.activity import activity
from squall.errors import ExperimentInvalid, PrometheusError

__all__ = ["query", "query_within"]


def _instant(url: str, promql: str, timeout_s: float, client: httpx.Client | None = None) -> dict[str, Any]:
    if not isinstance(url, str) or not url.startswith(("http://", "https://")):
        raise ExperimentInvalid(f'url "{url}" is not an http(s) URL (expected e.g. "http://127.0.0.1:9090")')
    if not isinstance(promql, str) or not promql.strip():
        raise ExperimentInvalid(f"promql={promql!r} (expected a PromQL expression)")
    endpoint = url.rstrip("/") + "/api/v1/query"
    try:
        if client is not None:
            response = client.get(endpoint, params={"query": promql}, timeout=timeout_s)
        else:
            with httpx.Client(trust_env=False, timeout=timeout_s) as own:
                response = own.get(endpoint, params={"query": promql})
    except httpx.HTTPError as exc:
        raise PrometheusError(f"cannot reach Prometheus at {url} ({type(exc).__name__}: {exc})") from exc
    try:
        body = response.json()
    except ValueError as exc:
        raise PrometheusError(f"{endpoint} answered {response.status_code} with non-JSON: {response.text[:200]!r}") from exc
    if not isinstance(body, dict):
        raise PrometheusError(f"{endpoint} answered {response.status_code} with {type(body).__name__}, not an object")
    if response.status_code >= 400 or body.get("status") != "success":
        raise PrometheusError(
            f"Prometheus refused query {promql!r}: {body.get('errorType', response.status_code)}: {body.get('error', '')}"
        )
    if not isinstance(body.get("data"), dict):
        raise PrometheusError(f"{endpoint} answered {response.status_code} without a data object: {response.text[:200]!r}")
    return dict(body["data"])


def _values(data: dict[str, Any]) -> list[dict[str, Any]]:
    kind, result = data.get("resultType"), data.get("result") or []
    if kind in ("scalar", "string"):
        return [{"metric": {}, "value": float(result[1]) if kind == "scalar" else result[1]}]
    if kind == "vector":
        return [{"metric": r.get("metric", {}), "value": float(r["value"][1])} for r in result]
    raise PrometheusError(f"query returned a {kind} result (expected an instant vector or scalar)")


@activity(role="probe")
def query(url: str, promql: str, timeout_s: float = 10.0) -> dict:
    """Run instant PromQL query `promql` on the Prometheus at `url`; return {"value", "values": [{metric, value}]}.

    `value` is the single number when the result has exactly one series, else null.
    """
    values = _values(_instant(url, promql, timeout_s))
    single = values[0]["value"] if len(values) == 1 else None
    return {"query": promql, "value": single, "values": values}


@activity(role="probe")
def query_within(
    url: str, promql: str, min: float | None = None, max: float | None = None, timeout_s: float = 10.0
) -> bool:
    """True when every series of `promql` is within [`min`, `max`] (either bound optional); false for no data."""
    if min is None and max is None:
        raise ExperimentInvalid("query_within needs min, max or both (expected at least one bound)")
    values = _values(_instant(url, promql, timeout_s))
    numbers = [v["value"] for v in values]
    if not numbers:
        return False
    for n in numbers:
        if not isinstance(n, float) or math.isnan(n):
            return False
        if (min is not None and n < min) or (max is not None and n > max):
            return False
    return True


def single_value(url: str, promql: str, timeout_s: float = 10.0, client: httpx.Client | None = None) -> float | None:
    """The one number ``promql`` gives now; None for no series or NaN (no data); PrometheusError when it fails.

    Not an activity: the control's Prometheus SLI source samples with it (``client`` is reused between samples).
    """
    values = _values(_instant(url, promql, timeout_s, client))
    if len(values) > 1:
        raise PrometheusError(f"query {promql!r} returned {len(values)} series (expected one number: aggregate it, "
                              f"e.g. with sum(...))")
    value = values[0]["value"] if values else None
    if value is None or not isinstance(value, float) or math.isnan(value):
        return None
    return value
