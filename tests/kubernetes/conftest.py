"""Fixtures for the Kubernetes tests: a fake API server on 127.0.0.1 and a kubeconfig that reaches it."""

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from k8s_fake import FakeCluster, kubeconfig_text, running


@pytest.fixture
def cluster() -> Iterator[FakeCluster]:
    """A fresh fake cluster: namespace "shop" with deployment web (3 replicas) and db (1 replica)."""
    with running() as fake:
        fake.add_deployment("shop", "web", 3)
        fake.add_deployment("shop", "db", 1)
        yield fake


@pytest.fixture
def kubeconfig(cluster: FakeCluster, tmp_path: Path) -> Path:
    """A kubeconfig file whose context "fake" reaches the fake cluster with its token."""
    path = tmp_path / "kubeconfig"
    path.write_text(kubeconfig_text(cluster.url, cluster.token))
    return path


@pytest.fixture
def cfg(kubeconfig: Path) -> dict[str, Any]:
    """An experiment configuration reaching the fake cluster, allowed to act in namespace "shop"."""
    return {"kubeconfig": str(kubeconfig), "kube_context": "fake", "k8s_namespace_allowlist": ["shop"]}
