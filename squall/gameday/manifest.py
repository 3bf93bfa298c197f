"""Kubernetes manifests that run a suite on the cluster's scheduler: CronJob, ConfigMap, ServiceAccount, Role.

The ConfigMap holds the suite (with its experiment paths rewritten to the
mounted folder) and every experiment file; the CronJob mounts it at
``/suite`` and runs ``squall gameday run /suite/suite.yaml`` with
``concurrencyPolicy: Forbid`` so two game days never overlap. Reports go to
``/reports`` (an emptyDir unless a PersistentVolumeClaim is named, which is
what keeps history across runs).
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


def _k8s_name(text: str) -> str:
    name = re.sub(r"[^a-z0-9-]+", "-", text.lower()).strip("-")[:52].strip("-")
    return name or "squall-gameday"


def manifests(
    suite: Suite, *, image: str = DEFAULT_IMAGE, namespace: str | None = None, reports_pvc: str | None = None
) -> list[dict[str, Any]]:
    """The Kubernetes objects (as dicts) that run `suite` on its schedule in the cluster."""
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
    container = {
        "name": "squall",
        "image": image,
        "args": ["gameday", "run", f"{MOUNT}/suite.yaml"],
        "env": [{"name": "SQUALL_LEDGER", "value": f"{REPORTS}/ledger.jsonl"}],
        "volumeMounts": [{"name": "suite", "mountPath": MOUNT, "readOnly": True}, {"name": "reports", "mountPath": REPORTS}],
        "resources": {"requests": {"cpu": "100m", "memory": "256Mi"}, "limits": {"memory": "1Gi"}},
    }
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
                "metadata": {"labels": dict(meta["labels"])},
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
    return [
        obj("v1", "ServiceAccount"),
        obj("rbac.authorization.k8s.io/v1", "Role", rules=rules),
        obj("rbac.authorization.k8s.io/v1", "RoleBinding",
            roleRef={"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": name},
            subjects=[{"kind": "ServiceAccount", "name": name, **({"namespace": namespace} if namespace else {})}]),
        obj("v1", "ConfigMap", data=files),
        cronjob,
    ]


def _five_fields(cron: str) -> str:
    """Kubernetes CronJobs take 5 fields; a 6-field (seconds) expression loses its seconds."""
    fields = cron.split()
    return " ".join(fields[:5]) if len(fields) == 6 else cron


def render(suite: Suite, *, image: str = DEFAULT_IMAGE, namespace: str | None = None, reports_pvc: str | None = None) -> str:
    """The manifests as one multi-document YAML string."""
    header = f"# squall game day {suite.name}: apply with `kubectl apply -f -`\n"
    docs = manifests(suite, image=image, namespace=namespace, reports_pvc=reports_pvc)
    body: str = yaml.safe_dump_all(docs, sort_keys=False)
    return header + body
