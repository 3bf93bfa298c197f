"""The one tolerant reader of run outcomes: squall journals, plain Chaos Toolkit journals, older and crashed ones.

A journal written with the squall control carries its verdict, reason and
checks in ``extensions[name == "squall"]`` (docs/internals.md); that verdict
was decided by ``squall.outcome.decide`` when the run ended and is read back
as it is. A journal without it (no control declared, an older squall, a run
that crashed before the control wrote anything) is judged from Chaos
Toolkit's own fields with the same precedence: aborted > inconclusive >
failed > passed. The reader never raises on a journal's content; it raises
``NotAJournal`` only through ``require_journal`` for input that is no journal
at all.
"""

import json
import math
from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from squall.errors import ExperimentInvalid, SquallError
from squall.outcome.decide import Findings, decide
from squall.outcome.record import CHECK_KINDS, Check, RunRecord, Verdict
from squall.outcome.score import score

#: keys of which a Chaos Toolkit journal has at least one beside its "experiment"
_JOURNAL_KEYS = ("chaoslib-version", "run", "status", "steady_states", "rollbacks", "start", "deviated")


class NotAJournal(ExperimentInvalid):
    """The input is not a Chaos Toolkit journal at all (exit code 4)."""


def as_dict(value: Any) -> Mapping[str, Any]:
    """The value if it is a mapping, else an empty one (journals may have any shape)."""
    return value if isinstance(value, Mapping) else {}


def as_list(value: Any) -> list[Any]:
    """The value as a list if it is a list or tuple, else an empty list."""
    return list(value) if isinstance(value, (list, tuple)) else []


def num(value: Any) -> float | None:
    """The value as a float if it is a finite number (not a bool, NaN, infinite or too big for a float), else None."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    try:
        f = float(value)
    except OverflowError:  # an int of hundreds of digits (JSON allows it): no number a run recorded
        return None
    return f if math.isfinite(f) else None


def _ts(value: Any) -> float | None:
    if isinstance(value, str) and value:
        try:
            parsed = datetime.fromisoformat(value)
        except ValueError:
            return None
        if parsed.tzinfo is None:  # Chaos Toolkit before 1.x wrote naive UTC times
            parsed = parsed.replace(tzinfo=UTC)
        return parsed.timestamp()
    return num(value)


def _text(value: Any, limit: int = 2000) -> str:
    if value is None:
        return ""
    if isinstance(value, str):
        return value[:limit]
    try:
        return str(value)[:limit]
    except (RecursionError, ValueError):  # a hostile journal's value nested thousands deep, or an int too long
        return "(unreadable)"


def squall_extension(journal: Any) -> Mapping[str, Any]:
    """The control's entry of ``journal["extensions"]``, or an empty mapping."""
    for entry in as_list(as_dict(journal).get("extensions")):
        if isinstance(entry, Mapping) and entry.get("name") == "squall":
            return entry
    return {}


def is_journal(data: Any) -> bool:
    """True when ``data`` looks like a Chaos Toolkit journal (crashed and plain ones included)."""
    if not isinstance(data, Mapping):
        return False
    if squall_extension(data):
        return True
    return isinstance(data.get("experiment"), Mapping) and any(k in data for k in _JOURNAL_KEYS)


def require_journal(data: Any, source: str = "input") -> Mapping[str, Any]:
    """``data`` if it is a journal, else ``NotAJournal`` naming what was expected."""
    if is_journal(data):
        return data  # type: ignore[no-any-return]
    if isinstance(data, Mapping):
        keys = ", ".join(sorted(map(str, data))[:8]) or "no keys"
        found = f"an object with {keys}"
    else:
        found = f"a JSON {type(data).__name__}"
    raise NotAJournal(
        f"{source} is not a Chaos Toolkit journal: found {found} (expected the journal.json that "
        '`chaos run` writes: an object with "experiment" and "run"/"status"/"steady_states")'
    )


def _failure(entry: Mapping[str, Any]) -> str:
    exc = entry.get("exception")
    lines = as_list(exc) if isinstance(exc, list) else ([exc] if exc else [])
    text = _text(lines[-1]).strip() if lines else ""
    return text.splitlines()[-1] if text else "no detail"


def _is_heal(activity: Mapping[str, Any]) -> bool:
    """A method action that removes a fault: its failure does not mean a fault was never injected."""
    provider = as_dict(activity.get("provider"))
    if provider.get("type") != "python":
        return False
    try:
        from squall.activity import role_of  # roles are declared on squall's activities
    except ImportError:
        return False
    return bool(role_of(str(provider.get("module") or ""), str(provider.get("func") or "")) == "heal")


