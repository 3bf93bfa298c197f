"""Reading and deleting pods: which match a selector, which are ready, which are going away, whether a delete took effect."""

from typing import Any

from kubernetes import client as k8s

from squall.errors import KubernetesAPIError, KubernetesError
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


def delete_pod(core: k8s.CoreV1Api, ns: str, name: str, uid: str | None, body: dict[str, Any] | None) -> None:
    """Delete one pod; when the answer is lost (connection died, 5xx, a retry's 404) read the pod back to tell."""
    try:
        api_call(f'delete pod "{name}" in namespace "{ns}"', core.delete_namespaced_pod, name, ns, body=body)
    except KubernetesError as exc:
        if isinstance(exc, KubernetesAPIError) and 400 <= exc.status < 500 and exc.status != 404:
            raise  # refused (401, 403, 409, 422 ...): nothing happened
        took = deletion_took_effect(core, ns, name, uid)
        if took:
            return  # gone or terminating: the server did delete it before its answer was lost
        if took is None:
            raise KubernetesError(f"{exc}; reading the pod back failed too, so it may or may not have been killed") from exc
        raise


def deletion_took_effect(core: k8s.CoreV1Api, ns: str, name: str, uid: str | None) -> bool | None:
    """After a DELETE whose answer was lost: True if the pod is gone, terminating or replaced; False if not; None if unreadable."""
    try:
        pod = api_call(f'read pod "{name}" back in namespace "{ns}"', core.read_namespaced_pod, name, ns)
    except KubernetesAPIError as exc:
        return True if exc.status == 404 else None
    except KubernetesError:
        return None
    if uid and pod.metadata is not None and pod.metadata.uid != uid:
        return True  # a controller already made a new pod of the same name (a StatefulSet's)
    return is_terminating(pod)
