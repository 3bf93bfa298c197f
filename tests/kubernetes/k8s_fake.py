"""A small fake Kubernetes API server for tests: pods, deployments (+ /scale), networkpolicies.

It speaks the real wire format (JSON objects, ``Status`` bodies for errors,
bearer-token auth, ``labelSelector`` really filtered) so the official client
and chaosk8s talk to it over HTTP exactly as to a cluster. A tiny deployment
controller keeps each deployment's pods at its replica count: a deleted pod is
replaced by a Pending one that turns Ready after ``recover_s`` (never, if None).
"""

import asyncio
import copy
import itertools
import json
import re
import threading
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from squall.background import serve_app

NOW = "2026-11-28T04:00:00Z"


def _matches(labels: dict[str, str], selector: str) -> bool:
    """kubectl label-selector semantics: =, ==, !=, in, notin, key, !key (comma = and)."""
    if not selector.strip():
        return True
    for part in re.split(r",(?![^()]*\))", selector):
        part = part.strip()
        if m := re.fullmatch(r"(\S+)\s+(in|notin)\s*\((.*)\)", part):
            key, op, values = m.group(1), m.group(2), {v.strip() for v in m.group(3).split(",")}
            ok = labels.get(key) in values if op == "in" else labels.get(key) not in values
        elif m := re.fullmatch(r"([^=!\s]+)\s*(==|=|!=)\s*(\S*)", part):
            key, op, value = m.groups()
            ok = labels.get(key) != value if op == "!=" else labels.get(key) == value
        elif part.startswith("!"):
            ok = part[1:].strip() not in labels
        else:
            ok = part in labels
        if not ok:
            return False
    return True


def status(code: int, reason: str, message: str, **details: Any) -> web.Response:
    """A Kubernetes ``Status`` error body."""
    body = {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
            "message": message, "reason": reason, "details": details, "code": code}
    return web.json_response(body, status=code)


