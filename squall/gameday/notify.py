"""Tell a webhook how a game day went: one JSON POST with a bounded timeout; failure is logged, not fatal."""

import logging
from typing import Any

import httpx

from squall.gameday.model import GameDayResult

log = logging.getLogger("squall.gameday")


def payload(result: GameDayResult) -> dict[str, Any]:
    """The JSON summary a webhook receives."""
    return {
        "suite": result.suite,
        "stamp": result.stamp,
        "verdict": result.verdict,
        "exit_code": int(result.exit_code),
        "score": None if result.score is None else round(result.score, 1),
        "min_score": result.min_score,
        "reasons": result.reasons,
        "duration_s": round(result.duration_s, 1),
        "index": str(result.index_path) if result.index_path else None,
        "experiments": [
            {
                "name": e.name,
                "verdict": e.verdict,
                "score": None if e.score is None else round(e.score, 1),
                "reason": e.reason,
                "duration_s": round(e.duration_s, 1),
                "failed_checks": [c.name for c in e.checks if not c.ok],
            }
            for e in result.experiments
        ],
    }


def redact(url: str) -> str:
    """A webhook URL safe to log: scheme and host only (paths and queries often carry tokens)."""
    parts = httpx.URL(url)
    return f"{parts.scheme}://{parts.host}{':' + str(parts.port) if parts.port else ''}/…"


def send(url: str, result: GameDayResult, *, timeout_s: float = 5.0) -> str | None:
    """POST the summary to `url`; return None on success, else a one-line reason (also logged)."""
    try:
        response = httpx.post(url, json=payload(result), timeout=timeout_s)
    except httpx.HTTPError as exc:
        why = f"webhook {redact(url)} failed: {type(exc).__name__}: {str(exc).replace(url, redact(url))}"
    else:
        if response.status_code < 300:
            return None
        why = f"webhook {redact(url)} answered HTTP {response.status_code}"
    log.warning(why)
    return why
