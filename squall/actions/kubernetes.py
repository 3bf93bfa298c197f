"""Kubernetes faults with guardrails: kill pods, partition pods with NetworkPolicies, scale deployments.

Every action first passes the guardrails of ``squall.k8s.guardrails``
(namespace allowlist, blast-radius cap, last replica, dry run) and raises
before anything is changed if one refuses. Every change is written to the
fault ledger before it is made, so rollbacks, interrupts and ``squall
cleanup`` can undo it (``undo_entry``).
"""

import math
import random
from typing import Any, Literal

from chaoslib.types import Configuration, Secrets
from kubernetes import client as k8s

from squall import config
from squall.activity import activity
from squall.errors import ExperimentInvalid, KubernetesError
from squall.k8s.client import ClusterRef, api_call
from squall.k8s.guardrails import Guardrails
from squall.k8s.pods import delete_pod, is_terminating, list_pods
from squall.k8s.policy import (
    MANAGED_BY,
    MANAGED_BY_LABEL,
    RUN_ID_LABEL,
    dns_label,
    parse_selector,
    partition_policy,
    policy_name,
)
from squall.k8s.undo import (
    KIND_PODKILL,
    KIND_POLICY,
    KIND_SCALE,
    delete_policy,
    patch_replicas,
    settle_failed_apply,
    undo_entry,
)
from squall.ledger import Ledger

__all__ = ["heal_partition", "kill_pods", "partition", "restore_scale", "scale"]
# ``undo_entry`` (imported above) is what squall.cleanup calls for "k8s.*" ledger entries; not an activity.



@activity(role="inject")
def kill_pods(
    label_selector: str,
    ns: str,
    count: int = 1,
    fraction: float | None = None,
    grace_period_s: int | None = None,
    seed: int | None = None,
    dry_run: bool = False,
    configuration: Configuration = None,
    secrets: Secrets = None,
) -> dict[str, Any]:
    """Delete `count` (or `fraction` of the) pods matching `label_selector` in namespace `ns`, picked at random (`seed` makes the pick repeatable); fails if no pod matches or the API refuses; returns the pods killed."""
    guard = Guardrails.from_configuration(configuration)
    parse_selector(label_selector)
    if fraction is not None and not 0 < float(fraction) <= 1:
        raise ExperimentInvalid(f"fraction is {fraction} (expected a number in (0, 1])")
    if fraction is not None and count != 1:
        raise ExperimentInvalid(f"count={count} and fraction={fraction} both given (expected one of them)")
    if fraction is None and (isinstance(count, bool) or int(count) < 1):
        raise ExperimentInvalid(f"count is {count} (expected an integer >= 1)")
    if grace_period_s is not None and int(grace_period_s) < 0:
        raise ExperimentInvalid(f"grace_period_s is {grace_period_s} (expected seconds >= 0)")
    guard.check_namespace(ns)
    cluster = ClusterRef.from_configuration(configuration, secrets)
    with cluster.api_client() as api:
        core = k8s.CoreV1Api(api)
        pods = [p for p in list_pods(core, ns, label_selector) if not is_terminating(p)]
        if not pods:
            raise KubernetesError(f'no running pods match label selector "{label_selector}" in namespace "{ns}"')
        total = len(pods)
        n = max(1, math.ceil(float(fraction) * total)) if fraction is not None else int(count)
        if n > total:
            raise KubernetesError(
                f'count={n} but only {total} pods match "{label_selector}" in namespace "{ns}"'
            )
        guard.check_removal(f'kill_pods "{label_selector}" in namespace "{ns}"', n, total)
        victims = sorted(random.Random(seed).sample([p.metadata.name for p in pods], n))
        result: dict[str, Any] = {
            "namespace": ns,
            "label_selector": label_selector,
            "matched": total,
            "killed": [],
            "dry_run": guard.is_dry_run(dry_run),
        }
        if result["dry_run"]:
            result["would_kill"] = victims
            return result
        ledger = Ledger(config.ledger_path(configuration))
        entry = ledger.apply(
            KIND_PODKILL,
            {"namespace": ns, "pods": victims},
            {"namespace": ns, "pods": victims, **cluster.undo_data()},
            f"kill {n} of {total} pods \"{label_selector}\" in {ns}",
        )
        body = {"gracePeriodSeconds": int(grace_period_s)} if grace_period_s is not None else None
        uids = {p.metadata.name: p.metadata.uid for p in pods}
        try:
            for name in victims:
                delete_pod(core, ns, name, uids.get(name), body)
                result["killed"].append(name)
        except KubernetesError as exc:
            ledger.strike(entry.id, outcome="killed" if result["killed"] else "failed-to-apply")
            done = f" after killing {', '.join(result['killed'])}" if result["killed"] else ""
            raise KubernetesError(f"{exc}{done}") from exc
        ledger.strike(entry.id, outcome="killed")
    return result


