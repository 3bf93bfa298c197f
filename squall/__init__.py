"""squall: a chaos-assisted resilience test runner built on Chaos Toolkit.

The public face is small on purpose; activities live in ``squall.actions``,
``squall.probes`` and ``squall.verify`` and are addressed by module path from
experiment files.
"""

from typing import Any

from squall.errors import (
    ExperimentInvalid,
    GuardrailRefused,
    KubernetesError,
    LedgerError,
    ReportError,
    SquallError,
    ToxiproxyAPIError,
    ToxiproxyError,
    ToxiproxyUnreachable,
)

__version__ = "0.1.0"

__all__ = [
    "ExperimentInvalid",
    "GuardrailRefused",
    "KubernetesError",
    "LedgerError",
    "ReportError",
    "SquallError",
    "ToxiproxyAPIError",
    "ToxiproxyError",
    "ToxiproxyUnreachable",
    "__version__",
    "discover",
]

#: Modules whose ``__all__`` functions are Chaos Toolkit activities.
ACTIVITY_MODULES: dict[str, str] = {
    "squall.actions.toxiproxy": "action",
    "squall.actions.process": "action",
    "squall.actions.kubernetes": "action",
    "squall.probes.sli": "probe",
    "squall.probes.prometheus": "probe",
    "squall.probes.proxy": "probe",
    "squall.probes.kubernetes": "probe",
    "squall.verify": "probe",
}


def discover(discover_system: bool = True) -> dict[str, Any]:
    """Describe squall's activities for ``chaos discover squall``."""
    import importlib.util

    from chaoslib.discovery.discover import discover_activities, initialize_discovery_result

    from squall.activity import role_of

    discovery = initialize_discovery_result("squall", __version__, "squall")
    for module, kind in ACTIVITY_MODULES.items():
        if importlib.util.find_spec(module) is None:
            continue
        for item in discover_activities(module, kind):
            item["role"] = role_of(module, str(item.get("name")))  # inject, heal, probe or verify
            discovery["activities"].append(item)
    return dict(discovery)
