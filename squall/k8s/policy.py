"""Label selectors and the NetworkPolicies squall uses to partition pods.

A NetworkPolicy can only *allow* traffic: a pod selected by any policy is
isolated in that direction except for what some policy allows. So:

- isolating a group (no ``to_selector``): a policy on the group with no rules
  in the cut direction(s) — nothing in, nothing out;
- cutting group A from group B: a policy on A that allows every peer *except*
  B — pods of A's namespace that do not match B's selector (the negation of a
  selector ``x=1,y=2`` is "x not 1" OR "y not 2", one peer each) and pods of
  every other namespace. Traffic from or to outside the cluster is not
  allowed by it (NetworkPolicy ``ipBlock`` is undefined for pod IPs, so it
  cannot be used to say "everything but B"), and other policies that already
  select A's pods and allow B still let B through.
"""

import hashlib
import re
from dataclasses import dataclass
from typing import Any, Literal

from squall.errors import ExperimentInvalid

Direction = Literal["both", "ingress", "egress"]
DIRECTIONS: tuple[Direction, ...] = ("both", "ingress", "egress")
MANAGED_BY_LABEL = "app.kubernetes.io/managed-by"
MANAGED_BY = "squall"
RUN_ID_LABEL = "squall.dev/run-id"
NAMESPACE_NAME_LABEL = "kubernetes.io/metadata.name"

_NEGATED = {"In": "NotIn", "NotIn": "In", "Exists": "DoesNotExist", "DoesNotExist": "Exists"}
_SET_RE = re.compile(r"^\s*([A-Za-z0-9./_-]+)\s+(in|notin)\s*\(([^)]*)\)\s*$")
_EQ_RE = re.compile(r"^\s*([A-Za-z0-9./_-]+)\s*(==|=|!=)\s*([A-Za-z0-9._-]*)\s*$")
_EXISTS_RE = re.compile(r"^\s*(!?)\s*([A-Za-z0-9./_-]+)\s*$")


@dataclass(frozen=True)
class Requirement:
    """One requirement of a label selector, as a NetworkPolicy matchExpression."""

    key: str
    operator: Literal["In", "NotIn", "Exists", "DoesNotExist"]
    values: tuple[str, ...] = ()

    def negated(self) -> "Requirement":
        """The requirement that matches exactly the pods this one does not."""
        return Requirement(self.key, _NEGATED[self.operator], self.values)  # type: ignore[arg-type]

    def as_expression(self) -> dict[str, Any]:
        """The ``matchExpressions`` item."""
        expr: dict[str, Any] = {"key": self.key, "operator": self.operator}
        if self.operator in ("In", "NotIn"):
            expr["values"] = list(self.values)
        return expr


def parse_selector(selector: str) -> list[Requirement]:
    """Parse a label selector (``app=web,tier!=db,env in (a,b),!canary``) the way kubectl does."""
    if not isinstance(selector, str) or not selector.strip():
        raise ExperimentInvalid(
            f"label selector {selector!r} is empty (expected e.g. app=web; squall never selects every pod)"
        )
    parts, depth, current = [], 0, ""
    for ch in selector:
        if ch == "," and depth == 0:
            parts.append(current)
            current = ""
            continue
        depth += ch == "("
        depth -= ch == ")"
        current += ch
    parts.append(current)
    out = []
    for part in parts:
        if not part.strip():
            raise ExperimentInvalid(f'label selector "{selector}" has an empty requirement')
        if m := _SET_RE.match(part):
            values = tuple(v.strip() for v in m.group(3).split(",") if v.strip())
            out.append(Requirement(m.group(1), "In" if m.group(2) == "in" else "NotIn", values))
        elif m := _EQ_RE.match(part):
            out.append(Requirement(m.group(1), "NotIn" if m.group(2) == "!=" else "In", (m.group(3),)))
        elif m := _EXISTS_RE.match(part):
            out.append(Requirement(m.group(2), "DoesNotExist" if m.group(1) else "Exists"))
        else:
            raise ExperimentInvalid(
                f'label selector "{selector}": cannot read "{part.strip()}" '
                "(expected key=value, key!=value, key in (a,b), key notin (a,b), key or !key)"
            )
    return out


def label_selector(requirements: list[Requirement]) -> dict[str, Any]:
    """A Kubernetes LabelSelector object for these requirements."""
    labels = {r.key: r.values[0] for r in requirements if r.operator == "In" and len(r.values) == 1}
    exprs = [r.as_expression() for r in requirements if not (r.operator == "In" and len(r.values) == 1)]
    out: dict[str, Any] = {}
    if labels:
        out["matchLabels"] = labels
    if exprs:
        out["matchExpressions"] = exprs
    return out


def dns_label(value: str, limit: int = 63) -> str:
    """``value`` made safe for a Kubernetes name or label value."""
    cleaned = re.sub(r"[^a-z0-9-]+", "-", value.lower()).strip("-")
    return cleaned[:limit].strip("-") or "x"


def policy_name(run_id: str, from_selector: str, to_selector: str | None, direction: str) -> str:
    """A stable, unique name for a partition of this run."""
    digest = hashlib.sha256(f"{from_selector}|{to_selector}|{direction}".encode()).hexdigest()[:8]
    return f"squall-partition-{dns_label(run_id, 32)}-{digest}"


def partition_policy(
    ns: str,
    name: str,
    run_id: str,
    from_selector: str,
    to_selector: str | None,
    direction: Direction,
) -> dict[str, Any]:
    """The NetworkPolicy body that cuts ``from_selector`` pods off (from ``to_selector`` pods, if given)."""
    if direction not in DIRECTIONS:
        raise ExperimentInvalid(f'direction "{direction}" is not valid (expected one of: {", ".join(DIRECTIONS)})')
    if not from_selector or not from_selector.strip():
        raise ExperimentInvalid("from_selector is empty (expected a label selector such as app=checkout)")
    if to_selector is not None and not to_selector.strip():
        raise ExperimentInvalid("to_selector is empty (expected a label selector, or leave it out to isolate)")
    spec: dict[str, Any] = {"podSelector": label_selector(parse_selector(from_selector))}
    types = ["Ingress", "Egress"] if direction == "both" else [direction.capitalize()]
    spec["policyTypes"] = types
    if to_selector is None:
        peers = None
    else:
        peers = [{"podSelector": {"matchExpressions": [r.negated().as_expression()]}}
                 for r in parse_selector(to_selector)]
        peers.append({"namespaceSelector": {"matchExpressions": [
            {"key": NAMESPACE_NAME_LABEL, "operator": "NotIn", "values": [ns]}]}})
    if "Ingress" in types:
        spec["ingress"] = [{"from": peers}] if peers else []
    if "Egress" in types:
        spec["egress"] = [{"to": peers}] if peers else []
    between = f'"{from_selector}" and "{to_selector}"' if to_selector else f'"{from_selector}" from everything'
    return {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "NetworkPolicy",
        "metadata": {
            "name": name,
            "namespace": ns,
            "labels": {MANAGED_BY_LABEL: MANAGED_BY, RUN_ID_LABEL: dns_label(run_id)},
            "annotations": {"squall.dev/description": f"squall partition ({direction}) of {between}"},
        },
        "spec": spec,
    }
