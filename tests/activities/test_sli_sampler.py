"""The SLI sampler against a real service on 127.0.0.1: what a user reads in the probe output."""

import json
import socket

import pytest
from chaoslib.exceptions import ActivityFailed

from squall import config
from squall.probes import sli


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_probe_once_and_summarize_measure_statuses(dependency_url: str) -> None:
    with sli.make_client() as client:
        samples = [sli.probe_once(client, f"{dependency_url}/pay") for _ in range(4)]
        samples.append(sli.probe_once(client, f"{dependency_url}/status/503"))
    assert [s.ok for s in samples] == [True, True, True, True, False]
    assert samples[-1].status == 503 and samples[-1].error is None
    summary = sli.summarize(samples)
    assert summary["count"] == 5
    assert summary["success_rate"] == 0.8
    assert summary["statuses"] == {"200": 4, "503": 1}
    assert 0 < summary["p50_ms"] <= summary["p95_ms"] <= summary["max_ms"]


def test_requests_carry_the_run_id(dependency_url: str) -> None:
    with sli.make_client() as client:
        response = client.get(f"{dependency_url}/pay", headers={config.RUN_ID_HEADER: config.run_id()})
    assert response.json()["run_id"] == config.run_id()
    samples = sli.collect(f"{dependency_url}/pay", requests=1)
    assert samples[0].ok


def test_refused_connection_is_a_failed_sample_not_a_crash() -> None:
    result = sli.sample(f"http://127.0.0.1:{_closed_port()}/", requests=3, timeout_s=1.0)
    assert result["count"] == 3
    assert result["success_rate"] == 0.0
    assert result["errors"] == {"refused": 3}


def test_timeout_is_classified(dependency_url: str) -> None:
    result = sli.sample(f"{dependency_url}/slow?s=2", requests=1, timeout_s=0.2)
    assert result["errors"] == {"timeout": 1}


def test_rate_paced_sampling_is_concurrent_and_bounded(dependency_url: str) -> None:
    # 10 requests of 0.3 s each at 20/s: sequential would take 3 s, concurrent well under.
    result = sli.sample(f"{dependency_url}/slow?s=0.3", duration_s=0.5, rate_per_s=20)
    assert result["count"] == 10
    assert result["success_rate"] == 1.0
    assert result["p50_ms"] >= 250


def test_expect_status_and_slo_verdicts(dependency_url: str) -> None:
    assert sli.sample(f"{dependency_url}/status/404", requests=2, expect_status=404)["success_rate"] == 1.0
    held = sli.meets_slo(f"{dependency_url}/pay", requests=5, max_p95_ms=5000)
    broken = sli.meets_slo(f"{dependency_url}/status/500", requests=5)
    # Chaos Toolkit checks `tolerance: true` with `value == True`.
    assert held == True and not (held == False) and held  # noqa: E712
    assert broken == False and broken != True and not broken  # noqa: E712
    # ... while the journal keeps the measured numbers.
    assert held["count"] == 5 and held["success_rate"] == 1.0 and held["p95_ms"] is not None
    assert broken["success_rate"] == 0.0 and "success rate 0.00% < 99.00%" in broken["summary"]
    assert json.loads(json.dumps(broken))["statuses"] == {"500": 5}
    report = sli.slo_report(f"{dependency_url}/slow?s=0.1", requests=3, max_p95_ms=20)
    assert report["ok"] is False and "p95" in report["summary"]


def test_bad_arguments_are_named() -> None:
    with pytest.raises(ActivityFailed, match='url "localhost:1" is not an http'):
        sli.sample("localhost:1")
    with pytest.raises(ActivityFailed, match="requests=0"):
        sli.sample("http://127.0.0.1:1/", requests=0)


def test_duration_bounds_sequential_sampling(dependency_url: str) -> None:
    result = sli.sample(f"{dependency_url}/slow?s=0.1", duration_s=0.5)
    assert 2 <= result["count"] <= 6  # about five 0.1 s requests fit in 0.5 s
    assert result["success_rate"] == 1.0
