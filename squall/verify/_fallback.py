"""Verifier: while the dependency is down, the service's answers stay successful and carry a fallback marker."""

from typing import Any

import httpx

from squall.activity import activity
from squall.errors import ExperimentInvalid
from squall.verify._common import check_count, check_seconds, result
from squall.verify._observe import Observer

__all__ = ["fallback"]

_MISSING = object()


def _json_at(body: Any, path: str) -> Any:
    """Follow a dotted path ("$.a.b" or "a.0.b") into parsed JSON; _MISSING if absent."""
    node = body
    for part in path.removeprefix("$").strip(".").split("."):
        if not part:
            continue
        if isinstance(node, dict) and part in node:
            node = node[part]
        elif isinstance(node, list) and part.isdigit() and int(part) < len(node):
            node = node[int(part)]
        else:
            return _MISSING
    return node


def _has_value(got: str, expected: str) -> bool:
    """The header is `expected`, or lists it among comma-separated values (one answer, several fallbacks)."""
    return got == expected or expected in (v.strip() for v in got.split(","))


def _marker(response: httpx.Response | None, header: str | None, header_value: str | None,
            json_path: str | None, json_value: Any, status: int | None) -> str | None:
    """None when the response carries the marker, else what was missing."""
    if response is None:
        return "no response"
    if status is not None and response.status_code != status:
        return f"status {response.status_code} (expected {status})"
    if header is not None:
        got = response.headers.get(header)
        if got is None:
            return f"no {header} header"
        if header_value is not None and not _has_value(got, header_value):
            return f'{header}: "{got}" (expected "{header_value}")'
    if json_path is not None:
        try:
            value = _json_at(response.json(), json_path)
        except ValueError:
            return "body is not JSON"
        if value is _MISSING:
            return f"no {json_path} in the body"
        if json_value is not None and value != json_value:
            return f"{json_path} = {value!r} (expected {json_value!r})"
    return None


@activity(role="verify")
def fallback(
    url: str,
    header: str | None = None,
    header_value: str | None = None,
    json_path: str | None = None,
    json_value: Any = None,
    status: int | None = None,
    requests: int = 10,
    min_rate: float = 1.0,
    timeout_s: float = 5.0,
    headers: dict | None = None,
    configuration: dict | None = None,
) -> dict:
    """Check that while the dependency is down `url` still answers successfully with its fallback marker.

    The marker is a response `header` (optionally equal to `header_value`, or
    listing it among comma-separated values: ``X-Fallback: inventory-cache,
    payments-queued`` carries the marker ``payments-queued``), a
    JSON `json_path` such as "$.fallback" (optionally equal to `json_value`),
    and/or an exact `status`. At least `min_rate` of `requests` answers must be
    successful (2xx/3xx, or `status`) and carry the marker.
    """
    if header is None and json_path is None and status is None:
        raise ExperimentInvalid("fallback needs a marker: header, json_path or status (expected at least one)")
    check_count("requests", requests, 1, 500)
    check_seconds("timeout_s", timeout_s)
    if isinstance(min_rate, bool) or not isinstance(min_rate, (int, float)) or not 0 < min_rate <= 1:
        raise ExperimentInvalid(f"min_rate={min_rate!r} (expected a fraction above 0, at most 1)")
    missing: list[str | None] = []
    with Observer("fallback", url, configuration, headers=headers, expect_status=status) as obs:
        for _ in range(requests):
            call, response = obs.request(timeout_s)
            if response is None:
                why: str | None = f"{call.sample.error} (no answer)"
            elif not call.sample.ok:
                why = f"status {call.sample.status}"
            else:
                why = _marker(response, header, header_value, json_path, json_value, status)
            missing.append(why)
    good = sum(1 for m in missing if m is None)
    rate = good / requests
    evidence = {"requests": requests, "with_marker": good, "rate": round(rate, 4), "min_rate": min_rate,
                "misses": [m for m in missing if m is not None][:20],
                "client_statuses": [c.sample.status for c in obs.calls],
                "client_latency_ms": [c.sample.latency_ms for c in obs.calls]}
    if rate < min_rate:
        first = next(m for m in missing if m is not None)
        return result("fallback", False,
                      f"only {good} of {requests} answers were successful with the fallback marker (first miss: {first})",
                      evidence)
    return result("fallback", True, f"{good} of {requests} answers successful with the fallback marker", evidence)
