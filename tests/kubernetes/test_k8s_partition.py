"""partition / heal_partition: the NetworkPolicy squall writes, its labels, the ledger, undo."""

import os
from typing import Any

import pytest
from chaoslib.exceptions import ActivityFailed
from k8s_fake import FakeCluster

from squall import cleanup
from squall.actions.kubernetes import heal_partition, partition, undo_entry
from squall.errors import GuardrailRefused
from squall.ledger import Ledger


def only_policy(cluster: FakeCluster) -> dict[str, Any]:
    (policy,) = cluster.policies.values()
    return policy


def test_partition_between_two_groups(cluster: FakeCluster, cfg: dict[str, Any]) -> None:
    result = partition("shop", "app=web", "app=db", configuration=cfg)
    policy = only_policy(cluster)
    meta, spec = policy["metadata"], policy["spec"]
    assert meta["name"] == result["name"] and meta["namespace"] == "shop"
    assert meta["labels"] == {"app.kubernetes.io/managed-by": "squall", "squall.dev/run-id": os.environ["SQUALL_RUN_ID"]}
    assert spec["podSelector"] == {"matchLabels": {"app": "web"}}
    assert spec["policyTypes"] == ["Ingress", "Egress"]
    # everything except app=db may still talk to web: same-namespace pods not labelled app=db, other namespaces
    peers = spec["ingress"][0]["from"]
    assert peers == spec["egress"][0]["to"]
    assert {"podSelector": {"matchExpressions": [{"key": "app", "operator": "NotIn", "values": ["db"]}]}} in peers
    assert {"namespaceSelector": {"matchExpressions": [
        {"key": "kubernetes.io/metadata.name", "operator": "NotIn", "values": ["shop"]}]}} in peers
    (entry,) = Ledger().open_entries()
    assert entry.kind == "k8s.networkpolicy"
    assert entry.undo["namespace"] == "shop" and entry.undo["name"] == meta["name"]
    assert entry.undo["kube_context"] == "fake" and entry.undo["kubeconfig"] == cfg["kubeconfig"]
    assert "token" not in str(entry) and cluster.token not in str(entry)


@pytest.mark.parametrize("direction,types", [("ingress", ["Ingress"]), ("egress", ["Egress"])])
def test_isolating_one_group_in_one_direction(cluster: FakeCluster, cfg: dict[str, Any], direction: str,
                                              types: list[str]) -> None:
    partition("shop", "app=db", direction=direction, configuration=cfg)
    spec = only_policy(cluster)["spec"]
    assert spec["policyTypes"] == types
    assert spec[direction] == []  # no rule: nothing allowed in that direction
    assert ({"ingress", "egress"} - {direction}).isdisjoint(spec)


def test_heal_removes_the_policy_and_strikes_the_ledger(cluster: FakeCluster, cfg: dict[str, Any]) -> None:
    first = partition("shop", "app=web", "app=db", configuration=cfg)
    partition("shop", "app=db", direction="ingress", configuration=cfg)
    assert len(cluster.policies) == 2
    assert heal_partition("shop", name=first["name"], configuration=cfg)["removed"] == [first["name"]]
    assert len(cluster.policies) == 1
    healed = heal_partition("shop", configuration=cfg)
    assert len(healed["removed"]) == 1 and cluster.policies == {}
    assert Ledger().open_entries() == []
    assert heal_partition("shop", configuration=cfg)["removed"] == []  # idempotent, as a rollback must be


def test_heal_leaves_other_policies_alone(cluster: FakeCluster, cfg: dict[str, Any]) -> None:
    cluster.policies[("shop", "default-deny")] = {
        "apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy",
        "metadata": {"name": "default-deny", "namespace": "shop", "labels": {"app.kubernetes.io/managed-by": "squall",
                                                                             "squall.dev/run-id": "another-run"}},
        "spec": {"podSelector": {}}}
    partition("shop", "app=web", configuration=cfg)
    heal_partition("shop", configuration=cfg)
    assert list(cluster.policies) == [("shop", "default-deny")]


