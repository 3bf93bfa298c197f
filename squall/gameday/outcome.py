"""Read one experiment's outcome (verdict, reason, checks) from its Chaos Toolkit journal.

The control writes the verdict and checks into ``extensions[name == "squall"]``
(see docs/internals.md). Journals without that extension (the control was not
declared, or an older run) fall back to Chaos Toolkit's own fields:
interrupted/aborted status -> aborted; a failed or deviated steady state ->
failed; an action of the method that failed (the fault was not injected) ->
inconclusive; otherwise passed. No journal at all -> inconclusive.
"""

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from squall.gameday.score import VERDICTS, Check, Verdict


@dataclass(frozen=True)
class Outcome:
    """What one experiment run concluded."""

    verdict: Verdict
    reason: str
    checks: tuple[Check, ...]
    title: str = ""


def read_journal(path: Path) -> dict[str, Any] | None:
    """The journal as a dict, or None if it is missing or not JSON."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def squall_extension(journal: dict[str, Any]) -> dict[str, Any] | None:
    """The control's extension of a journal, if present."""
    for ext in journal.get("extensions") or []:
        if isinstance(ext, dict) and ext.get("name") == "squall":
            return ext
    return None


def outcome_of(journal: dict[str, Any] | None, *, returncode: int | None = None) -> Outcome:
    """The verdict, reason and checks of a journal (None = the run wrote no journal)."""
    if journal is None:
        why = f"chaos exited with code {returncode} without writing a journal" if returncode is not None else "no journal was written"
        return Outcome("inconclusive", why, ())
    title = str((journal.get("experiment") or {}).get("title") or "")
    ext = squall_extension(journal)
    if ext is not None and ext.get("verdict") in VERDICTS:
        checks = tuple(
            Check(
                name=str(c.get("name") or "check"),
                kind=str(c.get("kind") or "probe"),
                ok=bool(c.get("ok")),
                summary=str(c.get("summary") or ""),
            )
            for c in ext.get("checks") or []
            if isinstance(c, dict)
        )
        return Outcome(ext["verdict"], str(ext.get("reason") or ""), checks, title)
    return _fallback(journal, title)


def _fallback(journal: dict[str, Any], title: str) -> Outcome:
    checks = []
    for phase in ("before", "after"):
        state = (journal.get("steady_states") or {}).get(phase) or {}
        for probe in state.get("probes") or []:
            name = str(((probe.get("activity") or {}).get("name")) or "probe")
            ok = probe.get("tolerance_met") is True and probe.get("status") == "succeeded"
            checks.append(Check(name, f"steady-state-{phase}", ok, "tolerance met" if ok else "tolerance not met"))
    status = journal.get("status")
    if status in ("interrupted", "aborted"):
        return Outcome("aborted", f"the run was {status}", tuple(checks), title)
    failed_checks = [c for c in checks if not c.ok]
    if journal.get("deviated") or status == "failed" or failed_checks:
        names = ", ".join(f"{c.name} ({c.kind})" for c in failed_checks) or "the steady state"
        return Outcome("failed", f"steady state not met: {names}", tuple(checks), title)
    for run in journal.get("run") or []:
        activity = run.get("activity") or {}
        if activity.get("type") == "action" and run.get("status") == "failed":
            err = str(run.get("exception") or "")
            err = err.strip().splitlines()[-1] if err.strip() else "it raised"
            if isinstance(run.get("exception"), list) and run["exception"]:
                err = str(run["exception"][-1]).strip()
            return Outcome("inconclusive", f'action "{activity.get("name")}" failed, so the fault was not injected: {err}', tuple(checks), title)
    if status != "completed":
        return Outcome("inconclusive", f"chaos run ended with status {status!r}", tuple(checks), title)
    return Outcome("passed", "the steady state held", tuple(checks), title)
