"""Checks, fault windows, observed faults and the honest verdict of a run.

Verdict precedence (docs/internals.md): aborted > inconclusive > failed > passed.
"""

import logging
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

from squall.activity import role_of
from squall.errors import SquallError
from squall.ledger import Entry
from squall.toxiproxy_client import ToxiproxyClient

logger = logging.getLogger("chaostoolkit.squall")

Verdict = Literal["passed", "failed", "aborted", "inconclusive"]
CheckKind = Literal["steady-state-before", "steady-state-during", "steady-state-after", "verifier", "probe"]

VERIFY_PREFIX = "squall.verify"
ACTIONS_PREFIX = "squall.actions"


def iso_to_ts(value: Any) -> float | None:
    """Unix time of a Chaos Toolkit ISO timestamp (None if absent or odd)."""
    if not isinstance(value, str):
        return None
    try:
        return datetime.fromisoformat(value).timestamp()
    except ValueError:
        return None


def provider_of(activity: Mapping[str, Any]) -> tuple[str, str]:
    """(module, func) of a python activity, ("", "") otherwise."""
    provider = activity.get("provider") or {}
    if provider.get("type") != "python":
        return "", ""
    return str(provider.get("module") or ""), str(provider.get("func") or "")


def _failure_text(run: Mapping[str, Any]) -> str:
    lines = run.get("exception") or []
    text = str(lines[-1]).strip() if lines else "no detail"
    return text.splitlines()[-1] if text else "no detail"


def steady_state_check(run: Mapping[str, Any], kind: CheckKind) -> dict[str, Any]:
    """A steady-state probe run as a check."""
    activity = run.get("activity") or {}
    name = str(activity.get("name") or "probe")
    failed = run.get("status") != "succeeded"
    ok = bool(run.get("tolerance_met", not failed)) and not failed
    if failed:
        summary = f"probe {name} failed: {_failure_text(run)}"
    elif ok:
        summary = f"{name} within tolerance"
    else:
        summary = f"{name} outside its tolerance"
    return {
        "name": name,
        "kind": kind,
        "ok": ok,
        "summary": summary,
        "evidence": {},
        "tolerance": activity.get("tolerance"),
        "value": run.get("output"),
        "start": iso_to_ts(run.get("start")),
        "end": iso_to_ts(run.get("end")),
    }


def verifier_check(run: Mapping[str, Any]) -> dict[str, Any]:
    """A squall.verify run as a check with its verdict (passed / failed / inconclusive).

    A verifier that crashed or returned no result is a failed check; a result
    without ``verdict`` (an older squall) is read from ``ok``.
    """
    activity = run.get("activity") or {}
    name = str(activity.get("name") or "verifier")
    output = run.get("output")
    evidence: dict[str, Any]
    if run.get("status") != "succeeded":
        ok, summary, evidence = False, f"verifier {name} could not run: {_failure_text(run)}", {}
    elif not isinstance(output, Mapping) or not isinstance(output.get("ok"), bool):
        ok, summary, evidence = False, f"verifier {name} returned no result (expected a mapping with ok)", {}
    else:
        ok = bool(output["ok"])
        summary = str(output.get("summary") or ("passed" if ok else "failed"))
        evidence = dict(output.get("evidence") or {})
    said = output.get("verdict") if isinstance(output, Mapping) and run.get("status") == "succeeded" else None
    verdict = "inconclusive" if said == "inconclusive" else ("passed" if ok else "failed")
    return {
        "name": name,
        "kind": "verifier",
        "ok": ok and verdict == "passed",
        "verdict": verdict,
        "summary": summary,
        "evidence": evidence,
        "tolerance": None,
        "value": None,
        "start": iso_to_ts(run.get("start")),
        "end": iso_to_ts(run.get("end")),
    }


