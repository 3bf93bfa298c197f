"""scale / restore_scale: the previous count is remembered in the ledger and put back."""

from typing import Any

import pytest
from chaoslib.exceptions import ActivityFailed
from k8s_fake import FakeCluster

from squall import cleanup
from squall.actions.kubernetes import restore_scale, scale
from squall.ledger import Ledger


def replicas(cluster: FakeCluster, name: str) -> int:
    return int(cluster.deployments[("shop", name)]["spec"]["replicas"])


def test_scale_and_restore_to_the_count_before_the_run(cluster: FakeCluster, cfg: dict[str, Any]) -> None:
    assert scale("web", "shop", 5, configuration=cfg)["previous"] == 3
    assert scale("web", "shop", 4, configuration=cfg)["previous"] == 5
    assert replicas(cluster, "web") == 4
    result = restore_scale("web", "shop", configuration=cfg)
    assert result["restored"] is True and result["replicas"] == 3
    assert replicas(cluster, "web") == 3 and Ledger().open_entries() == []
    again = restore_scale("web", "shop", configuration=cfg)
    assert again["restored"] is False and replicas(cluster, "web") == 3


def test_scale_down_is_capped(cluster: FakeCluster, cfg: dict[str, Any]) -> None:
    with pytest.raises(ActivityFailed, match="2 of 3 pods .* k8s_max_fraction=0.5"):
        scale("web", "shop", 1, configuration=cfg)
    assert replicas(cluster, "web") == 3


def test_scale_dry_run_changes_nothing(cluster: FakeCluster, cfg: dict[str, Any]) -> None:
    result = scale("web", "shop", 2, dry_run=True, configuration=cfg)
    assert result == {"deployment": "web", "namespace": "shop", "previous": 3, "replicas": 2, "dry_run": True}
    assert cluster.mutations() == [] and Ledger().entries() == []


def test_missing_deployment_fails_with_404(cluster: FakeCluster, cfg: dict[str, Any]) -> None:
    with pytest.raises(ActivityFailed, match='refused to read the scale of deployment "nope" in namespace "shop": 404'):
        scale("nope", "shop", 2, configuration=cfg)


def test_cleanup_scales_back_newest_first(cluster: FakeCluster, cfg: dict[str, Any]) -> None:
    scale("web", "shop", 6, configuration=cfg)
    scale("web", "shop", 2, configuration={**cfg, "k8s_max_fraction": 1})
    results = cleanup.cleanup(Ledger())
    assert [r.removed for r in results] == [True, True]
    assert replicas(cluster, "web") == 3
    assert len([n for n in cluster.pod_names("shop") if n.startswith("web-")]) == 3


def test_a_lost_scale_response_is_scaled_back(cluster: FakeCluster, cfg: dict[str, Any]) -> None:
    cluster.lose_responses.append("PATCH")
    with pytest.raises(ActivityFailed, match="500"):
        scale("web", "shop", 5, configuration=cfg)
    assert replicas(cluster, "web") == 3
    (entry,) = Ledger().entries()
    assert entry.outcome == "failed-to-apply"
