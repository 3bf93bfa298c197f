"""Verifier: while the dependency hangs or is slow, the service still answers within its time budget."""

from squall.activity import activity
from squall.errors import ExperimentInvalid
from squall.probes.sli import summarize
from squall.verify._common import check_count, check_seconds, result
from squall.verify._observe import Observer

__all__ = ["timeout"]


@activity(role="verify")
def timeout(
    url: str,
    budget_ms: float,
    requests: int = 5,
    require_success: bool = False,
    give_up_s: float | None = None,
    headers: dict | None = None,
    configuration: dict | None = None,
) -> dict:
    """Check that `url` answers within `budget_ms` (p99) instead of hanging while its dependency is slow or hangs.

    Sends `requests` requests one after another; each one is abandoned after
    `give_up_s` (default: 2 × budget + 1 s), which counts as a hang.
    `require_success`: answers must also be successful (2xx/3xx), e.g. a fallback.
    """
    if isinstance(budget_ms, bool) or not isinstance(budget_ms, (int, float)) or budget_ms <= 0:
        raise ExperimentInvalid(f"budget_ms={budget_ms!r} (expected a positive number of milliseconds)")
    check_count("requests", requests, 1, 200)
    limit = check_seconds("give_up_s", give_up_s) if give_up_s is not None else budget_ms / 500.0 + 1.0
    with Observer("timeout", url, configuration, headers=headers) as obs:
        for _ in range(requests):
            obs.call(limit)
    samples = [c.sample for c in obs.calls]
    summary = summarize(samples)
    hung = sum(1 for s in samples if s.error == "timeout")
    problems = []
    if hung:
        problems.append(f"{hung} of {requests} request(s) hung past {limit:.1f} s")
    if summary["p99_ms"] is not None and summary["p99_ms"] > budget_ms:
        problems.append(f"p99 {summary['p99_ms']:.0f} ms > budget {budget_ms:.0f} ms")
    if require_success and summary["success_rate"] < 1.0:
        problems.append(f"only {summary['success_rate']:.0%} of answers successful")
    evidence = {"budget_ms": budget_ms, "give_up_s": limit, **summary,
                "latencies_ms": [s.latency_ms for s in samples]}
    if problems:
        return result("timeout", False, "; ".join(problems), evidence)
    return result("timeout", True, f"p99 {summary['p99_ms']:.0f} ms within budget {budget_ms:.0f} ms over {requests} requests", evidence)