DEFAULT_MAX_REPLICAS = 50


def _whole(name: str, value: Any, minimum: int) -> int:
    """An integer argument (a digit string from an environment variable is fine); else a clear error."""
    if isinstance(value, str) and value.strip().isdigit():
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise ExperimentInvalid(f"{name} is {value!r} (expected an integer >= {minimum})")
    return value


@activity(role="inject")
def partition(
    ns: str,
    from_selector: str,
    to_selector: str | None = None,
    direction: Literal["both", "ingress", "egress"] = "both",
    dry_run: bool = False,
    configuration: Configuration = None,
    secrets: Secrets = None,
) -> dict[str, Any]:
    """Cut network traffic between pods matching `from_selector` and pods matching `to_selector` in namespace `ns` with a NetworkPolicy (no `to_selector`: isolate the `from_selector` pods entirely); `direction` is "both", "ingress" (into the from pods) or "egress" (out of them); refused when `from_selector` matches every pod of the namespace or more than k8s_partition_max_fraction (default 0.8) of them. Needs a CNI that enforces NetworkPolicies."""
    guard = Guardrails.from_configuration(configuration)
    run_id = config.run_id()
    name = policy_name(run_id, from_selector, to_selector, direction)
    body = partition_policy(ns, name, run_id, from_selector, to_selector, direction)
    guard.check_namespace(ns)
    cluster = ClusterRef.from_configuration(configuration, secrets)
    with cluster.api_client() as api:  # blast radius: how many of the namespace's pods would be cut off
        core = k8s.CoreV1Api(api)
        everyone = [p for p in list_pods(core, ns, "") if not is_terminating(p)]
        matched = [p for p in list_pods(core, ns, from_selector) if not is_terminating(p)]
    guard.check_partition(f'partition "{from_selector}" in namespace "{ns}"', len(matched), len(everyone))
    result: dict[str, Any] = {
        "namespace": ns,
        "name": name,
        "from_selector": from_selector,
        "to_selector": to_selector,
        "direction": direction,
        "matched": len(matched),
        "dry_run": guard.is_dry_run(dry_run),
    }
    if result["dry_run"]:
        result["policy"] = body
        return result
    ledger = Ledger(config.ledger_path(configuration))
    between = f'"{from_selector}" from "{to_selector}"' if to_selector else f'"{from_selector}"'
    entry = ledger.apply(
        KIND_POLICY,
        {"namespace": ns, "networkpolicy": name},
        {"namespace": ns, "name": name, **cluster.undo_data()},
        f"partition ({direction}) {between} in {ns}",
        run_id=run_id,
    )
    try:
        with cluster.api_client() as api:
            api_call(f'create NetworkPolicy "{name}" in namespace "{ns}"',
                     k8s.NetworkingV1Api(api).create_namespaced_network_policy, ns, body)
    except KubernetesError as exc:
        settle_failed_apply(ledger, entry, exc)
        raise
    return result