def test_dry_run_returns_the_policy_and_creates_nothing(cluster: FakeCluster, cfg: dict[str, Any]) -> None:
    result = partition("shop", "app=web", "app=db", dry_run=True, configuration=cfg)
    assert result["dry_run"] is True and result["policy"]["spec"]["podSelector"] == {"matchLabels": {"app": "web"}}
    assert result["matched"] == 3  # a dry run reads the pods (for the blast radius), and changes nothing
    assert cluster.mutations() == [] and Ledger().entries() == []


def test_bad_direction_and_selector_are_named(cluster: FakeCluster, cfg: dict[str, Any]) -> None:
    with pytest.raises(ActivityFailed, match=r'direction "sideways" is not valid \(expected one of: both, ingress, egress\)'):
        partition("shop", "app=web", direction="sideways", configuration=cfg)  # type: ignore[arg-type]
    with pytest.raises(ActivityFailed, match="from_selector is empty"):
        partition("shop", " ", configuration=cfg)
    assert cluster.requests == [] and Ledger().entries() == []


def test_api_refusal_fails_and_leaves_nothing_open(cluster: FakeCluster, cfg: dict[str, Any]) -> None:
    cluster.forbid("shop", "POST")
    with pytest.raises(ActivityFailed, match=r'refused to create NetworkPolicy "squall-partition-.*" in namespace "shop": 403'):
        partition("shop", "app=web", configuration=cfg)
    (entry,) = Ledger().entries()
    assert entry.outcome == "failed-to-apply" and not entry.is_open


def test_cleanup_undoes_from_the_ledger_alone_and_is_idempotent(cluster: FakeCluster, cfg: dict[str, Any]) -> None:
    """squall.cleanup builds the client from the entry's undo data: no configuration needed."""
    partition("shop", "app=web", "app=db", configuration=cfg)
    ledger = Ledger()
    (entry,) = ledger.open_entries()
    (res,) = cleanup.cleanup(ledger)
    assert res.removed and "deleted" in res.message and cluster.policies == {}
    assert ledger.open_entries() == []
    assert "already gone" in undo_entry(entry)


def test_a_lost_response_is_undone_not_left_behind(cluster: FakeCluster, cfg: dict[str, Any]) -> None:
    """The API made the change but answered 500: squall cannot know, so it removes the policy at once."""
    cluster.lose_responses.append("POST")
    with pytest.raises(ActivityFailed, match="500"):
        partition("shop", "app=web", "app=db", configuration=cfg)
    assert cluster.policies == {}
    (entry,) = Ledger().entries()
    assert entry.outcome == "failed-to-apply"


# -- blast radius ------------------------------------------------------------------------
@pytest.mark.parametrize("selector", ["app", "app in (web,db)", "app!=cache"])
def test_a_selector_matching_the_whole_namespace_is_refused(cluster: FakeCluster, cfg: dict[str, Any], selector: str) -> None:
    with pytest.raises(ActivityFailed, match=r"matches every pod of the namespace \(4 of 4\).*k8s_allow_whole_namespace") as exc:
        partition("shop", selector, configuration=cfg)
    assert isinstance(exc.value.__cause__, GuardrailRefused)
    assert cluster.mutations() == [] and cluster.policies == {} and Ledger().entries() == []


def test_a_partition_beyond_the_namespace_fraction_is_refused(cluster: FakeCluster, cfg: dict[str, Any]) -> None:
    for i in range(6):
        cluster.add_pod("shop", f"worker-{i}", {"app": "worker", "tier": "back"})
    cluster.add_pod("shop", "api-0", {"app": "api", "tier": "back"})
    # tier=back: 7 of 11 pods (64%) is fine by default (0.8), not with a tighter cap
    assert partition("shop", "tier=back", dry_run=True, configuration=cfg)["matched"] == 7
    with pytest.raises(ActivityFailed, match=r"matches 7 of the namespace's 11 pods \(64%\).*k8s_partition_max_fraction=0.5"):
        partition("shop", "tier=back", configuration={**cfg, "k8s_partition_max_fraction": 0.5})
    assert cluster.policies == {}


def test_a_whole_namespace_partition_when_told_so(cluster: FakeCluster, cfg: dict[str, Any]) -> None:
    result = partition("shop", "app", configuration={**cfg, "k8s_allow_whole_namespace": True})
    assert result["matched"] == 4 and len(cluster.policies) == 1
