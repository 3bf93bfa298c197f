"""Probes that read the demo checkout's own state (its ``/healthz``), for the bundled experiments."""

import httpx

from squall.activity import activity
from squall.errors import ExperimentInvalid, SquallError

__all__ = ["payments_queued"]


@activity
def payments_queued(health_url: str, timeout_s: float = 2.0) -> int:
    """How many payments the demo checkout has accepted but not yet captured (0 = every queued payment was captured)."""
    if not isinstance(health_url, str) or not health_url.startswith(("http://", "https://")):
        raise ExperimentInvalid(f'health_url "{health_url}" is not an http(s) URL (expected e.g. "http://127.0.0.1:8080/healthz")')
    try:
        with httpx.Client(trust_env=False, timeout=timeout_s) as client:
            body = client.get(health_url).json()
    except (httpx.HTTPError, ValueError) as exc:
        raise SquallError(f"cannot read the demo checkout's health at {health_url}: {exc}") from exc
    if not isinstance(body, dict) or "payments_queued" not in body:
        raise SquallError(f"{health_url} answered {str(body)[:200]} (expected the demo checkout's /healthz)")
    return int(body["payments_queued"])
