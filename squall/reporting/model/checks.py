"""Steady-state probes, during-method checks and verifier results -> checks with readable evidence."""

from collections.abc import Mapping
from typing import Any

from squall.reporting import formatting as fmt
from squall.reporting.masking import Masker
from squall.reporting.model.activities import error_text
from squall.reporting.model.reading import as_dict, as_list, num, ts
from squall.reporting.records import Check, CheckKind, Evidence

MAX_EVIDENCE_ITEMS = 200


_TIME_KEYS = {"t", "ts", "time", "at", "start", "end", "started", "ended", "since"}


def _value(key: str, value: Any, t0: float | None) -> str:
    """An evidence value; unix times (by key name) become offsets from the run's start."""
    k = str(key).lower()
    n = num(value)
    if n is not None and 1e9 <= n <= 1e11 and (k in _TIME_KEYS or k.endswith(("_at", "_ts"))):
        return fmt.offset(n, t0) if t0 is not None else fmt.clock(n)
    if value is None or (isinstance(value, list) and not value):
        return "none" if value is not None else "—"
    return fmt.evidence_value(k, value)


def _cell(key: str, value: Any, t0: float | None) -> str:
    """One table cell or list item: a missing value is a dash, never ``null``."""
    if value is None:
        return "—"
    if isinstance(value, list) and value and not any(isinstance(v, (Mapping, list)) for v in value):
        return _list_text(key, value, t0)
    if isinstance(value, (Mapping, list)):
        return fmt.compact(value, 200) if value else "none"
    return _value(key, value, t0)


def _list_text(key: str, values: list[Any], t0: float | None) -> str:
    """Scalars as readable text: runs of one value collapsed (``timeout ×3``), missing values as dashes."""
    if all(v is None for v in values):
        return f"none of {len(values)} recorded"
    runs: list[list[Any]] = []
    for v in values[:200]:
        if runs and runs[-1][0] == v:
            runs[-1][1] += 1
        else:
            runs.append([v, 1])
    text = ", ".join(_cell(key, v, t0) + (f" ×{n}" if n > 1 else "") for v, n in runs)
    return text + (f", … ({len(values)} values)" if len(values) > 200 else "")


def _table(name: str, headers: list[str], rows: list[tuple[str, ...]], total: int) -> Evidence:
    more = f"first {len(rows)} of {total}" if total > len(rows) else f"{total} row{'' if total == 1 else 's'}"
    return Evidence(name, text=more, headers=tuple(fmt.label(h) for h in headers), rows=tuple(rows))


def _parallel(data: Mapping[str, Any]) -> dict[str, list[str]]:
    """Lists of scalars that describe the same requests: same length, same name prefix (``client_statuses``,
    ``client_latency_ms``) -> prefix: their keys. They read best as one table, a row per request."""
    groups: dict[tuple[str, int], list[str]] = {}
    for key, value in data.items():
        if isinstance(value, list) and len(value) > 1 and "_" in str(key) and not any(
                isinstance(v, (Mapping, list)) for v in value):
            groups.setdefault((str(key).split("_", 1)[0], len(value)), []).append(str(key))
    return {prefix: keys for (prefix, _), keys in groups.items() if len(keys) > 1}


