"""Kubernetes manifests that run a suite on the cluster's scheduler: CronJob, ConfigMap, ServiceAccount, Role.

The ConfigMap holds the suite (with its experiment paths rewritten to the
mounted folder) and every experiment file; the CronJob mounts it at
``/suite`` and runs ``squall gameday run /suite/suite.yaml`` with
``concurrencyPolicy: Forbid`` so two game days never overlap. Reports go to
``/reports`` (an emptyDir unless a PersistentVolumeClaim is named, which is
what keeps history across runs).

With ``load_workers`` (``--load-workers N``) the game day's experiments run
their ``load`` on the cluster: the CronJob's pod runs the Locust master (squall
starts and stops it with each experiment's method, as on a laptop) and the
collector, a Service names them, and a Deployment runs N Locust workers that
join the master whenever a game day runs (the master sends them the targets).
"""

import re
from typing import Any

import yaml

from squall import __version__
from squall.gameday.suite import Suite, slugify
from squall.loader import read_text

#: placeholder image; build the repo's Dockerfile and push it under your own registry/owner
DEFAULT_IMAGE = f"ghcr.io/OWNER/squall:{__version__}"
MOUNT = "/suite"
REPORTS = "/reports"
LOCUST_MASTER_PORT = 5557
COLLECTOR_PORT = 5558
MAX_LOAD_WORKERS = 500


def _k8s_name(text: str) -> str:
    name = re.sub(r"[^a-z0-9-]+", "-", text.lower()).strip("-")[:52].strip("-")
    return name or "squall-gameday"


def manifests(
    suite: Suite, *, image: str = DEFAULT_IMAGE, namespace: str | None = None, reports_pvc: str | None = None,
    load_workers: int = 0,
) -> list[dict[str, Any]]:
    """The Kubernetes objects (as dicts) that run `suite` on its schedule in the cluster (and its load's workers)."""
    if isinstance(load_workers, bool) or not isinstance(load_workers, int) or not 0 <= load_workers <= MAX_LOAD_WORKERS:
        from squall.errors import ExperimentInvalid

        raise ExperimentInvalid(f"--load-workers {load_workers!r} is not valid (expected a whole number from 0 to {MAX_LOAD_WORKERS})")
    if suite.schedule is None:
        from squall.errors import ExperimentInvalid

        raise ExperimentInvalid(f"{suite.path}: schedule: a CronJob needs a schedule (expected {{cron: ..., timezone: ...}})")
    name = _k8s_name(f"squall-{suite.name}")
    meta: dict[str, Any] = {"name": name, "labels": {"app.kubernetes.io/name": "squall", "app.kubernetes.io/instance": name}}
    if namespace:
        meta["namespace"] = namespace
    files: dict[str, str] = {}
    items = []
    experiments = []
    for i, exp in enumerate(suite.experiments):
        key = f"{i:02d}-{slugify(exp.path.name)}"
        files[key] = read_text(exp.path, "an experiment file in YAML or JSON")  # FileInvalid: exit 4
        items.append({"key": key, "path": f"experiments/{key}"})
        entry: dict[str, Any] = {"path": f"experiments/{key}", "name": exp.name, "weight": exp.weight, "required": exp.required}
        if exp.vars:
            entry["vars"] = dict(exp.vars)
        experiments.append(entry)
    in_cluster: dict[str, Any] = {
        "name": suite.name,
        "schedule": {"cron": suite.schedule.cron, "timezone": suite.schedule.timezone},
        "settle_s": suite.settle_s,
        "experiments": experiments,
        "reports": {"dir": f"{REPORTS}/{slugify(suite.name)}", **({"keep_days": suite.keep_days} if suite.keep_days else {})},
    }
    if suite.min_score is not None:
        in_cluster["gate"] = {"min_score": suite.min_score}
    if suite.webhook:
        in_cluster["notify"] = {"webhook": suite.webhook}
    files["suite.yaml"] = yaml.safe_dump(in_cluster, sort_keys=False)
    items.append({"key": "suite.yaml", "path": "suite.yaml"})

    def obj(api: str, kind: str, **rest: Any) -> dict[str, Any]:
        return {"apiVersion": api, "kind": kind, "metadata": dict(meta), **rest}

    reports_volume: dict[str, Any] = (
        {"name": "reports", "persistentVolumeClaim": {"claimName": reports_pvc}}
        if reports_pvc
        else {"name": "reports", "emptyDir": {}}
    )
    container: dict[str, Any] = {
        "name": "squall",
        "image": image,
        "args": ["gameday", "run", f"{MOUNT}/suite.yaml"],
        "env": [{"name": "SQUALL_LEDGER", "value": f"{REPORTS}/ledger.jsonl"}],
        "volumeMounts": [{"name": "suite", "mountPath": MOUNT, "readOnly": True}, {"name": "reports", "mountPath": REPORTS}],
        "resources": {"requests": {"cpu": "100m", "memory": "256Mi"}, "limits": {"memory": "1Gi"}},
    }
    pod_labels = dict(meta["labels"])
    if load_workers:
        pod_labels["app.kubernetes.io/component"] = "gameday"  # the load Service selects this pod (the master)
        container["env"] += [
            {"name": "SQUALL_LOAD_EXTERNAL_WORKERS", "value": str(load_workers)},
            {"name": "SQUALL_LOAD_BIND", "value": "0.0.0.0"},
            {"name": "SQUALL_LOAD_MASTER_PORT", "value": str(LOCUST_MASTER_PORT)},
            {"name": "SQUALL_LOAD_COLLECTOR_PORT", "value": str(COLLECTOR_PORT)},
        ]
        container["ports"] = [{"name": "locust-master", "containerPort": LOCUST_MASTER_PORT},
                              {"name": "load-samples", "containerPort": COLLECTOR_PORT}]
    cronjob = obj(
        "batch/v1", "CronJob",
        spec={
            "schedule": _five_fields(suite.schedule.cron),
            "timeZone": suite.schedule.timezone,
            "concurrencyPolicy": "Forbid",
            "startingDeadlineSeconds": 600,
            "successfulJobsHistoryLimit": 3,
            "failedJobsHistoryLimit": 3,
            "jobTemplate": {"spec": {"backoffLimit": 0, "template": {
                "metadata": {"labels": pod_labels},
                "spec": {
                    "serviceAccountName": name,
                    "restartPolicy": "Never",
                    # SIGTERM lets squall stop the running experiment and remove its faults.
                    "terminationGracePeriodSeconds": 60,
                    "containers": [container],
                    "volumes": [{"name": "suite", "configMap": {"name": name, "items": items}}, reports_volume],
                },
            }}},
        },
    )
    # The same least-privilege rules as deploy/rbac.yaml (what squall.actions.kubernetes needs).
    rules = [
        {"apiGroups": [""], "resources": ["pods"], "verbs": ["get", "list", "delete"]},
        {"apiGroups": ["apps"], "resources": ["deployments"], "verbs": ["get", "list"]},
        {"apiGroups": ["apps"], "resources": ["deployments/scale"], "verbs": ["get", "patch", "update"]},
        {"apiGroups": ["networking.k8s.io"], "resources": ["networkpolicies"],
         "verbs": ["get", "list", "create", "delete"]},
    ]
    load = _load_objects(obj, name, meta, image, namespace, load_workers) if load_workers else []
    return [
        obj("v1", "ServiceAccount"),
        obj("rbac.authorization.k8s.io/v1", "Role", rules=rules),
        obj("rbac.authorization.k8s.io/v1", "RoleBinding",
            roleRef={"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": name},
            subjects=[{"kind": "ServiceAccount", "name": name, **({"namespace": namespace} if namespace else {})}]),
        obj("v1", "ConfigMap", data=files),
        cronjob,
        *load,
    ]


