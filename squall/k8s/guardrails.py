"""Safety guardrails every Kubernetes action passes before it changes anything.

Read from the experiment's configuration:

- ``k8s_namespace_allowlist``: namespaces squall may change (a list, or a
  comma-separated string). Required: with no allowlist every action is refused.
  ``"*"`` allows every namespace except the system ones (kube-system,
  kube-public, kube-node-lease), which must always be named explicitly.
- ``k8s_max_pods`` (default 10): most pods one action may kill or scale away.
- ``k8s_max_fraction`` (default 0.5): largest fraction of the matching pods
  one action may kill or scale away (when more than one pod matches).
- ``k8s_allow_last_replica`` (default false): allow an action that leaves no
  pod of the selection (killing the only replica, scaling to 0).
- ``k8s_dry_run`` (default false): every action only reports what it would do.
- ``k8s_max_scale_factor`` (default 10): ``scale`` may raise a deployment to at
  most this many times its current count (from 0: to this many); ``scale``'s
  own ``max_replicas`` argument (default 50) caps the count itself.
- ``k8s_partition_max_fraction`` (default 0.8): largest fraction of the
  namespace's pods a ``partition`` may cut off (its ``from_selector`` pods).
- ``k8s_allow_whole_namespace`` (default false): allow a ``partition`` whose
  selector matches every pod of the namespace, or more than the fraction above.

Every refusal raises ``GuardrailRefused`` naming the value and the setting.
"""

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from squall.errors import ExperimentInvalid, GuardrailRefused

SYSTEM_NAMESPACES = frozenset({"kube-system", "kube-public", "kube-node-lease"})
DEFAULT_MAX_PODS = 10
DEFAULT_MAX_FRACTION = 0.5
DEFAULT_MAX_SCALE_FACTOR = 10.0
DEFAULT_PARTITION_MAX_FRACTION = 0.8