def _evidence(data: Any, masker: Masker, t0: float | None, depth: int = 0) -> tuple[Evidence, ...]:
    data = as_dict(masker.value(data))
    items = []
    joined = _parallel(data)
    tabled = {k for keys in joined.values() for k in keys}
    for key, value in list(data.items())[:MAX_EVIDENCE_ITEMS]:
        name = fmt.label(key)
        if key in tabled:
            prefix = str(key).split("_", 1)[0]
            keys = joined.pop(prefix, None)
            if keys is None:
                continue  # already shown in its group's table
            columns = [data[k] for k in keys]
            rows = [(str(i + 1), *(_cell(k, col[i], t0) for k, col in zip(keys, columns, strict=True)))
                    for i in range(min(len(columns[0]), 500))]
            items.append(_table(f"{prefix}, per request", ["#", *(k.split("_", 1)[1] for k in keys)],
                                rows, len(columns[0])))
        elif isinstance(value, Mapping) and value and depth < 2:
            items.append(Evidence(name, children=_evidence(value, masker, t0, depth + 1)))
        elif isinstance(value, list) and value and all(isinstance(v, Mapping) for v in value):
            headers = list(dict.fromkeys(str(k) for v in value[:500] for k in v))
            rows = [tuple(_cell(h, v.get(h), t0) if h in v else "" for h in headers) for v in value[:500]]
            items.append(_table(name, headers, rows, len(value)))
        elif isinstance(value, list) and value and all(isinstance(v, list) for v in value):
            # per request, a list of attempts (e.g. gaps, attempt events): one row per item, numbered by request
            flat = [(i + 1, v) for i, inner in enumerate(value) for v in inner][:500]
            if all(isinstance(v, Mapping) for _, v in flat):
                headers = list(dict.fromkeys(str(k) for _, v in flat for k in v))
                rows = [(str(i), *(_cell(h, v.get(h), t0) if h in v else "" for h in headers)) for i, v in flat]
                items.append(_table(name, ["request", *headers], rows, sum(len(inner) for inner in value)))
            else:
                rows = [(str(i + 1), _list_text(str(key), list(inner), t0) if inner else "none")
                        for i, inner in enumerate(value[:500])]
                items.append(_table(name, ["request", "values"], rows, len(value)))
        elif isinstance(value, list) and value and all(num(v) is not None for v in value):
            shown = value[:60]
            text = ", ".join(_value(key, v, t0) for v in shown)
            if len(value) > len(shown):
                text += f", … ({len(value)} values)"
            items.append(Evidence(name, text=text, numbers=tuple(float(v) for v in value[:200])))
        elif isinstance(value, list) and value:
            items.append(Evidence(name, text=_list_text(str(key), value, t0)))
        elif isinstance(value, Mapping):
            items.append(Evidence(name, text="none" if not value else fmt.compact(value, 400)))
        else:
            items.append(Evidence(name, text=_value(key, value, t0)))
    return tuple(items)


def _probe_check(entry: Mapping[str, Any], kind: CheckKind, masker: Masker) -> Check:
    definition = as_dict(entry.get("activity"))
    met = entry.get("tolerance_met")
    status = entry.get("status")
    error, _ = error_text(entry, masker)
    ok = met if isinstance(met, bool) else (False if status == "failed" else None)
    tolerance = masker.text(fmt.tolerance(definition.get("tolerance")))
    output = entry.get("output")
    evidence: tuple[Evidence, ...] = ()
    if isinstance(output, Mapping) and isinstance(output.get("summary"), str):
        # A probe that explains itself (squall's meets_slo, slo_report): its sentence
        # is the measured value and the rest of its numbers are the evidence.
        value = masker.text(output["summary"])
        evidence = _evidence({k: v for k, v in output.items() if k not in ("ok", "summary")}, masker, None)
    else:
        value = masker.text(fmt.compact(masker.value(output))) if "output" in entry else "—"
    if ok is True:
        summary = f"measured {value}, expected {tolerance}"
    elif error:
        summary = f"the probe failed: {error}"
    elif ok is False:
        summary = f"measured {value}, expected {tolerance}"
    else:
        summary = "did not finish" if not status else "no tolerance result recorded"
    return Check(
        name=masker.text(str(definition.get("name") or "(unnamed probe)")),
        kind=kind,
        ok=ok,
        summary=summary,
        tolerance=tolerance,
        value=value,
        start=ts(entry.get("start")),
        duration_s=num(entry.get("duration")),
        error=error,
        evidence=evidence,
    )


def _is_verifier_result(output: Any) -> bool:
    return isinstance(output, Mapping) and "verifier" in output and isinstance(output.get("ok"), bool)


def _verifier_check(name: str, result: Mapping[str, Any], masker: Masker, start: float | None,
                    duration: float | None, t0: float | None) -> Check:
    inconclusive = result.get("verdict") == "inconclusive"  # neither held nor failed: shown as inconclusive
    return Check(
        name=masker.text(name),
        kind=CheckKind.VERIFIER,
        ok=result.get("ok") if isinstance(result.get("ok"), bool) and not inconclusive else None,
        summary=masker.text(str(result.get("summary") or "")),
        tolerance=masker.text(fmt.tolerance(result["tolerance"])) if result.get("tolerance") is not None else "—",
        value=masker.text(fmt.compact(masker.value(result["value"]))) if result.get("value") is not None else "—",
        start=start,
        duration_s=duration,
        evidence=_evidence(result.get("evidence"), masker, t0),
    )