@activity(role="heal")
def heal_partition(
    ns: str,
    name: str | None = None,
    configuration: Configuration = None,
    secrets: Secrets = None,
) -> dict[str, Any]:
    """Remove the NetworkPolicies this run's `partition` created in namespace `ns` (only the one called `name`, if given); a policy already gone counts as removed."""
    run_id = config.run_id()
    ledger = Ledger(config.ledger_path(configuration))
    entries = [
        e for e in ledger.open_entries(run_id)
        if e.kind == KIND_POLICY and e.undo.get("namespace") == ns and name in (None, e.undo.get("name"))
    ]
    cluster = ClusterRef.from_configuration(configuration, secrets)
    removed: list[str] = []
    for entry in entries:
        undo_entry(entry)
        ledger.strike(entry.id, outcome="removed")
        removed.append(entry.undo["name"])
    # Policies of this run that the ledger lost track of (e.g. a deleted ledger file).
    with cluster.api_client() as api:
        net = k8s.NetworkingV1Api(api)
        labels = f"{MANAGED_BY_LABEL}={MANAGED_BY},{RUN_ID_LABEL}={dns_label(run_id)}"
        listed = api_call(f'list squall NetworkPolicies in namespace "{ns}"',
                          net.list_namespaced_network_policy, ns, label_selector=labels)
        for pol in listed.items or []:
            pol_name = str(pol.metadata.name) if pol.metadata else ""
            if not pol_name or pol_name in removed or name not in (None, pol_name):
                continue
            delete_policy(net, ns, pol_name)
            removed.append(pol_name)
    return {"namespace": ns, "removed": removed}


@activity(role="inject")
def scale(
    deployment: str,
    ns: str,
    replicas: int,
    dry_run: bool = False,
    max_replicas: int = DEFAULT_MAX_REPLICAS,
    configuration: Configuration = None,
    secrets: Secrets = None,
) -> dict[str, Any]:
    """Scale deployment `deployment` in namespace `ns` to `replicas`, remembering the previous count so `restore_scale`, rollbacks and `squall cleanup` can put it back; scaling up is capped at `max_replicas` (default 50) and at k8s_max_scale_factor (default 10) times the current count."""
    guard = Guardrails.from_configuration(configuration)
    replicas = _whole("replicas", replicas, 0)
    max_replicas = _whole("max_replicas", max_replicas, 1)
    guard.check_namespace(ns)
    cluster = ClusterRef.from_configuration(configuration, secrets)
    with cluster.api_client() as api:
        apps = k8s.AppsV1Api(api)
        current = api_call(f'read the scale of deployment "{deployment}" in namespace "{ns}"',
                           apps.read_namespaced_deployment_scale, deployment, ns)
        previous = int(current.spec.replicas or 0) if current.spec else 0
        what = f'scale deployment "{deployment}" in namespace "{ns}" from {previous} to {replicas}'
        guard.check_removal(what, previous - replicas, previous)
        guard.check_scale_up(what, replicas, previous, max_replicas)
        result = {"deployment": deployment, "namespace": ns, "previous": previous,
                  "replicas": replicas, "dry_run": guard.is_dry_run(dry_run)}
        if result["dry_run"]:
            return result
        ledger = Ledger(config.ledger_path(configuration))
        entry = ledger.apply(
            KIND_SCALE,
            {"namespace": ns, "deployment": deployment},
            {"namespace": ns, "deployment": deployment, "replicas": previous, **cluster.undo_data()},
            f"scale deployment {deployment} in {ns} from {previous} to {replicas}",
        )
        try:
            patch_replicas(apps, deployment, ns, replicas)
        except KubernetesError as exc:
            settle_failed_apply(ledger, entry, exc)
            raise
    return result


@activity(role="heal")
def restore_scale(
    deployment: str,
    ns: str,
    configuration: Configuration = None,
    secrets: Secrets = None,
) -> dict[str, Any]:
    """Scale deployment `deployment` in namespace `ns` back to the replica count it had before this run's first `scale`; does nothing if this run did not scale it."""
    ledger = Ledger(config.ledger_path(configuration))
    entries = [
        e for e in ledger.open_entries(config.run_id())
        if e.kind == KIND_SCALE and e.undo.get("namespace") == ns and e.undo.get("deployment") == deployment
    ]
    if not entries:
        return {"deployment": deployment, "namespace": ns, "restored": False,
                "reason": "this run has no open scale change of this deployment"}
    original = entries[-1]  # open_entries is newest first: the last is the count before the run
    message = undo_entry(original)
    for entry in entries:
        ledger.strike(entry.id, outcome="removed")
    return {"deployment": deployment, "namespace": ns, "restored": True,
            "replicas": int(original.undo["replicas"]), "message": message}
