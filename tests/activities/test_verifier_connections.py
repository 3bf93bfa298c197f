"""Connections reset before a request head carry no trace id: a verifier attributes them only while nothing else can run.

The service forwards ``traceparent`` (trace attribution), but under
``reset_peer`` with timeout 0 most of its attempts never get a request head to
the proxy, so only time can attribute them. The control's SLI sampler calls
the same service meanwhile; its reset connections must never be counted as the
verifier's requests' attempts.
"""

from collections.abc import Iterator
from contextlib import contextmanager

import httpx
from services import clients
from services.system import System
from test_verifier_findings import NO_BREAKER, sampling, verdict

from squall.actions import toxiproxy as tp
from squall.background import serve_app
from squall.verify import retries


@contextmanager
def traced_service(system: System) -> Iterator[str]:
    """A service that retries once (2 attempts per request) and forwards traceparent, like an OpenTelemetry client."""
    settings = clients.Settings(forward_run_id=False, forward_traceparent=True, breaker_threshold=NO_BREAKER,
                                max_attempts=2)
    with serve_app(lambda: clients.make_resilient_app(f"{system.proxied}/pay", settings)) as url:
        yield f"{url}/checkout"


def test_reset_connections_of_the_samplers_requests_are_not_counted_as_the_verifiers(system: System) -> None:
    cfg = system.configuration
    tp.reset_peer("payments", timeout_ms=0, configuration=cfg)
    # 2 attempts per request, each re-sent once by aiohttp after a reset: at most 4 connections per request
    with traced_service(system) as url, sampling(url, interval_s=0.05, timeout_s=1.0):
        results = [retries(url, "payments", requests=3, max_attempts_per_request=4, configuration=cfg)
                   for _ in range(3)]
    for result in results:
        assert verdict(result) == "passed", result
        ev = result["evidence"]
        assert max(ev["attempts_per_request"]) <= 4 and ev["connection_attempts"] > 0, ev
        assert ev["sampling_held"] is True  # the connections were attributed by time: the sampler stayed out


def test_a_fault_spent_by_other_traffic_before_the_verifier_is_inconclusive_and_says_so(system: System,
                                                                                         resilient_url: str) -> None:
    cfg = system.configuration
    tp.add_http_error("payments", status=503, first_n=2, configuration=cfg)
    with httpx.Client(trust_env=False) as client:  # another user: its request meets both injected answers
        client.get(resilient_url, timeout=5.0)
    result = retries(resilient_url, "payments", requests=2, configuration=cfg)
    assert verdict(result) == "inconclusive", result
    assert "the fault was spent before the verifier's requests" in result["summary"], result["summary"]
    assert result["evidence"]["attempts_per_request"] == [1, 1]  # both answered by payments itself