_EXT_KINDS = {
    "steady-state-before": CheckKind.BEFORE,
    "steady-state-after": CheckKind.AFTER,
    "probe": CheckKind.DURING,
    "steady-state-during": CheckKind.DURING,
    "verifier": CheckKind.VERIFIER,
}


def _aggregate_during(name: str, runs: list[Check]) -> Check:
    """One check for a probe the continuous hypothesis ran many times during the method."""
    bad = [c for c in runs if c.ok is False]
    shown = bad[0] if bad else runs[-1]
    summary = f"{len(bad)} of {len(runs)} checks during the method outside tolerance"
    if bad:
        summary += f"; first: measured {shown.value}, expected {shown.tolerance}"
    ok = False if bad else (True if all(c.ok for c in runs) else None)
    total = sum(c.duration_s or 0.0 for c in runs)
    return Check(name=name, kind=CheckKind.DURING, ok=ok, summary=summary, tolerance=shown.tolerance,
                 value=shown.value, start=runs[0].start, duration_s=total, error=shown.error,
                 evidence=(Evidence("iterations", text=str(len(runs))),
                           Evidence("outside tolerance", text=str(len(bad)))))


def checks_of(journal: Mapping[str, Any], ext: Mapping[str, Any], masker: Masker,
              t0: float | None = None) -> list[Check]:
    """Steady-state checks from the journal, then the control's checks, then verifier outputs not yet seen."""
    steady = as_dict(journal.get("steady_states"))
    checks: list[Check] = []
    for key, when in (("before", CheckKind.BEFORE), ("after", CheckKind.AFTER)):
        for entry in as_list(as_dict(steady.get(key)).get("probes")):
            checks.append(_probe_check(as_dict(entry), when, masker))
    during: dict[str, list[Check]] = {}
    for state in as_list(steady.get("during")):
        entries = as_list(as_dict(state).get("probes")) if "probes" in as_dict(state) else [state]
        for entry in entries:
            check = _probe_check(as_dict(entry), CheckKind.DURING, masker)
            during.setdefault(check.name, []).append(check)
    for name, runs in during.items():
        checks.append(_aggregate_during(name, runs))
    seen = {(c.kind, c.name) for c in checks}
    for raw in as_list(ext.get("checks")):
        item = as_dict(raw)
        kind = _EXT_KINDS.get(str(item.get("kind")))
        name = masker.text(str(item.get("name") or item.get("verifier") or "(unnamed check)"))
        if kind is None or (kind, name) in seen:
            continue
        start, end = num(item.get("start")), num(item.get("end"))
        duration = end - start if start is not None and end is not None else None
        checks.append(_verifier_check(name, item, masker, start, duration, t0) if kind is CheckKind.VERIFIER
                      else _ext_probe_check(name, kind, item, masker, start, duration, t0))
        seen.add((kind, name))
    for entry in map(as_dict, as_list(journal.get("run"))):
        definition = as_dict(entry.get("activity"))
        output = as_dict(entry.get("output"))
        module = str(as_dict(definition.get("provider")).get("module") or "")
        is_result = _is_verifier_result(output)
        if not is_result and not module.startswith("squall.verify"):
            continue
        name = masker.text(str(definition.get("name") or module or "verifier"))
        if is_result:
            result: Mapping[str, Any] = output
            also = masker.text(str(output["verifier"]))
        elif module.startswith("squall.verify") and entry.get("status") == "failed":
            result = {"ok": False, "summary": f"the verifier could not run: {error_text(entry, masker)[0]}"}
            also = name
        else:
            continue
        if (CheckKind.VERIFIER, name) in seen or (CheckKind.VERIFIER, also) in seen:
            continue
        checks.append(_verifier_check(name, result, masker, ts(entry.get("start")),
                                      num(entry.get("duration")), t0))
        seen.add((CheckKind.VERIFIER, name))
    return checks


def _ext_probe_check(name: str, kind: CheckKind, item: Mapping[str, Any], masker: Masker,
                     start: float | None, duration: float | None, t0: float | None) -> Check:
    base = _verifier_check(name, item, masker, start, duration, t0)
    return Check(name=base.name, kind=kind, ok=base.ok, summary=base.summary, tolerance=base.tolerance,
                 value=base.value, start=start, duration_s=duration, evidence=base.evidence)
