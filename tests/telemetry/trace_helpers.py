"""A probe that tells what the chaos process has loaded (run inside `chaos run` by the tracing tests)."""

import sys
import threading
from typing import Any

from squall import tracecontext


def loaded_telemetry() -> dict[str, Any]:
    """OpenTelemetry modules imported and tracing threads running in this process."""
    return {
        "modules": sorted(m for m in sys.modules if m.startswith("opentelemetry") or m == "squall.telemetry.tracing"),
        "threads": sorted(t.name for t in threading.enumerate() if "trace" in t.name.lower() or "otel" in t.name.lower()
                          or "BatchSpan" in t.name),
        "tracing_active": tracecontext.tracing_active(),
    }