@dataclass(frozen=True)
class Guardrails:
    """The guardrail settings of one experiment."""

    namespace_allowlist: tuple[str, ...] | None = None
    max_pods: int = DEFAULT_MAX_PODS
    max_fraction: float = DEFAULT_MAX_FRACTION
    allow_last_replica: bool = False
    dry_run: bool = False
    max_scale_factor: float = DEFAULT_MAX_SCALE_FACTOR
    partition_max_fraction: float = DEFAULT_PARTITION_MAX_FRACTION
    allow_whole_namespace: bool = False

    @classmethod
    def from_configuration(cls, configuration: Mapping[str, Any] | None) -> "Guardrails":
        """Read the ``k8s_*`` guardrail keys; a bad value raises ``ExperimentInvalid``."""
        cfg = configuration or {}
        raw = cfg.get("k8s_namespace_allowlist")
        allow: tuple[str, ...] | None
        if raw is None or raw == "":
            allow = None
        elif isinstance(raw, str):
            allow = tuple(p.strip() for p in raw.split(",") if p.strip())
        elif isinstance(raw, list | tuple) and all(isinstance(p, str) for p in raw):
            allow = tuple(raw)
        else:
            raise ExperimentInvalid(
                f"k8s_namespace_allowlist is {raw!r} (expected a list of namespace names)"
            )
        max_pods = _number(cfg, "k8s_max_pods", DEFAULT_MAX_PODS, int)
        if max_pods < 1:
            raise ExperimentInvalid(f"k8s_max_pods is {max_pods} (expected an integer >= 1)")
        max_fraction = _number(cfg, "k8s_max_fraction", DEFAULT_MAX_FRACTION, float)
        if not 0 < max_fraction <= 1:
            raise ExperimentInvalid(f"k8s_max_fraction is {max_fraction} (expected a number in (0, 1])")
        max_scale_factor = _number(cfg, "k8s_max_scale_factor", DEFAULT_MAX_SCALE_FACTOR, float)
        if not 1 <= max_scale_factor < float("inf"):
            raise ExperimentInvalid(f"k8s_max_scale_factor is {max_scale_factor} (expected a number >= 1)")
        partition_max = _number(cfg, "k8s_partition_max_fraction", DEFAULT_PARTITION_MAX_FRACTION, float)
        if not 0 < partition_max <= 1:
            raise ExperimentInvalid(f"k8s_partition_max_fraction is {partition_max} (expected a number in (0, 1])")
        return cls(
            namespace_allowlist=allow,
            max_pods=int(max_pods),
            max_fraction=float(max_fraction),
            allow_last_replica=flag(cfg.get("k8s_allow_last_replica", False), "k8s_allow_last_replica"),
            dry_run=flag(cfg.get("k8s_dry_run", False), "k8s_dry_run"),
            max_scale_factor=float(max_scale_factor),
            partition_max_fraction=float(partition_max),
            allow_whole_namespace=flag(cfg.get("k8s_allow_whole_namespace", False), "k8s_allow_whole_namespace"),
        )

    def is_dry_run(self, dry_run: object) -> bool:
        """True if the action's ``dry_run`` argument or ``k8s_dry_run`` asks for a dry run."""
        return flag(dry_run, "dry_run") or self.dry_run

    def check_namespace(self, ns: str) -> None:
        """Refuse a namespace that is not allowed."""
        if not ns:
            raise GuardrailRefused("namespace is empty (expected the namespace to act in)")
        allow = self.namespace_allowlist
        if allow is None:
            raise GuardrailRefused(
                f'namespace "{ns}" refused: no k8s_namespace_allowlist is configured '
                f'(add one to the experiment configuration, e.g. k8s_namespace_allowlist: ["{ns}"])'
            )
        if ns in allow:
            return
        shown = ", ".join(allow) or "(empty)"
        if ns in SYSTEM_NAMESPACES:
            raise GuardrailRefused(
                f'namespace "{ns}" refused: system namespaces must be named in k8s_namespace_allowlist '
                f"(allowlist: {shown})"
            )
        if "*" in allow:
            return
        raise GuardrailRefused(f'namespace "{ns}" is not in k8s_namespace_allowlist (allowlist: {shown})')

    def check_removal(self, what: str, removing: int, of_total: int) -> None:
        """Refuse removing ``removing`` of ``of_total`` pods/replicas beyond the blast-radius cap."""
        if removing <= 0:
            return
        if removing >= of_total and not self.allow_last_replica:
            left = "the only replica" if of_total == 1 else f"all {of_total} replicas"
            raise GuardrailRefused(
                f"{what}: refusing to remove {left} (nothing would be left serving); "
                "set k8s_allow_last_replica: true to allow it"
            )
        if removing > self.max_pods:
            raise GuardrailRefused(
                f"{what}: {removing} pods exceed the blast-radius cap k8s_max_pods={self.max_pods}"
            )
        if of_total > 1 and removing / of_total > self.max_fraction:
            raise GuardrailRefused(
                f"{what}: {removing} of {of_total} pods ({removing / of_total:.0%}) exceed the "
                f"blast-radius cap k8s_max_fraction={self.max_fraction:g}"
            )


    def check_scale_up(self, what: str, replicas: int, previous: int, max_replicas: int) -> None:
        """Refuse scaling to more than ``max_replicas`` or more than ``k8s_max_scale_factor`` times the current count."""
        if replicas <= previous:
            return
        if replicas > max_replicas:
            raise GuardrailRefused(
                f"{what}: {replicas} replicas exceed the cap max_replicas={max_replicas} "
                "(pass a higher max_replicas to the action to allow it)"
            )
        limit = int(max(previous, 1) * self.max_scale_factor)
        if replicas > limit:
            raise GuardrailRefused(
                f"{what}: {replicas} replicas are more than k8s_max_scale_factor={self.max_scale_factor:g} "
                f"times the current {previous} (at most {limit}); raise k8s_max_scale_factor to allow it"
            )

    def check_partition(self, what: str, matched: int, of_namespace: int) -> None:
        """Refuse a partition cutting off every pod of the namespace, or more than ``k8s_partition_max_fraction`` of them."""
        if self.allow_whole_namespace or matched == 0 or of_namespace == 0:
            return
        if matched >= of_namespace:
            raise GuardrailRefused(
                f"{what}: the selector matches every pod of the namespace ({matched} of {of_namespace}); "
                "narrow the selector, or set k8s_allow_whole_namespace: true to allow it"
            )
        if matched / of_namespace > self.partition_max_fraction:
            raise GuardrailRefused(
                f"{what}: the selector matches {matched} of the namespace's {of_namespace} pods "
                f"({matched / of_namespace:.0%}), more than the blast-radius cap "
                f"k8s_partition_max_fraction={self.partition_max_fraction:g}; narrow the selector, raise the "
                "setting, or set k8s_allow_whole_namespace: true"
            )


def _number(cfg: Mapping[str, Any], key: str, default: float, kind: type) -> Any:
    value = cfg.get(key)
    if value is None or value == "":
        return default
    bad = ExperimentInvalid(f"{key} is {value!r} (expected a {kind.__name__})")
    if isinstance(value, bool):
        raise bad
    try:
        return kind(value)
    except (TypeError, ValueError):
        raise bad from None


def flag(value: object, key: str) -> bool:
    """A boolean setting that may arrive as a string from an environment variable."""
    if value is None:
        return False
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().lower() in {"true", "false", "yes", "no", "1", "0", ""}:
        return value.strip().lower() in {"true", "yes", "1"}
    raise ExperimentInvalid(f"{key} is {value!r} (expected true or false)")
