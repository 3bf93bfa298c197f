"""Probes: ready replicas, waiting for recovery after a pod kill, pods by status."""

import time
from typing import Any

import pytest
from chaoslib.exceptions import ActivityFailed
from k8s_fake import FakeCluster

from squall.actions.kubernetes import kill_pods
from squall.probes.kubernetes import pods_by_status, ready_replicas, wait_ready


def test_wait_ready_sees_the_dip_and_the_recovery(cluster: FakeCluster, cfg: dict[str, Any]) -> None:
    assert ready_replicas("web", "shop", configuration=cfg) == 3
    kill_pods("app=web", "shop", configuration=cfg)
    assert ready_replicas("web", "shop", configuration=cfg) == 2  # the replacement is Pending for 0.2 s
    status = pods_by_status("app=web", "shop", configuration=cfg)
    assert status["total"] == 3 and status["ready"] == 2 and status["phases"] == {"Running": 2, "Pending": 1}
    assert wait_ready("web", "shop", timeout_s=30, configuration=cfg) is True
    assert ready_replicas("web", "shop", configuration=cfg) == 3


def test_wait_ready_fails_when_the_workload_does_not_recover(cluster: FakeCluster, cfg: dict[str, Any]) -> None:
    cluster.add_deployment("shop", "stuck", 2, recover_s=None)
    kill_pods("app=stuck", "shop", configuration=cfg)
    started = time.monotonic()
    with pytest.raises(ActivityFailed, match=r'deployment "stuck" in namespace "shop" not ready after 1 s: 1 of 2'):
        wait_ready("stuck", "shop", timeout_s=1, configuration=cfg)
    assert time.monotonic() - started < 20  # bounded, not hanging


def test_probes_fail_on_api_errors(cluster: FakeCluster, cfg: dict[str, Any]) -> None:
    with pytest.raises(ActivityFailed, match='deployment "ghost" in namespace "shop": 404'):
        ready_replicas("ghost", "shop", configuration=cfg)
    cluster.forbid("shop")
    with pytest.raises(ActivityFailed, match="403"):
        pods_by_status("app=web", "shop", configuration=cfg)
