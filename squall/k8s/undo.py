"""Undoing squall's Kubernetes changes: the ledger kinds, and what removes each.

``squall.cleanup`` reaches ``undo_entry`` through ``squall.actions.kubernetes``;
it builds its client from the entry's undo data alone (kubeconfig path and
context, or in-cluster), so it works from another process after a crash.
"""

from kubernetes import client as k8s

from squall.errors import KubernetesAPIError, KubernetesError
from squall.k8s.client import ClusterRef, api_call
from squall.ledger import Entry, Ledger

KIND_POLICY = "k8s.networkpolicy"
KIND_SCALE = "k8s.scale"
KIND_PODKILL = "k8s.podkill"


def undo_entry(entry: Entry) -> str:
    """Undo one Kubernetes ledger entry (used by ``squall.cleanup``); already undone counts as done."""
    undo = entry.undo
    cluster = ClusterRef.from_undo(undo)
    ns = str(undo.get("namespace", ""))
    if entry.kind == KIND_PODKILL:
        return f"pods {', '.join(undo.get('pods', []))} in {ns} were deleted; nothing to undo"
    if entry.kind == KIND_POLICY:
        with cluster.api_client() as api:
            gone = delete_policy(k8s.NetworkingV1Api(api), ns, str(undo["name"]))
        return f"NetworkPolicy {undo['name']} in {ns} " + ("was already gone" if gone else "deleted")
    if entry.kind == KIND_SCALE:
        deployment, replicas = str(undo["deployment"]), int(undo["replicas"])
        try:
            with cluster.api_client() as api:
                patch_replicas(k8s.AppsV1Api(api), deployment, ns, replicas)
        except KubernetesAPIError as exc:
            if exc.status == 404:
                return f"deployment {deployment} in {ns} is gone; nothing to scale back"
            raise
        return f"deployment {deployment} in {ns} scaled back to {replicas}"
    raise KubernetesError(f'ledger entry {entry.id} has unknown kind "{entry.kind}" '
                          f"(expected one of: {KIND_POLICY}, {KIND_SCALE}, {KIND_PODKILL})")


def settle_failed_apply(ledger: Ledger, entry: Entry, exc: KubernetesError) -> None:
    """After a failed change: strike the entry if the change surely did not happen, else try to undo it.

    A 4xx answer means the API refused: nothing changed. A timeout, a lost
    connection or a 5xx may hide a change that did happen; undo it now, and if
    that fails too, leave the entry open for the control or `squall cleanup`.
    """
    if isinstance(exc, KubernetesAPIError) and 400 <= exc.status < 500:
        ledger.strike(entry.id, outcome="failed-to-apply")
        return
    try:
        undo_entry(entry)
    except KubernetesError:
        return
    ledger.strike(entry.id, outcome="failed-to-apply")


def delete_policy(net: k8s.NetworkingV1Api, ns: str, name: str) -> bool:
    """Delete a NetworkPolicy; return True if it was already gone."""
    try:
        api_call(f'delete NetworkPolicy "{name}" in namespace "{ns}"',
                 net.delete_namespaced_network_policy, name, ns)
    except KubernetesAPIError as exc:
        if exc.status == 404:
            return True
        raise
    return False


def patch_replicas(apps: k8s.AppsV1Api, deployment: str, ns: str, replicas: int) -> None:
    """Set a deployment's replica count through its /scale subresource."""
    api_call(f'scale deployment "{deployment}" in namespace "{ns}" to {replicas}',
             apps.patch_namespaced_deployment_scale, deployment, ns, {"spec": {"replicas": replicas}})
