"""Which cluster squall talks to: kubeconfig + kube_context, clear errors, and chaosk8s on the same fake."""

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from chaoslib.discovery.discover import discover_activities
from chaoslib.exceptions import ActivityFailed
from k8s_fake import FakeCluster

from squall.k8s.client import ClusterRef
from squall.probes.kubernetes import pods_by_status, ready_replicas


def test_kube_context_picks_the_cluster(cluster: FakeCluster, cfg: dict[str, Any]) -> None:
    # the kubeconfig's current-context points at a dead port: only kube_context reaches the fake
    assert ready_replicas("web", "shop", configuration=cfg) == 3
    without = {k: v for k, v in cfg.items() if k != "kube_context"}
    with pytest.raises(ActivityFailed, match="cannot reach the Kubernetes API"):
        ready_replicas("web", "shop", configuration=without)


def test_kubeconfig_from_environment_and_context_from_secrets(
    cluster: FakeCluster, kubeconfig: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("KUBECONFIG", str(kubeconfig))
    assert pods_by_status("app=db", "shop", secrets={"KUBERNETES_CONTEXT": "fake"})["ready"] == 1


def test_missing_or_unknown_credentials_are_named(cluster: FakeCluster, cfg: dict[str, Any], tmp_path: Path,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(ActivityFailed, match=r'kubeconfig ".*/nope" does not exist \(configuration key kubeconfig\)'):
        ready_replicas("web", "shop", configuration={**cfg, "kubeconfig": str(tmp_path / "nope")})
    with pytest.raises(ActivityFailed, match="cannot load Kubernetes credentials from kubeconfig .* context \"typo\""):
        ready_replicas("web", "shop", configuration={**cfg, "kube_context": "typo"})
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.delenv("KUBECONFIG", raising=False)
    monkeypatch.delenv("KUBERNETES_SERVICE_HOST", raising=False)
    with pytest.raises(ActivityFailed, match="no Kubernetes credentials found"):
        ready_replicas("web", "shop")


def test_wrong_token_is_a_401_failure(cluster: FakeCluster, cfg: dict[str, Any], tmp_path: Path) -> None:
    config = json.loads(Path(cfg["kubeconfig"]).read_text())
    config["users"][0]["user"]["token"] = "not-the-token"
    bad = tmp_path / "bad-kubeconfig"
    bad.write_text(json.dumps(config))
    with pytest.raises(ActivityFailed, match="401"):
        ready_replicas("web", "shop", configuration={**cfg, "kubeconfig": str(bad)})


def test_undo_data_names_the_cluster_but_holds_no_credentials(cluster: FakeCluster, cfg: dict[str, Any]) -> None:
    ref = ClusterRef.from_configuration(cfg)
    data = ref.undo_data()
    assert data == {"kubeconfig": cfg["kubeconfig"], "kube_context": "fake"}
    assert ClusterRef.from_undo(data) == ref


def test_chaosk8s_talks_to_the_same_fake(cluster: FakeCluster, kubeconfig: Path) -> None:
    """chaosk8s reads $KUBECONFIG at import and sets process-wide defaults: run it in its own process."""
    code = "from chaosk8s.pod.probes import count_pods; print(count_pods('app=web', ns='shop'))"
    env = {**os.environ, "KUBECONFIG": str(kubeconfig), "KUBERNETES_CONTEXT": "fake"}
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=60, check=False)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "3"


def test_discovery_shows_typed_arguments_and_docstrings() -> None:
    actions = {a["name"]: a for a in discover_activities("squall.actions.kubernetes", "action")}
    probes = {a["name"]: a for a in discover_activities("squall.probes.kubernetes", "probe")}
    assert set(actions) == {"kill_pods", "partition", "heal_partition", "scale", "restore_scale"}
    assert set(probes) == {"ready_replicas", "wait_ready", "pods_by_status"}
    args = {a["name"]: a for a in actions["kill_pods"]["arguments"]}
    assert args["count"] == {"name": "count", "default": 1, "type": "integer"}
    assert args["label_selector"]["type"] == "string"
    assert "label_selector" in actions["kill_pods"]["doc"]
    assert all(a["doc"] for a in [*actions.values(), *probes.values()])


def test_example_experiments_are_valid() -> None:
    from squall.validation import validate_experiment

    examples = sorted((Path(__file__).parents[2] / "experiments" / "kubernetes").glob("*.yaml"))
    assert len(examples) == 2
    for path in examples:
        assert validate_experiment(path, offline=True) == [], path