@dataclass
class FakeCluster:
    """The cluster's state; tests seed and inspect it directly (under ``lock``)."""

    token: str = field(default_factory=lambda: uuid.uuid4().hex)
    forbidden: dict[str, set[str]] = field(default_factory=dict)  # namespace -> refused HTTP methods
    pods: dict[tuple[str, str], dict[str, Any]] = field(default_factory=dict)
    deployments: dict[tuple[str, str], dict[str, Any]] = field(default_factory=dict)
    policies: dict[tuple[str, str], dict[str, Any]] = field(default_factory=dict)
    requests: list[tuple[str, str]] = field(default_factory=list)
    lose_responses: list[str] = field(default_factory=list)  # next requests (by method) made but answered 500
    cut_after: list[str] = field(default_factory=list)  # next requests (by method) made, then the connection dies unanswered
    graceful: bool = False  # a deleted pod stays, terminating (deletionTimestamp set), instead of vanishing at once
    deletions: list[tuple[str, str, Any]] = field(default_factory=list)  # (ns, pod, delete body)
    lock: threading.RLock = field(default_factory=threading.RLock)
    url: str = ""
    _recover: dict[tuple[str, str], float | None] = field(default_factory=dict)
    _seq: Iterator[int] = field(default_factory=lambda: itertools.count(1))
    _loop: asyncio.AbstractEventLoop | None = None

    # -- seeding -----------------------------------------------------------
    def add_pod(self, ns: str, name: str, labels: dict[str, str], *, ready: bool = True,
                owner: str | None = None) -> None:
        """Add a pod (Running and Ready, or Pending)."""
        with self.lock:
            self.pods[(ns, name)] = {
                "apiVersion": "v1", "kind": "Pod",
                "metadata": self._meta(ns, name, labels) | ({"annotations": {"owner": owner}} if owner else {}),
                "spec": {"containers": [{"name": "app", "image": "example/app:1"}]},
                "status": self._pod_status(ready),
            }

    def add_deployment(self, ns: str, name: str, replicas: int, *, recover_s: float | None = 0.2) -> None:
        """Add a deployment with label app=<name> and ``replicas`` ready pods."""
        labels = {"app": name}
        with self.lock:
            self.deployments[(ns, name)] = {
                "apiVersion": "apps/v1", "kind": "Deployment",
                "metadata": self._meta(ns, name, labels),
                "spec": {"replicas": replicas, "selector": {"matchLabels": labels},
                         "template": {"metadata": {"labels": labels},
                                      "spec": {"containers": [{"name": "app", "image": "example/app:1"}]}}},
            }
            self._recover[(ns, name)] = recover_s
            for i in range(replicas):
                self.add_pod(ns, f"{name}-{i}", labels, owner=name)

    def forbid(self, ns: str, *methods: str) -> None:
        """Answer 403 for requests in ``ns`` (only these HTTP methods, if given)."""
        with self.lock:
            self.forbidden[ns] = set(methods or ("GET", "POST", "PUT", "PATCH", "DELETE"))

    def pod_names(self, ns: str) -> set[str]:
        """Names of the pods in a namespace."""
        with self.lock:
            return {n for (pns, n) in self.pods if pns == ns}

    def mutations(self) -> list[tuple[str, str]]:
        """Every request that could have changed something."""
        with self.lock:
            return [r for r in self.requests if r[0] in ("POST", "PUT", "PATCH", "DELETE")]

    # -- helpers -----------------------------------------------------------
    def _meta(self, ns: str, name: str, labels: dict[str, str] | None) -> dict[str, Any]:
        return {"name": name, "namespace": ns, "labels": dict(labels or {}), "uid": str(uuid.uuid4()),
                "resourceVersion": str(next(self._seq)), "creationTimestamp": NOW}

    @staticmethod
    def _pod_status(ready: bool) -> dict[str, Any]:
        return {"phase": "Running" if ready else "Pending",
                "conditions": [{"type": "Ready", "status": "True" if ready else "False"}]}

    def _owned(self, ns: str, dep: str) -> list[tuple[str, str]]:
        return sorted(k for k, p in self.pods.items()
                      if k[0] == ns and p["metadata"].get("annotations", {}).get("owner") == dep)

    def _reconcile(self, ns: str, dep: str) -> None:
        """The deployment controller: create or remove pods to match spec.replicas."""
        want = self.deployments[(ns, dep)]["spec"]["replicas"]
        owned = self._owned(ns, dep)
        for key in owned[want:]:
            del self.pods[key]
        for _ in range(want - len(owned)):
            name = f"{dep}-{uuid.uuid4().hex[:5]}"
            self.add_pod(ns, name, {"app": dep}, ready=False, owner=dep)
            delay = self._recover.get((ns, dep))
            if delay is not None and self._loop is not None:
                self._loop.call_later(delay, self._make_ready, ns, name)

    def _make_ready(self, ns: str, name: str) -> None:
        with self.lock:
            if (ns, name) in self.pods:
                self.pods[(ns, name)]["status"] = self._pod_status(True)

    def _deployment_view(self, key: tuple[str, str]) -> dict[str, Any]:
        dep = copy.deepcopy(self.deployments[key])
        owned = [self.pods[k] for k in self._owned(*key)]
        ready = sum(1 for p in owned if p["status"]["phase"] == "Running")
        dep["status"] = {"replicas": len(owned), "readyReplicas": ready, "availableReplicas": ready,
                         "updatedReplicas": len(owned), "observedGeneration": 1}
        return dep

    def _scale_view(self, key: tuple[str, str]) -> dict[str, Any]:
        dep = self.deployments[key]
        return {"apiVersion": "autoscaling/v1", "kind": "Scale",
                "metadata": {"name": key[1], "namespace": key[0], "creationTimestamp": NOW},
                "spec": {"replicas": dep["spec"]["replicas"]},
                "status": {"replicas": len(self._owned(*key)), "selector": f"app={key[1]}"}}

    # -- the HTTP app ------------------------------------------------------
    def app(self) -> web.Application:
        """The aiohttp application serving this cluster."""
        app = web.Application(middlewares=[self._guard])
        core, apps, net = "/api/v1/namespaces/{ns}", "/apis/apps/v1/namespaces/{ns}", \
            "/apis/networking.k8s.io/v1/namespaces/{ns}"
        app.router.add_get(core + "/pods", self._list_pods)
        app.router.add_get(core + "/pods/{name}", self._get_pod)
        app.router.add_delete(core + "/pods/{name}", self._delete_pod)
        app.router.add_get(apps + "/deployments", self._list_deployments)
        app.router.add_get(apps + "/deployments/{name}", self._get_deployment)
        app.router.add_get(apps + "/deployments/{name}/scale", self._get_scale)
        app.router.add_patch(apps + "/deployments/{name}/scale", self._patch_scale)
        app.router.add_put(apps + "/deployments/{name}/scale", self._patch_scale)
        app.router.add_get(net + "/networkpolicies", self._list_policies)
        app.router.add_post(net + "/networkpolicies", self._create_policy)
        app.router.add_get(net + "/networkpolicies/{name}", self._get_policy)
        app.router.add_delete(net + "/networkpolicies/{name}", self._delete_policy)
        app.on_startup.append(self._startup)
        return app

    async def _startup(self, app: web.Application) -> None:
        self._loop = asyncio.get_running_loop()

    @web.middleware
    async def _guard(self, request: web.Request, handler: Any) -> web.StreamResponse:
        with self.lock:
            self.requests.append((request.method, request.path))
        if request.headers.get("Authorization") != f"Bearer {self.token}":
            return status(401, "Unauthorized", "Unauthorized")
        ns = request.match_info.get("ns")
        if ns is not None and request.method in self.forbidden.get(ns, ()):
            resource = request.path.split("/")[6] if request.path.startswith("/apis") else request.path.split("/")[5]
            verb = {"GET": "get", "DELETE": "delete", "POST": "create", "PATCH": "patch"}.get(request.method, "update")
            return status(403, "Forbidden",
                          f'{resource} is forbidden: User "system:serviceaccount:chaos:squall" cannot {verb} '
                          f'resource "{resource}" in the namespace "{ns}"')
        try:
            with self.lock:
                response = await handler(request)
            if request.method in self.lose_responses:
                self.lose_responses.remove(request.method)
                return status(500, "InternalError", "etcdserver: request timed out")
            if request.method in self.cut_after:  # the server did the work, then died before answering
                self.cut_after.remove(request.method)
                assert request.transport is not None
                request.transport.abort()
            return response
        except web.HTTPNotFound:
            return status(404, "NotFound", f"the server could not find the requested resource ({request.path})")

    def _list(self, store: dict[tuple[str, str], dict[str, Any]], kind: str, request: web.Request,
              view: Any = None) -> web.Response:
        ns, selector = request.match_info["ns"], request.query.get("labelSelector", "")
        items = [view(k) if view else copy.deepcopy(o) for k, o in sorted(store.items())
                 if k[0] == ns and _matches(o["metadata"].get("labels", {}), selector)]
        api = items[0]["apiVersion"] if items else ""
        return web.json_response({"apiVersion": api, "kind": kind, "metadata": {"resourceVersion": "1"},
                                  "items": items})

    def _get(self, store: dict[tuple[str, str], dict[str, Any]], kind: str,
             request: web.Request) -> tuple[tuple[str, str], web.Response | None]:
        key = (request.match_info["ns"], request.match_info["name"])
        if key not in store:
            return key, status(404, "NotFound", f'{kind} "{key[1]}" not found', name=key[1], kind=kind)
        return key, None

    async def _list_pods(self, request: web.Request) -> web.Response:
        return self._list(self.pods, "PodList", request)

    async def _get_pod(self, request: web.Request) -> web.Response:
        key, err = self._get(self.pods, "pods", request)
        return err or web.json_response(self.pods[key])

    async def _delete_pod(self, request: web.Request) -> web.Response:
        key, err = self._get(self.pods, "pods", request)
        if err:
            return err
        body = json.loads(await request.text() or "null")
        self.deletions.append((key[0], key[1], body))
        if self.graceful:
            self.pods[key]["metadata"]["deletionTimestamp"] = NOW
            return web.json_response(self.pods[key])
        pod = self.pods.pop(key)
        owner = pod["metadata"].get("annotations", {}).get("owner")
        if owner and (key[0], owner) in self.deployments:
            self._reconcile(key[0], owner)
        return web.json_response(pod)

    async def _list_deployments(self, request: web.Request) -> web.Response:
        return self._list(self.deployments, "DeploymentList", request, self._deployment_view)

    async def _get_deployment(self, request: web.Request) -> web.Response:
        key, err = self._get(self.deployments, "deployments.apps", request)
        return err or web.json_response(self._deployment_view(key))

    async def _get_scale(self, request: web.Request) -> web.Response:
        key, err = self._get(self.deployments, "deployments.apps", request)
        return err or web.json_response(self._scale_view(key))

    async def _patch_scale(self, request: web.Request) -> web.Response:
        key, err = self._get(self.deployments, "deployments.apps", request)
        if err:
            return err
        patch = await request.json()
        if isinstance(patch, list):  # JSON patch
            replicas = next((op["value"] for op in patch if op.get("path") == "/spec/replicas"), None)
        else:  # merge / strategic merge patch, or a PUT of the whole Scale
            replicas = (patch.get("spec") or {}).get("replicas")
        if not isinstance(replicas, int) or replicas < 0:
            return status(422, "Invalid", f"Scale.autoscaling \"{key[1]}\" is invalid: spec.replicas: {replicas!r}")
        self.deployments[key]["spec"]["replicas"] = replicas
        self._reconcile(*key)
        return web.json_response(self._scale_view(key))

    async def _list_policies(self, request: web.Request) -> web.Response:
        return self._list(self.policies, "NetworkPolicyList", request)

    async def _get_policy(self, request: web.Request) -> web.Response:
        key, err = self._get(self.policies, "networkpolicies.networking.k8s.io", request)
        return err or web.json_response(self.policies[key])

    async def _create_policy(self, request: web.Request) -> web.Response:
        body = await request.json()
        ns, name = request.match_info["ns"], (body.get("metadata") or {}).get("name")
        if not name or "podSelector" not in (body.get("spec") or {}):
            return status(422, "Invalid", "NetworkPolicy is invalid: metadata.name and spec.podSelector are required")
        if (ns, name) in self.policies:
            return status(409, "AlreadyExists", f'networkpolicies.networking.k8s.io "{name}" already exists')
        body["metadata"] = {**self._meta(ns, name, body["metadata"].get("labels")), **body["metadata"],
                            "namespace": ns}
        self.policies[(ns, name)] = body
        return web.json_response(body, status=201)

    async def _delete_policy(self, request: web.Request) -> web.Response:
        key, err = self._get(self.policies, "networkpolicies.networking.k8s.io", request)
        if err:
            return err
        del self.policies[key]
        return web.json_response({"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Success",
                                  "details": {"name": key[1], "kind": "networkpolicies"}})


def kubeconfig_text(url: str, token: str, context: str = "fake") -> str:
    """A kubeconfig whose context ``context`` reaches the fake; the current context points at a dead port."""
    return json.dumps({
        "apiVersion": "v1", "kind": "Config", "current-context": "elsewhere",
        "clusters": [{"name": "fake", "cluster": {"server": url}},
                     {"name": "dead", "cluster": {"server": "http://127.0.0.1:9"}}],
        "users": [{"name": "tester", "user": {"token": token}}],
        "contexts": [{"name": context, "context": {"cluster": "fake", "user": "tester"}},
                     {"name": "elsewhere", "context": {"cluster": "dead", "user": "tester"}}],
    })


@contextmanager
def running() -> Iterator[FakeCluster]:
    """Start a fake cluster on 127.0.0.1 (ephemeral port) in a background thread."""
    cluster = FakeCluster()
    with serve_app(cluster.app) as url:
        cluster.url = url
        yield cluster
