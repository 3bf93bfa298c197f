"""Which cluster to talk to, and one place that turns Kubernetes client errors into squall errors.

A ``ClusterRef`` says where the credentials come from (a kubeconfig file and
context, or the pod's service account) without holding any credential itself,
so it can be written to the fault ledger and used by ``squall cleanup`` in
another process to build the same client again.

We do not use ``chaosk8s.create_k8s_api_client``: it mutates the process-wide
``kubernetes.client.Configuration`` (two experiments against two contexts in
one process would race) and reads the context only from
``KUBERNETES_CONTEXT``. We keep its conventions: ``$KUBECONFIG`` (default
``~/.kube/config``), ``KUBERNETES_CONTEXT`` in secrets or the environment,
in-cluster when ``CHAOSTOOLKIT_IN_POD=true`` or a service account is mounted.
"""

import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import urllib3.exceptions
from kubernetes import client as k8s
from kubernetes import config as k8s_config
from kubernetes.client.exceptions import ApiException
from kubernetes.config.config_exception import ConfigException

from squall.errors import KubernetesAPIError, KubernetesError

T = TypeVar("T")

SERVICE_ACCOUNT_TOKEN = Path("/var/run/secrets/kubernetes.io/serviceaccount/token")
#: (connect, read) seconds for every API call, so no activity hangs on a dead API server
REQUEST_TIMEOUT = (10.0, 60.0)


@dataclass(frozen=True)
class ClusterRef:
    """Where to find a cluster's credentials: a kubeconfig (and context) or the in-cluster service account."""

    kubeconfig: str | None = None
    context: str | None = None
    in_cluster: bool = False

    @classmethod
    def from_configuration(
        cls,
        configuration: Mapping[str, Any] | None = None,
        secrets: Mapping[str, Any] | None = None,
    ) -> "ClusterRef":
        """Resolve ``kubeconfig`` / ``kube_context`` configuration keys, chaosk8s's env, or in-cluster."""
        cfg = configuration or {}
        sec = secrets or {}
        context = cfg.get("kube_context") or sec.get("KUBERNETES_CONTEXT")
        context = context or os.environ.get("KUBERNETES_CONTEXT")
        explicit = cfg.get("kubeconfig")
        if explicit:
            path = str(Path(str(explicit)).expanduser().resolve())
            if not Path(path).is_file():
                raise KubernetesError(f'kubeconfig "{path}" does not exist (configuration key kubeconfig)')
            return cls(kubeconfig=path, context=str(context) if context else None)
        in_pod = os.environ.get("CHAOSTOOLKIT_IN_POD") == "true"
        env_paths = os.environ.get("KUBECONFIG")
        if env_paths and not in_pod:
            paths = [str(Path(p).expanduser().resolve()) for p in env_paths.split(os.pathsep) if p]
            if any(Path(p).is_file() for p in paths):
                return cls(kubeconfig=os.pathsep.join(paths), context=str(context) if context else None)
        default = Path("~/.kube/config").expanduser()
        if default.is_file() and not in_pod:
            return cls(kubeconfig=str(default.resolve()), context=str(context) if context else None)
        if in_pod or (os.environ.get("KUBERNETES_SERVICE_HOST") and SERVICE_ACCOUNT_TOKEN.is_file()):
            return cls(in_cluster=True)
        raise KubernetesError(
            "no Kubernetes credentials found: set configuration key kubeconfig (or $KUBECONFIG), "
            "create ~/.kube/config, or run in a pod with a service account"
        )

    @classmethod
    def from_undo(cls, undo: Mapping[str, Any]) -> "ClusterRef":
        """The cluster a ledger entry's undo data names."""
        if undo.get("in_cluster"):
            return cls(in_cluster=True)
        kubeconfig = undo.get("kubeconfig")
        context = undo.get("kube_context")
        if not kubeconfig:
            return cls.from_configuration({"kube_context": context} if context else None)
        return cls(kubeconfig=str(kubeconfig), context=str(context) if context else None)

    def undo_data(self) -> dict[str, Any]:
        """What the ledger records to reach this cluster again (paths and names, never credentials)."""
        if self.in_cluster:
            return {"in_cluster": True}
        data: dict[str, Any] = {"kubeconfig": self.kubeconfig}
        if self.context:
            data["kube_context"] = self.context
        return data

    def describe(self) -> str:
        """For messages: which credentials are used."""
        if self.in_cluster:
            return "in-cluster service account"
        return f'kubeconfig "{self.kubeconfig}"' + (f' context "{self.context}"' if self.context else "")

    def api_client(self) -> k8s.ApiClient:
        """A fresh ApiClient for this cluster (never touches the process-wide default configuration)."""
        configuration = type.__call__(k8s.Configuration)
        try:
            if self.in_cluster:
                k8s_config.load_incluster_config(client_configuration=configuration)  # type: ignore[no-untyped-call]
            else:
                k8s_config.load_kube_config(  # type: ignore[no-untyped-call]
                    config_file=self.kubeconfig,
                    context=self.context,
                    client_configuration=configuration,
                    persist_config=False,
                )
        except (ConfigException, OSError, ValueError) as exc:
            raise KubernetesError(f"cannot load Kubernetes credentials from {self.describe()}: {exc}") from exc
        configuration.retries = 1
        return k8s.ApiClient(configuration)


def api_call(what: str, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    """Call the Kubernetes API; translate its errors into ``KubernetesAPIError`` naming ``what`` was attempted."""
    kwargs.setdefault("_request_timeout", REQUEST_TIMEOUT)
    try:
        return fn(*args, **kwargs)
    except ApiException as exc:
        raise KubernetesAPIError(
            f"Kubernetes API refused to {what}: {exc.status} {exc.reason or ''}".rstrip()
            + _status_message(exc.body),
            status=int(exc.status or 0),
        ) from exc
    except (urllib3.exceptions.HTTPError, OSError) as exc:
        raise KubernetesError(f"cannot reach the Kubernetes API to {what}: {exc}") from exc


def _status_message(body: Any) -> str:
    """The ``message`` of a Kubernetes Status body, if there is one."""
    import json

    try:
        message = json.loads(body).get("message") if body else None
    except (ValueError, AttributeError):
        message = None
    return f" ({message})" if message else ""