def checks_of(ext: Mapping[str, Any]) -> tuple[Check, ...]:
    """The checks the control wrote into its journal extension, read tolerantly."""
    out = []
    for raw in as_list(ext.get("checks")):
        item = as_dict(raw)
        if not item:
            continue
        kind = str(item.get("kind") or "probe")
        verdict = item.get("verdict")
        if verdict not in tuple(Verdict) and isinstance(as_dict(item.get("evidence")).get("verdict"), str):
            verdict = None
        ok = item.get("ok") if isinstance(item.get("ok"), bool) else None
        if verdict == Verdict.INCONCLUSIVE:
            ok = None
        out.append(Check(
            name=_text(item.get("name") or item.get("verifier") or "check", 200),
            kind=kind if kind in CHECK_KINDS else "probe",
            ok=ok,
            summary=_text(item.get("summary")),
            verdict=Verdict(verdict) if verdict in tuple(Verdict) else None,
        ))
    return tuple(out)


def _short(value: Any, limit: int = 120) -> str:
    try:
        text = value if isinstance(value, str) else json.dumps(value, default=str, allow_nan=True)
    except (TypeError, ValueError, RecursionError):
        text = "(unreadable)"
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _tolerance(tol: Any) -> str:
    """A tolerance as a sentence fragment: ``== false``, ``one of [200, 201]``, ``in [0, 300]``."""
    if isinstance(tol, (bool, int, float, str)) or tol is None:
        return f"== {_short(tol)}"
    if isinstance(tol, list):
        return "one of " + _short(tol)
    bounds = as_list(as_dict(tol).get("range"))
    if as_dict(tol).get("type") == "range" and len(bounds) == 2:
        return f"in [{_short(bounds[0])}, {_short(bounds[1])}]"
    return _short(tol)


def _probe(entry: Mapping[str, Any], kind: str) -> Check:
    activity = as_dict(entry.get("activity"))
    name = _text(activity.get("name") or "probe", 200)
    met = entry.get("tolerance_met")
    status = entry.get("status")
    if status == "failed":
        return Check(name, kind, False, f"failed: {_failure(entry)}")
    ok = met if isinstance(met, bool) else None
    if ok is None:
        return Check(name, kind, None, "no tolerance result recorded")
    output = as_dict(entry.get("output"))
    measured = output["summary"] if isinstance(output.get("summary"), str) else _short(entry.get("output"))
    return Check(name, kind, ok, f"measured {measured}, expected {_tolerance(activity.get('tolerance'))}")


def _verifier(entry: Mapping[str, Any]) -> Check | None:
    activity = as_dict(entry.get("activity"))
    module = str(as_dict(activity.get("provider")).get("module") or "")
    output = as_dict(entry.get("output"))
    name = _text(activity.get("name") or output.get("verifier") or "verifier", 200)
    if isinstance(output.get("ok"), bool) and "verifier" in output:
        verdict = output.get("verdict")
        if verdict == Verdict.INCONCLUSIVE:
            return Check(name, "verifier", None, _text(output.get("summary")), Verdict.INCONCLUSIVE)
        return Check(name, "verifier", bool(output["ok"]), _text(output.get("summary")))
    if module.startswith("squall.verify") and entry.get("status") == "failed":
        return Check(name, "verifier", False, f"the verifier could not run: {_failure(entry)}")
    return None


def _plain_checks(journal: Mapping[str, Any]) -> tuple[Check, ...]:
    steady = as_dict(journal.get("steady_states"))
    checks = [_probe(as_dict(e), "steady-state-before") for e in as_list(as_dict(steady.get("before")).get("probes"))]
    during: dict[str, list[Check]] = {}
    for state in as_list(steady.get("during")):
        entries = as_list(as_dict(state).get("probes")) if "probes" in as_dict(state) else [state]
        for entry in entries:
            check = _probe(as_dict(entry), "steady-state-during")
            during.setdefault(check.name, []).append(check)
    for name, runs in during.items():
        bad = [c for c in runs if c.ok is False]
        ok = False if bad else (True if all(c.ok for c in runs) else None)
        checks.append(Check(name, "steady-state-during", ok,
                            f"{len(bad)} of {len(runs)} checks during the method outside tolerance"))
    checks += [_probe(as_dict(e), "steady-state-after") for e in as_list(as_dict(steady.get("after")).get("probes"))]
    checks += [c for e in as_list(journal.get("run")) if (c := _verifier(as_dict(e))) is not None]
    return tuple(checks)