def _load_objects(obj: Any, name: str, meta: dict[str, Any], image: str, namespace: str | None,
                  workers: int) -> list[dict[str, Any]]:
    """The Service in front of the game day's pod (Locust master, sample collector) and the workers' Deployment."""
    service_name = f"{name}-load"[:63]
    host = f"{service_name}.{namespace}.svc" if namespace else service_name
    service = obj("v1", "Service", spec={
        "selector": {"app.kubernetes.io/instance": name, "app.kubernetes.io/component": "gameday"},
        "ports": [{"name": "locust-master", "port": LOCUST_MASTER_PORT, "targetPort": LOCUST_MASTER_PORT},
                  {"name": "load-samples", "port": COLLECTOR_PORT, "targetPort": COLLECTOR_PORT}],
    })
    service["metadata"]["name"] = service_name
    labels = {**meta["labels"], "app.kubernetes.io/component": "load-worker"}
    deployment = obj("apps/v1", "Deployment", spec={
        "replicas": workers,
        "selector": {"matchLabels": labels},
        "template": {"metadata": {"labels": labels}, "spec": {
            "containers": [{
                "name": "locust-worker",
                "image": image,
                # a worker waits for the master; between game days it reconnects (and restarts) on its own
                "command": ["python", "-m", "squall.load.worker"],
                "args": ["--worker", "--master-host", host, "--master-port", str(LOCUST_MASTER_PORT)],
                "env": [{"name": "SQUALL_LOAD_COLLECTOR", "value": f"{host}:{COLLECTOR_PORT}"}],
                "resources": {"requests": {"cpu": "250m", "memory": "128Mi"}, "limits": {"memory": "512Mi"}},
            }],
        }},
    })
    deployment["metadata"]["name"] = f"{name}-load-workers"[:63]
    deployment["metadata"]["labels"] = labels
    return [service, deployment]


def _five_fields(cron: str) -> str:
    """Kubernetes CronJobs take 5 fields; a 6-field (seconds) expression loses its seconds."""
    fields = cron.split()
    return " ".join(fields[:5]) if len(fields) == 6 else cron


def render(suite: Suite, *, image: str = DEFAULT_IMAGE, namespace: str | None = None, reports_pvc: str | None = None,
           load_workers: int = 0) -> str:
    """The manifests as one multi-document YAML string."""
    header = f"# squall game day {suite.name}: apply with `kubectl apply -f -`\n"
    docs = manifests(suite, image=image, namespace=namespace, reports_pvc=reports_pvc, load_workers=load_workers)
    body: str = yaml.safe_dump_all(docs, sort_keys=False)
    return header + body
