"""Human text for numbers, durations, times, tolerances and values (never a Python repr)."""

import json
import math
import re
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any


def duration(seconds: float | None) -> str:
    """A duration with millisecond precision: ``0.14 ms``, ``12.3 ms``, ``1.204 s``, ``2 min 3.5 s``."""
    if seconds is None or not isinstance(seconds, (int, float)) or math.isnan(seconds):
        return "—"
    if seconds < 0:
        return "-" + duration(-seconds)
    ms = seconds * 1000
    if ms == 0:
        return "0 ms"
    if ms < 0.01:
        return "< 0.01 ms"
    if ms < 10:
        return f"{ms:.2f} ms"
    if ms < 1000:
        return f"{ms:.1f} ms"
    if seconds < 60:
        return f"{seconds:.3f} s"
    minutes, rest = divmod(seconds, 60)
    if minutes < 60:
        return f"{int(minutes)} min {rest:.1f} s"
    hours, minutes = divmod(minutes, 60)
    return f"{int(hours)} h {int(minutes)} min"


def offset(t: float | None, t0: float | None) -> str:
    """A time relative to the run's start: ``+12.345 s``."""
    if t is None or t0 is None:
        return "—"
    return f"+{t - t0:.3f} s" if t >= t0 else f"−{t0 - t:.3f} s"


def clock(t: float | None) -> str:
    """A UTC wall-clock time with milliseconds."""
    if t is None:
        return "—"
    return datetime.fromtimestamp(t, UTC).strftime("%H:%M:%S.%f")[:-3] + " UTC"


def date_time(t: float | None) -> str:
    """A UTC date and time to the second."""
    if t is None:
        return "unknown"
    return datetime.fromtimestamp(t, UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def number(value: float | None, digits: int = 1) -> str:
    """A number without noise: integers stay integers, floats get a few digits."""
    if value is None:
        return "—"
    if isinstance(value, bool):
        return "true" if value else "false"
    if not isinstance(value, (int, float)):  # a journal said a number and wrote something else
        return compact(value, 60)
    if isinstance(value, int) or float(value).is_integer():
        return f"{int(value):,}".replace(",", " ") if abs(value) >= 10000 else str(int(value))
    if abs(value) >= 100:
        return f"{value:.0f}"
    return f"{value:.{digits}f}" if abs(value) >= 1 else f"{value:.{digits + 2}g}"


def percent(share: float | None) -> str:
    """A 0..1 share as a percentage."""
    if share is None:
        return "—"
    text = f"{share * 100:.1f}"
    return (text.removesuffix(".0")) + "%"


def scalar(value: Any) -> str:
    """A JSON scalar as JSON-ish text: ``true``, ``200``, ``"ok"``."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return f"{value:.4f}".rstrip("0").rstrip(".") if math.isfinite(value) else str(value)
    return json.dumps(value, ensure_ascii=False) if isinstance(value, str) else compact(value)


def compact(value: Any, limit: int = 240) -> str:
    """A value on one line, dicts as ``key=value`` pairs, cut at ``limit`` characters."""
    if isinstance(value, Mapping):
        if {"status", "headers", "body"} <= set(value):  # an HTTP provider's output
            body = value.get("body")
            text = f"HTTP {value.get('status')}"
            if body not in (None, ""):
                text += " " + compact(body, limit)
        else:
            text = ", ".join(f"{k}={_inline(v)}" for k, v in value.items())
    elif isinstance(value, list):
        text = "[" + ", ".join(_inline(v) for v in value) + "]"
    elif isinstance(value, str):
        text = value
    else:
        text = scalar(value)
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _inline(value: Any) -> str:
    if isinstance(value, (Mapping, list)):
        return json.dumps(value, ensure_ascii=False, default=str, separators=(",", ":"))
    return scalar(value)


def tolerance(tol: Any) -> str:
    """A Chaos Toolkit tolerance as a sentence fragment: ``== 200``, ``in [0, 300]``, ``jsonpath $.ok == true``."""
    if tol is None:
        return "—"
    if isinstance(tol, (bool, int, float, str)):
        return f"== {scalar(tol)}"
    if isinstance(tol, list):
        return "one of [" + ", ".join(scalar(v) for v in tol) + "]"
    if not isinstance(tol, Mapping):
        return str(tol)
    kind = tol.get("type")
    target = f"{tol['target']} " if tol.get("target") else ""
    if kind == "range":
        bounds = tol.get("range") or []
        if isinstance(bounds, list) and len(bounds) == 2:
            return f"{target}in [{scalar(bounds[0])}, {scalar(bounds[1])}]"
        return f"{target}in range {compact(bounds)}"
    if kind == "regex":
        return f"{target}matches /{tol.get('pattern', '')}/"
    if kind == "jsonpath":
        text = f"jsonpath {tol.get('path', '')}"
        if "expect" in tol:
            text += f" == {scalar(tol['expect'])}"
        if "count" in tol:
            text += f" (count {scalar(tol['count'])})"
        return text
    if kind == "probe":
        raw = tol.get("provider")
        provider: Mapping[str, Any] = raw if isinstance(raw, Mapping) else {}
        func = ".".join(str(p) for p in (provider.get("module"), provider.get("func")) if p)
        return f"checked by probe {tol.get('name') or func or '(unnamed)'}"
    return compact(tol)


_UNIT_SUFFIXES = (("_ms", "ms"), ("_s", "s"), ("_seconds", "s"), ("_bytes", "bytes"))
_SHARE_WORDS = re.compile(r"(share|ratio|fraction|(^|_)rate)$")


def label(key: str) -> str:
    """An evidence key as a label: ``attempts_per_request`` -> ``attempts per request``."""
    text = str(key)
    for suffix, unit in _UNIT_SUFFIXES:
        if text.endswith(suffix) and len(text) > len(suffix):
            return text[: -len(suffix)].replace("_", " ") + f" ({unit})"
    return text.replace("_", " ")


def evidence_value(key: str, value: Any) -> str:
    """An evidence scalar with its unit where the key names one."""
    if isinstance(value, bool) or value is None:
        return scalar(value)
    if isinstance(value, (int, float)):
        if _SHARE_WORDS.search(str(key)) and 0 <= value <= 1 and not str(key).endswith("_s"):
            return percent(value)
        if isinstance(value, float) and abs(value) < 100 and math.isfinite(value):
            return f"{value:.2f}".rstrip("0").rstrip(".")
        return number(value, 2)
    return compact(value, 400)


def stop_condition(cond: Any) -> str:
    """A stop condition as a sentence: ``success-floor: success rate below 90% for 10 s``."""
    if not isinstance(cond, Mapping):
        return compact(cond, 200)
    name = cond.get("name") or cond.get("kind") or "condition"
    threshold = cond.get("threshold")
    where = f" on {cond['target']}" if cond.get("target") else ""
    if cond.get("kind") == "success_rate_below" and isinstance(threshold, (int, float)):
        return f"{name}: success rate{where} below {percent(threshold)} for {number(cond.get('for_s'))} s"
    if cond.get("kind") == "burn_rate_above" and isinstance(threshold, (int, float)):
        slo = cond.get("slo")
        slo_text = f", SLO {percent(slo)}" if isinstance(slo, (int, float)) else ""
        return (f"{name}: error-budget burn rate{where} above {number(threshold)}× "
                f"over {number(cond.get('window_s'))} s{slo_text}")
    rest = {k: v for k, v in cond.items() if k != "name"}
    return f"{name}: {compact(rest, 200)}"
