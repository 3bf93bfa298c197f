"""Journal run entries -> activities with their provider, timing, output and error."""

import json
import re
from collections.abc import Iterable, Mapping
from typing import Any

from squall.activity import role_of
from squall.reporting import formatting as fmt
from squall.reporting.masking import Masker
from squall.reporting.model.reading import as_dict, as_list, num, ts
from squall.reporting.records import Activity

MAX_OUTPUT_CHARS = 8000
INLINE_JSON_CHARS = 120
_JSON_KEY = re.compile(r'"((?:[^"\\]|\\.)*)":')  # every key in a JSON text


def provider_text(definition: Mapping[str, Any], masker: Masker) -> str:
    """What an activity called, on one line: ``module.func(arg=...)``, ``GET url``, ``path args``."""
    try:
        key = ("provider", json.dumps([definition.get("provider"), definition.get("ref")], sort_keys=True))
    except (TypeError, ValueError):
        return _provider_text(definition, masker)
    text = masker.memo.get(key)  # experiments repeat the same provider many times
    if text is None:
        text = masker.memo[key] = _provider_text(definition, masker)
    return str(text)


def _provider_text(definition: Mapping[str, Any], masker: Masker) -> str:
    provider = as_dict(definition.get("provider"))
    kind = provider.get("type")
    args = as_dict(masker.value(as_dict(provider.get("arguments"))))
    if kind == "python":
        call = ".".join(str(p) for p in (provider.get("module"), provider.get("func")) if p)
        inner = ", ".join(f"{k}={fmt.scalar(v)}" for k, v in args.items())
        text = f"{call}({inner})"
    elif kind == "http":
        url = provider.get("url")
        text = f"{provider.get('method', 'GET')} {masker.text(str(url)) if url else '?'}"
    elif kind == "process":
        raw = provider.get("arguments")
        tail = masker.text(raw) if isinstance(raw, str) else " ".join(map(fmt.scalar, args.values()))
        text = f"{masker.text(str(provider.get('path', '')))} {tail}".strip()
    elif definition.get("ref"):
        text = f"ref {definition['ref']}"
    else:
        text = str(kind or "unknown provider")
    return fmt.compact(text, 300)


def output_text(value: Any, masker: Masker) -> tuple[str, int]:
    """An activity's output as masked text and its line count."""
    if value is None:
        return "", 0
    if isinstance(value, str):
        text = value
    else:
        try:
            shown = value
            text = json.dumps(shown, ensure_ascii=False, default=str)  # the C encoder: fast
            if any(masker.is_secret_key(k) for k in _JSON_KEY.findall(text)):
                shown = masker.value(value, text=False)  # values under secret keys, whatever their shape
                text = json.dumps(shown, ensure_ascii=False, default=str)
            if len(text) > INLINE_JSON_CHARS:  # long: indent it for reading (the slower encoder)
                text = json.dumps(shown, indent=2, ensure_ascii=False, default=str)
        except (TypeError, ValueError, RecursionError):
            text = str(value)
    text = masker.text(text)
    if len(text) > MAX_OUTPUT_CHARS:
        text = text[:MAX_OUTPUT_CHARS] + f"\n… {len(text) - MAX_OUTPUT_CHARS} more characters in the journal"
    return text, text.count("\n") + 1


def error_text(entry: Mapping[str, Any], masker: Masker) -> tuple[str, str]:
    """The last line of an entry's exception and the whole traceback, masked."""
    lines = entry.get("exception")
    if isinstance(lines, str):
        lines = [lines]
    lines = [str(x) for x in as_list(lines)]
    if not lines:
        return "", ""
    text = masker.text("".join(lines))
    last = next((x.strip() for x in reversed(text.splitlines()) if x.strip()), "")
    return fmt.compact(last, 400), text


def role_text(definition: Mapping[str, Any]) -> str:
    """The role a python activity declares (inject, heal, probe, verify); "" when it declares none."""
    provider = as_dict(definition.get("provider"))
    if provider.get("type") != "python":
        return ""
    return role_of(str(provider.get("module") or ""), str(provider.get("func") or "")) or ""


def activity(entry: Mapping[str, Any], phase: str, masker: Masker) -> Activity:
    """One journal run entry as an activity."""
    definition = as_dict(entry.get("activity"))
    start, end = ts(entry.get("start")), ts(entry.get("end"))
    duration = num(entry.get("duration"))
    if duration is None and start is not None and end is not None:
        duration = end - start
    status = str(entry.get("status") or "did not finish")
    output, lines = output_text(entry.get("output"), masker)
    error, trace = error_text(entry, masker)
    result = as_dict(entry.get("output"))
    if status == "succeeded" and "verifier" in result and result.get("ok") is False:
        # Chaos Toolkit says "succeeded" because the probe call returned; the check it made failed.
        inconclusive = result.get("verdict") == "inconclusive"
        status = "inconclusive" if inconclusive else "failed"
        summary = masker.text(fmt.compact(result.get("summary") or "", 400))
        error = error or (f"the verifier could not decide: {summary}" if inconclusive
                          else f"the verifier's check failed: {summary}")
    return Activity(
        name=masker.text(str(definition.get("name") or "(unnamed)")),
        type=str(definition.get("type") or "activity"),
        phase=phase,
        provider=provider_text(definition, masker),
        status=status,
        start=start,
        duration_s=duration,
        output=output,
        output_lines=lines,
        error=error,
        traceback=trace,
        role=role_text(definition),
    )


def activities_of(journal: Mapping[str, Any], masker: Masker) -> list[Activity]:
    """Every activity of the run, in order: steady state before, method, steady state after, rollbacks."""
    steady = as_dict(journal.get("steady_states"))
    groups: list[tuple[str, Iterable[Any]]] = [
        ("steady state before", as_list(as_dict(steady.get("before")).get("probes"))),
        ("method", as_list(journal.get("run"))),
        ("steady state after", as_list(as_dict(steady.get("after")).get("probes"))),
        ("rollbacks", as_list(journal.get("rollbacks"))),
    ]
    out: list[Activity] = []
    for phase, entries in groups:
        out.extend(activity(as_dict(e), phase, masker) for e in entries)
    return out
