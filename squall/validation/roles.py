"""`squall validate` warnings from the roles activities declare: what an experiment injects, heals and checks.

Warnings never change the exit code; they point at experiments that would run
but could not tell the truth: a method that injects a fault with nothing to
check the service, a verifier that runs before any fault is in place, a
rollback that injects a fault instead of removing one.
"""

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from squall.activity import Role, role_of

__all__ = ["role_warnings", "role_warnings_of"]


def _role(activity: Any) -> Role | None:
    provider = activity.get("provider") if isinstance(activity, Mapping) else None
    if not isinstance(provider, Mapping) or provider.get("type") != "python":
        return None
    return role_of(str(provider.get("module") or ""), str(provider.get("func") or ""))


def _name(activity: Any) -> str:
    return str(activity.get("name") or "(unnamed)") if isinstance(activity, Mapping) else "(unnamed)"


def _call(activity: Mapping[str, Any]) -> str:
    provider = activity.get("provider") or {}
    return f'{provider.get("module")}.{provider.get("func")}'


def role_warnings(doc: Any) -> list[str]:
    """Warnings about an experiment document, from its activities' declared roles (empty if it is not one)."""
    if not isinstance(doc, Mapping) or not isinstance(doc.get("method"), list):
        return []
    method = [a for a in doc["method"] if isinstance(a, Mapping)]
    rollbacks = [a for a in doc.get("rollbacks") or [] if isinstance(a, Mapping)]
    hypothesis = doc.get("steady-state-hypothesis")
    probes = hypothesis.get("probes") if isinstance(hypothesis, Mapping) else None
    out: list[str] = []
    injects = [a for a in method if _role(a) == "inject"]
    verifies = [a for a in method if _role(a) == "verify"]
    if injects and not verifies and not probes:
        names = ", ".join(f'"{_name(a)}"' for a in injects)
        out.append(f"the method injects faults ({names}) but nothing checks the service: no squall.verify "
                   "activity in the method and no steady-state-hypothesis to check it after (expected at least one)")
    for activity in method:
        role = _role(activity)
        if role == "inject" or (role is None and activity.get("type") == "action"):
            break  # a fault is (or may be) in place from here on
        if role == "verify":
            out.append(f'verifier "{_name(activity)}" runs before any fault is injected, so it checks the healthy '
                       "service (expected it after the action that injects the fault)")
    for activity in rollbacks:
        if _role(activity) == "inject":
            out.append(f'rollback "{_name(activity)}" injects a fault ({_call(activity)}); rollbacks remove faults '
                       "(expected a heal action such as squall.actions.toxiproxy.heal)")
    return out


def role_warnings_of(path: Path | str) -> list[str]:
    """The role warnings of an experiment file; none for a file that does not load or is not an experiment."""
    from squall.validation.experiment import load_document  # roles.py is imported by experiment.py's package

    try:
        doc, _ = load_document(Path(path))
    except Exception:  # noqa: BLE001 - a file that does not load has no warnings; validate reports why
        return []
    return role_warnings(doc)
