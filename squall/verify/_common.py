"""Small pieces every verifier shares: the result shape, argument checks, and reading proxy events."""

from collections.abc import Mapping
from typing import Any, Literal

from squall.errors import ExperimentInvalid
from squall.tracecontext import tracing_active

Verdict = Literal["passed", "failed", "inconclusive"]


def result(verifier: str, ok: bool | Verdict, summary: str, evidence: Mapping[str, Any]) -> dict[str, Any]:
    """The verifier result shape of docs/internals.md: ``ok`` is true only for ``verdict: passed``."""
    verdict: Verdict = ("passed" if ok else "failed") if isinstance(ok, bool) else ok
    return {"verifier": verifier, "ok": verdict == "passed", "verdict": verdict, "summary": summary,
            "evidence": dict(evidence)}


def check_count(name: str, value: Any, minimum: int = 1, maximum: int = 1000) -> int:
    """An integer argument within bounds, or ExperimentInvalid naming it."""
    if isinstance(value, bool) or not isinstance(value, int) or not minimum <= value <= maximum:
        raise ExperimentInvalid(f"{name}={value!r} (expected an integer from {minimum} to {maximum})")
    return value


def check_seconds(name: str, value: Any, maximum: float = 600) -> float:
    """A positive number of seconds within bounds, or ExperimentInvalid naming it."""
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 < value <= maximum:
        raise ExperimentInvalid(f"{name}={value!r} (expected a number of seconds above 0, at most {maximum})")
    return float(value)


def failed_attempt(e: Mapping[str, Any]) -> bool:
    """An attempt that did not get a successful answer (error, no response, 429 or 5xx)."""
    status = e.get("status")
    return e.get("error") is not None or status is None or status == 429 or status >= 500


def event_brief(e: Mapping[str, Any]) -> dict[str, Any]:
    """The parts of a proxy event worth keeping as evidence."""
    out = {k: e.get(k) for k in ("ts", "status", "duration_ms", "injected", "error")}
    if e.get("trace_id") and tracing_active():  # an exported trace: the report links it (trace_url_template)
        out["trace_id"] = e.get("trace_id")
    if e.get("source") == "conn":
        out["connection_only"] = True  # reset/refused before any request head arrived
    return out
