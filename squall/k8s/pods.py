"""Reading pods: which match a selector, which are ready, which are already going away."""

from typing import Any

from kubernetes import client as k8s

from squall.k8s.client import api_call


def is_terminating(pod: Any) -> bool:
    """True once the pod has been asked to go away."""
    return pod.metadata.deletion_timestamp is not None


def is_ready(pod: Any) -> bool:
    """True if the pod reports the Ready condition and is not terminating."""
    if is_terminating(pod) or pod.status is None:
        return False
    for cond in pod.status.conditions or []:
        if cond.type == "Ready":
            return bool(cond.status == "True")
    return False


def list_pods(core: k8s.CoreV1Api, ns: str, label_selector: str) -> list[Any]:
    """Pods in ``ns`` matching ``label_selector``, sorted by name."""
    pods = api_call(
        f'list pods "{label_selector}" in namespace "{ns}"',
        core.list_namespaced_pod,
        ns,
        label_selector=label_selector,
    )
    return sorted(pods.items or [], key=lambda p: p.metadata.name)