def _plain_findings(journal: Mapping[str, Any], checks: tuple[Check, ...]) -> Findings:
    status = journal.get("status")
    if status in ("aborted", "interrupted"):
        return Findings(aborted=[f"the run was {status} before it finished; rollbacks ran where declared"])
    runs = [as_dict(e) for e in as_list(journal.get("run"))]
    if not status:
        where = ""
        if runs:
            where = f' after "{_text(as_dict(runs[-1].get("activity")).get("name"), 200)}"'
        return Findings(inconclusive=[
            f"the journal ends without a status{where}: the run crashed or was killed halfway, "
            "so nothing can be concluded"])
    inconclusive = []
    for entry in runs:
        activity = as_dict(entry.get("activity"))
        if activity.get("type") == "action" and entry.get("status") == "failed" and not _is_heal(activity):
            inconclusive.append(f'action "{_text(activity.get("name"), 200)}" failed ({_failure(entry)}), '
                                "so its fault may never have been injected")
    failed = []
    for kind, when in (("steady-state-before", "did not hold before any fault was injected"),
                       ("steady-state-during", "deviated during the method"),
                       ("steady-state-after", "deviated after the method")):
        bad = next((c for c in checks if c.kind == kind and c.ok is False), None)
        if bad is not None:
            failed.append(f'the steady state {when}: probe "{bad.name}" {bad.summary}')
    failed += [f'verifier "{c.name}" failed: {c.summary}' for c in checks if c.kind == "verifier" and c.ok is False]
    inconclusive += [f'verifier "{c.name}" could not decide: {c.summary}' for c in checks
                     if c.kind == "verifier" and c.verdict is Verdict.INCONCLUSIVE]
    if journal.get("deviated") is True and not failed:
        failed.append("Chaos Toolkit reports that the steady state deviated")
    if status == "failed" and not failed and not inconclusive:
        failed.append("Chaos Toolkit marked the run failed")
    elif status not in ("completed", "failed"):
        inconclusive.append(f"chaos run ended with status {_text(status, 40)!r}")
    return Findings(inconclusive=inconclusive, failed=failed)


def _passed_reason(checks: tuple[Check, ...]) -> str:
    probes = sum(1 for c in checks if c.kind != "verifier")
    verifiers = sum(1 for c in checks if c.kind == "verifier")
    if not probes and not verifiers:
        return "the run completed; it declared no steady-state probe or verifier to check"
    parts = [f"every steady-state check held ({probes})"] if probes else []
    if verifiers:
        parts.append(f"every verifier passed ({verifiers})")
    return " and ".join(parts)


def from_journal(journal: Any, *, returncode: int | None = None) -> RunRecord:
    """The run record of a journal of any shape (None: the run wrote no journal); never raises."""
    if not isinstance(journal, Mapping):
        why = (f"chaos exited with code {returncode} without writing a journal" if returncode is not None
               else "no journal was written")
        return RunRecord(Verdict.INCONCLUSIVE, why, source="none")
    experiment = as_dict(journal.get("experiment"))
    ext = squall_extension(journal)
    title = _text(experiment.get("title"), 500)
    started = num(ext.get("started")) or _ts(journal.get("start"))
    ended = num(ext.get("ended")) or _ts(journal.get("end"))
    fragile = ext.get("fragile") is True
    if ext.get("verdict") in tuple(Verdict):
        verdict = Verdict(str(ext["verdict"]))
        checks = checks_of(ext) or _plain_checks(journal)  # an extension without checks: read them from the run
        reason = _text(ext.get("reason")) or f"the squall control judged this run {verdict}"
        return RunRecord(verdict, reason, checks, score(verdict, checks), title, _text(ext.get("run_id"), 100),
                         started, ended, "squall", fragile)
    checks = _plain_checks(journal)
    verdict, reason = decide(_plain_findings(journal, checks), _passed_reason(checks))
    return RunRecord(verdict, reason, checks, score(verdict, checks), title, _text(ext.get("run_id"), 100),
                     started, ended, "chaostoolkit", fragile)


def read_journal_file(path: Path) -> dict[str, Any] | None:
    """The journal a run wrote at ``path``, or None when it is missing or not a JSON object."""
    from squall.loader import load_journal  # regular file, size, depth and UTF-8 limits; NaN allowed

    try:
        data = load_journal(path)
    except SquallError:
        return None
    return data if isinstance(data, dict) else None
