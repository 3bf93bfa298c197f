"""kill_pods against the fake API server: the right pods die, the pick is seedable, refusals fail."""

from typing import Any

import pytest
from chaoslib.exceptions import ActivityFailed
from k8s_fake import FakeCluster, kubeconfig_text, running

from squall.actions.kubernetes import kill_pods
from squall.ledger import Ledger


def test_kills_one_matching_pod_and_leaves_others(cluster: FakeCluster, cfg: dict[str, Any]) -> None:
    cluster.add_pod("shop", "web-lookalike", {"app": "website"})
    result = kill_pods("app=web", "shop", configuration=cfg)
    assert result["matched"] == 3
    assert len(result["killed"]) == 1 and result["killed"][0].startswith("web-")
    names = cluster.pod_names("shop")
    assert result["killed"][0] not in names
    assert "web-lookalike" in names and "db-0" in names
    # the fake deployment controller replaced the pod: three web pods again
    assert sum(1 for n in names if n.startswith("web-") and n != "web-lookalike") == 3


def test_seed_makes_the_pick_repeatable(cfg: dict[str, Any]) -> None:
    picks = []
    for _ in range(2):
        with running() as fake:
            for i in range(8):
                fake.add_pod("shop", f"api-{i}", {"app": "api"})
            path = cfg["kubeconfig"] + f".{len(picks)}"
            with open(path, "w") as fh:
                fh.write(kubeconfig_text(fake.url, fake.token))
            picks.append(kill_pods("app=api", "shop", count=3, seed=42,
                                   configuration={**cfg, "kubeconfig": path})["killed"])
    assert picks[0] == picks[1] and len(set(picks[0])) == 3


def test_fraction_rounds_up_and_grace_period_is_sent(cluster: FakeCluster, cfg: dict[str, Any]) -> None:
    for i in range(5):
        cluster.add_pod("shop", f"worker-{i}", {"app": "worker"})
    result = kill_pods("app=worker", "shop", fraction=0.3, grace_period_s=7, configuration=cfg)
    assert len(result["killed"]) == 2  # ceil(0.3 * 5)
    assert [d[2] for d in cluster.deletions] == [{"gracePeriodSeconds": 7}] * 2


def test_set_based_selector_is_honoured(cluster: FakeCluster, cfg: dict[str, Any]) -> None:
    cluster.add_pod("shop", "blue-0", {"app": "svc", "track": "blue"})
    cluster.add_pod("shop", "green-0", {"app": "svc", "track": "green"})
    cluster.add_pod("shop", "green-1", {"app": "svc", "track": "green"})
    result = kill_pods("app=svc,track notin (blue)", "shop", seed=3, configuration=cfg)
    assert result["matched"] == 2 and result["killed"][0].startswith("green-")
    assert "blue-0" in cluster.pod_names("shop")


def test_no_matching_pod_fails(cluster: FakeCluster, cfg: dict[str, Any]) -> None:
    with pytest.raises(ActivityFailed, match='no running pods match label selector "app=nothing" in namespace "shop"'):
        kill_pods("app=nothing", "shop", configuration=cfg)
    assert cluster.mutations() == []


def test_forbidden_namespace_fails_with_the_api_message(cluster: FakeCluster, cfg: dict[str, Any]) -> None:
    cluster.add_deployment("locked", "web", 3)
    cluster.forbid("locked")
    with pytest.raises(ActivityFailed, match=r'403.*cannot get resource "pods" in the namespace "locked"'):
        kill_pods("app=web", "locked", configuration={**cfg, "k8s_namespace_allowlist": ["shop", "locked"]})
    assert len(cluster.pod_names("locked")) == 3


def test_refused_delete_fails_and_is_recorded(cluster: FakeCluster, cfg: dict[str, Any]) -> None:
    """Listing is allowed but deleting is not: the activity fails (chaosk8s reports success here)."""
    cluster.add_deployment("ro", "web", 3)
    cluster.forbid("ro", "DELETE")
    with pytest.raises(ActivityFailed, match=r'refused to delete pod "web-\d" in namespace "ro": 403'):
        kill_pods("app=web", "ro", configuration={**cfg, "k8s_namespace_allowlist": ["ro"]})
    assert len(cluster.pod_names("ro")) == 3
    (entry,) = Ledger().entries()
    assert entry.kind == "k8s.podkill" and entry.outcome == "failed-to-apply"


def test_dry_run_names_the_pods_and_kills_none(cluster: FakeCluster, cfg: dict[str, Any]) -> None:
    result = kill_pods("app=web", "shop", count=2, seed=1, dry_run=True,
                       configuration={**cfg, "k8s_max_fraction": 0.7})
    assert result["dry_run"] is True and result["killed"] == []
    assert len(result["would_kill"]) == 2 and set(result["would_kill"]) <= cluster.pod_names("shop")
    assert cluster.mutations() == [] and Ledger().entries() == []


def test_dry_run_from_configuration(cluster: FakeCluster, cfg: dict[str, Any]) -> None:
    result = kill_pods("app=web", "shop", configuration={**cfg, "k8s_dry_run": "true"})
    assert result["dry_run"] is True and cluster.mutations() == []
    # a "false" string from an environment variable is false, not a truthy string
    result = kill_pods("app=web", "shop", dry_run="false", configuration={**cfg, "k8s_dry_run": "false"})  # type: ignore[arg-type]
    assert result["dry_run"] is False and len(result["killed"]) == 1


def test_bad_arguments_fail_before_any_request(cluster: FakeCluster, cfg: dict[str, Any]) -> None:
    with pytest.raises(ActivityFailed, match=r"count is 0 \(expected an integer >= 1\)"):
        kill_pods("app=web", "shop", count=0, configuration=cfg)
    with pytest.raises(ActivityFailed, match=r"count=2 and fraction=0.5 both given"):
        kill_pods("app=web", "shop", count=2, fraction=0.5, configuration=cfg)
    with pytest.raises(ActivityFailed, match=r"fraction is 1.5"):
        kill_pods("app=web", "shop", fraction=1.5, configuration=cfg)
    with pytest.raises(ActivityFailed, match=r"label selector '' is empty"):
        kill_pods("", "shop", configuration=cfg)
    with pytest.raises(ActivityFailed, match=r'cannot read "app in web"'):
        kill_pods("app in web", "shop", configuration=cfg)
    assert cluster.requests == []


# -- the API server dies after deleting -------------------------------------------------------
@pytest.mark.parametrize("cuts", [1, 2], ids=["retry-answers-404", "retry-dies-too"])
def test_a_delete_whose_answer_is_lost_is_read_back_and_counted(cluster: FakeCluster, cfg: dict[str, Any], cuts: int) -> None:
    cluster.cut_after.extend(["DELETE"] * cuts)
    result = kill_pods("app=web", "shop", seed=1, configuration=cfg)
    (victim,) = result["killed"]
    assert victim not in cluster.pod_names("shop")
    assert ("GET", f"/api/v1/namespaces/shop/pods/{victim}") in cluster.requests  # read back, not guessed
    (entry,) = Ledger().entries()
    assert entry.outcome == "killed"


def test_a_pod_still_terminating_after_a_lost_answer_counts_as_killed(cluster: FakeCluster, cfg: dict[str, Any]) -> None:
    cluster.graceful = True
    cluster.cut_after.extend(["DELETE", "DELETE"])
    result = kill_pods("app=web", "shop", seed=2, grace_period_s=30, configuration=cfg)
    (victim,) = result["killed"]
    assert cluster.pods[("shop", victim)]["metadata"]["deletionTimestamp"]