def failed_fault_action(run: Mapping[str, Any]) -> str | None:
    """Why a failed method action means its fault was never injected (None if it ran, or declares another role).

    The role is the one the action declares (``squall.activity.role_of``), never a
    guess from its name: a failed ``inject`` makes the run inconclusive, a failed
    ``heal`` (or probe, or verifier used as an action) does not. An action that
    declares no role (a user's own, another extension's) may have injected a fault,
    so its failure counts as a fault never injected.
    """
    activity = run.get("activity") or {}
    if activity.get("type") != "action" or run.get("status") == "succeeded":
        return None
    module, func = provider_of(activity)
    role = role_of(module, func) if module else None
    if role is not None and role != "inject":
        return None
    return f'action "{activity.get("name")}" failed ({_failure_text(run)}), so its fault was never injected'


def fault_windows(entries: Iterable[Entry]) -> list[dict[str, Any]]:
    """The run's ledger entries as fault windows."""
    return [
        {
            "id": e.id,
            "kind": e.kind,
            "description": e.description,
            "start": e.applied_at,
            "end": e.struck_at,
            "outcome": e.outcome or "still-in-place",
        }
        for e in entries
    ]


@dataclass
class TrafficWatch:
    """Counts traffic the embedded proxy saw while each toxiproxy fault was active."""

    #: (url, proxy) -> [(unix time, connections opened + refused)]
    counters: dict[tuple[str, str], list[tuple[float, int]]] = field(default_factory=dict)

    def snapshot(self, entries: Iterable[Entry]) -> None:
        """Record the connection counters of every proxy with an open toxiproxy fault."""
        for key in {(str(e.undo.get("url")), str(e.undo.get("proxy"))) for e in entries if _is_proxy_fault(e)}:
            stats = _stats(*key, since=None)
            if stats is not None:
                conns = stats.get("connections") or {}
                self.counters.setdefault(key, []).append((time.time(), int(conns.get("opened", 0)) + int(conns.get("refused", 0))))

    def observed(self, entry: Entry) -> int | None:
        """Requests or connections seen on the proxy during the fault window; None if it cannot be known.

        A partition (a disabled proxy) is never counted: the proxy stops listening,
        so connection attempts are refused by the kernel and never reach it. The
        API's confirmation that the proxy is disabled is the evidence it was injected.
        """
        if not _is_proxy_fault(entry) or entry.kind == "toxiproxy.disabled":
            return None
        url, proxy = str(entry.undo.get("url")), str(entry.undo.get("proxy"))
        stats = _stats(url, proxy, since=entry.applied_at)
        if stats is None:
            return None
        end = entry.struck_at or time.time()
        events = ((stats.get("http") or {}).get("events")) or []
        seen = sum(1 for ev in events if entry.applied_at <= float(ev.get("ts", 0)) <= end)
        # connections on which no request head arrived (reset_peer with timeout 0 resets them first)
        conns = [c for c in stats.get("conn_events") or [] if isinstance(c, dict) and not c.get("requests")]
        seen += sum(1 for c in conns if entry.applied_at <= float(c.get("ts") or 0) <= end)
        if seen:
            return seen
        points = [c for t, c in self.counters.get((url, proxy), []) if entry.applied_at <= t <= end + 0.5]
        return max(points) - min(points) if len(points) >= 2 else 0


def _is_proxy_fault(entry: Entry) -> bool:
    return entry.kind in ("toxiproxy.toxic", "toxiproxy.disabled") and bool(entry.undo.get("url")) and bool(entry.undo.get("proxy"))


def _stats(url: str, proxy: str, since: float | None) -> dict[str, Any] | None:
    """The embedded proxy's stats of a proxy; None for toxiproxy-server or when unreachable."""
    try:
        with ToxiproxyClient(url, timeout_s=2.0) as client:
            if not client.is_embedded():
                return None
            return client.stats(proxy, since=since)
    except SquallError as exc:
        logger.info("squall: cannot read traffic stats of %s at %s: %s", proxy, url, exc)
        return None


def faults_observed(entries: Iterable[Entry], watch: TrafficWatch | None) -> list[dict[str, Any]]:
    """For each fault: was it injected, and how much traffic did it meet (None = unknown)."""
    out = []
    for e in entries:
        injected = e.outcome != "failed-to-apply"
        traffic = watch.observed(e) if (watch is not None and injected) else None
        out.append({"fault": e.description, "injected": injected, "observed_traffic": traffic})
    return out

