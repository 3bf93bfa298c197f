"""Guardrails refuse before anything is changed, and say which setting refused."""

from typing import Any

import pytest
from chaoslib.exceptions import ActivityFailed
from k8s_fake import FakeCluster

from squall.actions.kubernetes import kill_pods, partition, scale
from squall.errors import GuardrailRefused
from squall.ledger import Ledger


def refused(excinfo: pytest.ExceptionInfo[ActivityFailed]) -> bool:
    return isinstance(excinfo.value.__cause__, GuardrailRefused)


@pytest.mark.parametrize(
    "call",
    [
        lambda cfg, ns: kill_pods("app=web", ns, configuration=cfg),
        lambda cfg, ns: partition(ns, "app=web", "app=db", configuration=cfg),
        lambda cfg, ns: scale("web", ns, 2, configuration=cfg),
    ],
    ids=["kill_pods", "partition", "scale"],
)
def test_namespace_outside_allowlist_is_refused_by_every_action(
    cluster: FakeCluster, cfg: dict[str, Any], call: Any
) -> None:
    cluster.add_deployment("payments", "web", 3)
    with pytest.raises(ActivityFailed, match=r'namespace "payments" is not in k8s_namespace_allowlist \(allowlist: shop\)') as exc:
        call(cfg, "payments")
    assert refused(exc)
    assert cluster.requests == [] and Ledger().entries() == []


def test_kube_system_is_refused_even_with_a_wildcard(cluster: FakeCluster, cfg: dict[str, Any]) -> None:
    cluster.add_deployment("kube-system", "coredns", 2)
    with pytest.raises(ActivityFailed, match='namespace "kube-system" refused: system namespaces must be named'):
        kill_pods("app=coredns", "kube-system", configuration={**cfg, "k8s_namespace_allowlist": ["*"]})
    assert cluster.requests == []
    # named explicitly, it is allowed
    result = kill_pods("app=coredns", "kube-system",
                       configuration={**cfg, "k8s_namespace_allowlist": "shop, kube-system"})
    assert len(result["killed"]) == 1


def test_wildcard_allows_ordinary_namespaces(cluster: FakeCluster, cfg: dict[str, Any]) -> None:
    cluster.add_deployment("team-a", "web", 2)
    result = kill_pods("app=web", "team-a", configuration={**cfg, "k8s_namespace_allowlist": ["*"]})
    assert len(result["killed"]) == 1


def test_no_allowlist_refuses_and_says_how_to_allow(cluster: FakeCluster, cfg: dict[str, Any]) -> None:
    cfg = {k: v for k, v in cfg.items() if k != "k8s_namespace_allowlist"}
    with pytest.raises(ActivityFailed, match=r'no k8s_namespace_allowlist is configured .*\["shop"\]'):
        kill_pods("app=web", "shop", configuration=cfg)
    assert cluster.requests == []


def test_only_replica_is_refused_unless_allowed(cluster: FakeCluster, cfg: dict[str, Any]) -> None:
    with pytest.raises(ActivityFailed, match="refusing to remove the only replica .*k8s_allow_last_replica") as exc:
        kill_pods("app=db", "shop", configuration=cfg)
    assert refused(exc) and cluster.mutations() == [] and "db-0" in cluster.pod_names("shop")
    result = kill_pods("app=db", "shop", configuration={**cfg, "k8s_allow_last_replica": True})
    assert result["killed"] == ["db-0"] and "db-0" not in cluster.pod_names("shop")


def test_max_pods_caps_the_blast_radius(cluster: FakeCluster, cfg: dict[str, Any]) -> None:
    for i in range(10):
        cluster.add_pod("shop", f"batch-{i}", {"app": "batch"})
    with pytest.raises(ActivityFailed, match="3 pods exceed the blast-radius cap k8s_max_pods=2"):
        kill_pods("app=batch", "shop", count=3, configuration={**cfg, "k8s_max_pods": 2})
    assert cluster.mutations() == []


def test_max_fraction_caps_the_blast_radius(cluster: FakeCluster, cfg: dict[str, Any]) -> None:
    with pytest.raises(ActivityFailed, match=r"2 of 3 pods \(67%\) exceed the blast-radius cap k8s_max_fraction=0.5"):
        kill_pods("app=web", "shop", count=2, configuration=cfg)
    assert cluster.mutations() == []
    result = kill_pods("app=web", "shop", count=2, configuration={**cfg, "k8s_max_fraction": 0.75})
    assert len(result["killed"]) == 2


def test_scale_to_zero_is_the_last_replica_rule(cluster: FakeCluster, cfg: dict[str, Any]) -> None:
    with pytest.raises(ActivityFailed, match='scale deployment "db" .* from 1 to 0: refusing to remove the only replica'):
        scale("db", "shop", 0, configuration=cfg)
    assert cluster.mutations() == [] and Ledger().entries() == []


def test_bad_guardrail_values_are_named(cluster: FakeCluster, cfg: dict[str, Any]) -> None:
    with pytest.raises(ActivityFailed, match=r"k8s_max_fraction is 2.0 \(expected a number in \(0, 1\]\)"):
        kill_pods("app=web", "shop", configuration={**cfg, "k8s_max_fraction": 2})
    with pytest.raises(ActivityFailed, match=r"k8s_allow_last_replica is 'maybe' \(expected true or false\)"):
        kill_pods("app=web", "shop", configuration={**cfg, "k8s_allow_last_replica": "maybe"})
    with pytest.raises(ActivityFailed, match=r"k8s_namespace_allowlist is 5 \(expected a list of namespace names\)"):
        kill_pods("app=web", "shop", configuration={**cfg, "k8s_namespace_allowlist": 5})
    assert cluster.requests == []
