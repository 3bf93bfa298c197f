"""A span per game day or gate run (``squall gameday run``, ``squall gate``), each experiment's outcome on it.

On when the standard OTEL_* variables say so (``tracing_config.resolve`` without
a control section: a suite has no control arguments of its own). Each
experiment gets a child span ``squall.experiment``; its traceparent goes to the
experiment's ``chaos run`` as ``$SQUALL_TRACEPARENT``, so the run's own
``squall.run`` span (when that run traces too) hangs below it. Every call here
swallows and logs its own failure: tracing never changes a game day's verdict.
"""

import logging
import time
from collections.abc import Iterable, Mapping
from typing import Any

from squall.telemetry.tracing_config import resolve

__all__ = ["SuiteTrace", "TRACEPARENT_ENV", "mechanisms", "start_suite"]

logger = logging.getLogger("squall.gameday")

#: read by the control (squall.control.run): the run span's parent
TRACEPARENT_ENV = "SQUALL_TRACEPARENT"


def mechanisms(checks: Iterable[Any]) -> dict[str, str]:
    """Each verifier check's outcome by name (passed / failed / inconclusive): the mechanisms a run proved or not."""
    out: dict[str, str] = {}
    for check in checks:
        if getattr(check, "kind", None) != "verifier":
            continue
        verdict = getattr(check, "verdict", None)
        ok = getattr(check, "ok", None)
        out[str(check.name)] = str(verdict.value if verdict is not None else ("passed" if ok else "failed"))
    return out


class SuiteTrace:
    """A started suite span; every method is safe to call and never raises."""

    def __init__(self, tracing: Any) -> None:
        self._tracing = tracing
        self._open: dict[str, Any] = {}

    @property
    def trace_id(self) -> str:
        """The suite run's trace id."""
        return str(self._tracing.trace_id)

    def begin(self, name: str, started: float) -> dict[str, str]:
        """An experiment starts: the environment to give its `chaos run` (its span's traceparent)."""
        try:
            span, traceparent = self._tracing.begin_experiment(name, started)
        except Exception as exc:
            logger.warning("squall: tracing: the span of experiment %s could not start (%s)", name, exc)
            return {}
        self._open[name] = span
        return {TRACEPARENT_ENV: traceparent}

    def end(self, name: str, run_id: str | None, verdict: str, score: float | None,
            mechanisms: Mapping[str, str], ended: float) -> None:
        """An experiment ended: its verdict, score and each mechanism's outcome as attributes."""
        span = self._open.pop(name, None)
        if span is None:
            return
        try:
            self._tracing.end_experiment(span, name, run_id, verdict, score, mechanisms, ended)
        except Exception as exc:
            logger.warning("squall: tracing: the span of experiment %s could not end (%s)", name, exc)

    def finish(self, verdict: str, score: float | None, exit_code: int, reasons: Iterable[str]) -> None:
        """The suite ended: its verdict, score and exit code; flush (bounded)."""
        for name in list(self._open):  # interrupted while it ran
            self.end(name, None, "interrupted", None, {}, time.time())
        try:
            self._tracing.end(verdict, score, exit_code, list(reasons))
        except Exception as exc:
            logger.warning("squall: tracing: the game day's span could not end (%s)", exc)


def start_suite(name: str, kind: str, started: float, environ: Mapping[str, str] | None = None) -> SuiteTrace | None:
    """The suite's span when tracing is on (OTEL_* variables), else None: nothing imported, nothing started."""
    target = resolve(None, environ)
    if target is None:
        return None
    try:
        from squall.telemetry.tracing import SuiteTracing  # the SDK: imported only with tracing on

        return SuiteTrace(SuiteTracing(target, name, kind, started))
    except Exception as exc:
        logger.warning("squall: tracing could not start (%s); the %s goes on without it", exc, kind)
        return None
