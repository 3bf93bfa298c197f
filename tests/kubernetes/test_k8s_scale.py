"""scale / restore_scale: the previous count is remembered in the ledger and put back."""

import re
from typing import Any

import pytest
from chaoslib.exceptions import ActivityFailed
from k8s_fake import FakeCluster

from squall import cleanup
from squall.actions.kubernetes import restore_scale, scale
from squall.errors import GuardrailRefused
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


# -- scaling up is capped ------------------------------------------------------------------
def test_scaling_to_a_hundred_thousand_replicas_is_refused(cluster: FakeCluster, cfg: dict[str, Any]) -> None:
    with pytest.raises(ActivityFailed, match=r"100000 replicas exceed the cap max_replicas=50") as exc:
        scale("web", "shop", 100_000, configuration=cfg)
    assert isinstance(exc.value.__cause__, GuardrailRefused)
    assert replicas(cluster, "web") == 3 and cluster.mutations() == [] and Ledger().entries() == []


def test_scaling_up_is_capped_at_a_factor_of_the_current_count(cluster: FakeCluster, cfg: dict[str, Any]) -> None:
    with pytest.raises(ActivityFailed, match=r"31 replicas are more than k8s_max_scale_factor=10 times the current 3 \(at most 30\)"):
        scale("web", "shop", 31, configuration=cfg)
    with pytest.raises(ActivityFailed, match=r"7 replicas are more than k8s_max_scale_factor=2 times the current 3"):
        scale("web", "shop", 7, configuration={**cfg, "k8s_max_scale_factor": 2})
    assert cluster.mutations() == []
    assert scale("web", "shop", 30, configuration=cfg)["replicas"] == 30  # exactly at the cap is fine
    assert replicas(cluster, "web") == 30


def test_a_higher_max_replicas_allows_more(cluster: FakeCluster, cfg: dict[str, Any]) -> None:
    result = scale("web", "shop", 60, max_replicas=100, configuration={**cfg, "k8s_max_scale_factor": 25})
    assert result["replicas"] == 60 and replicas(cluster, "web") == 60
    assert scale("web", "shop", 55, configuration={**cfg, "k8s_max_fraction": 1})["previous"] == 60  # down from above the cap


@pytest.mark.parametrize(("kwargs", "message"), [
    ({"replicas": "lots"}, "replicas is 'lots' (expected an integer >= 0)"),
    ({"replicas": -1}, "replicas is -1 (expected an integer >= 0)"),
    ({"replicas": True}, "replicas is True (expected an integer >= 0)"),
    ({"replicas": 4, "max_replicas": 0}, "max_replicas is 0 (expected an integer >= 1)"),
])
def test_bad_counts_are_named_before_any_request(cluster: FakeCluster, cfg: dict[str, Any], kwargs: dict[str, Any],
                                                 message: str) -> None:
    with pytest.raises(ActivityFailed, match=re.escape(message)):
        scale("web", "shop", configuration=cfg, **kwargs)
    assert cluster.requests == []
