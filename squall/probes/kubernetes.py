"""Kubernetes probes: ready replicas of a deployment, waiting for it to recover, pods by status.

Probes only read, so the namespace allowlist does not apply to them.
"""

import time
from typing import Any

from chaoslib.types import Configuration, Secrets
from kubernetes import client as k8s

from squall.activity import activity
from squall.errors import ExperimentInvalid, KubernetesError
from squall.k8s.client import ClusterRef, api_call
from squall.k8s.pods import is_ready, is_terminating, list_pods

__all__ = ["pods_by_status", "ready_replicas", "wait_ready"]

POLL_INTERVAL_S = 0.5


@activity(role="probe")
def ready_replicas(
    deployment: str,
    ns: str,
    configuration: Configuration = None,
    secrets: Secrets = None,
) -> int:
    """The number of ready replicas of deployment `deployment` in namespace `ns` (its status.readyReplicas)."""
    with ClusterRef.from_configuration(configuration, secrets).api_client() as api:
        dep = api_call(f'read deployment "{deployment}" in namespace "{ns}"',
                       k8s.AppsV1Api(api).read_namespaced_deployment, deployment, ns)
    return int((dep.status.ready_replicas if dep.status else 0) or 0)


@activity(role="probe")
def wait_ready(
    deployment: str,
    ns: str,
    timeout_s: float = 120,
    configuration: Configuration = None,
    secrets: Secrets = None,
) -> bool:
    """Wait up to `timeout_s` seconds until every desired replica of deployment `deployment` in namespace `ns` is ready again (status and pods agree); true when recovered, fails if not in time."""
    if isinstance(timeout_s, bool) or float(timeout_s) <= 0:
        raise ExperimentInvalid(f"timeout_s is {timeout_s} (expected seconds > 0)")
    deadline = time.monotonic() + float(timeout_s)
    with ClusterRef.from_configuration(configuration, secrets).api_client() as api:
        apps, core = k8s.AppsV1Api(api), k8s.CoreV1Api(api)
        while True:
            desired, ready = _readiness(apps, core, deployment, ns)
            if ready >= desired:
                return True
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise KubernetesError(
                    f'deployment "{deployment}" in namespace "{ns}" not ready after {float(timeout_s):g} s: '
                    f"{ready} of {desired} replicas ready"
                )
            time.sleep(min(POLL_INTERVAL_S, remaining))


@activity(role="probe")
def pods_by_status(
    label_selector: str,
    ns: str,
    configuration: Configuration = None,
    secrets: Secrets = None,
) -> dict[str, Any]:
    """Pods matching `label_selector` in namespace `ns`, counted by phase: {"total", "ready", "terminating", "phases": {"Running": n, ...}, "pods": [{"name", "phase", "ready"}]}."""
    with ClusterRef.from_configuration(configuration, secrets).api_client() as api:
        pods = list_pods(k8s.CoreV1Api(api), ns, label_selector)
    phases: dict[str, int] = {}
    rows = []
    for pod in pods:
        phase = (pod.status.phase if pod.status else None) or "Unknown"
        phases[phase] = phases.get(phase, 0) + 1
        rows.append({"name": pod.metadata.name, "phase": phase, "ready": is_ready(pod)})
    return {
        "total": len(pods),
        "ready": sum(1 for r in rows if r["ready"]),
        "terminating": sum(1 for p in pods if is_terminating(p)),
        "phases": phases,
        "pods": rows,
    }


def _readiness(apps: k8s.AppsV1Api, core: k8s.CoreV1Api, deployment: str, ns: str) -> tuple[int, int]:
    """(desired, ready) replicas; ready is the smaller of the status's count and the ready pods counted."""
    what = f'read the scale of deployment "{deployment}" in namespace "{ns}"'
    sc = api_call(what, apps.read_namespaced_deployment_scale, deployment, ns)
    desired = int((sc.spec.replicas if sc.spec else 0) or 0)
    dep = api_call(f'read deployment "{deployment}" in namespace "{ns}"',
                   apps.read_namespaced_deployment, deployment, ns)
    status_ready = int((dep.status.ready_replicas if dep.status else 0) or 0)
    selector = sc.status.selector if sc.status else None
    if not selector:
        return desired, status_ready
    pods_ready = sum(1 for p in list_pods(core, ns, selector) if is_ready(p))
    return desired, min(status_ready, pods_ready)
