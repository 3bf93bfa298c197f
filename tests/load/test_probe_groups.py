"""Probe traffic in the groups: an SLI target or a verifier whose headers carry the experiment marker.

With a fault scoped to ``squall.group=experiment``, the control's sampler can
watch both groups through the same proxy (one target each), and a verifier
whose requests carry the marker meets the fault; squall's own baggage member
(the run id) is kept beside the caller's.
"""

import time

from load_harness import Proxied

from squall import config
from squall.control.sampling import Timeline
from squall.control.settings import SliTarget
from squall.load import EXPERIMENT_SCOPE
from squall.load.groups import CONTROL, EXPERIMENT, group_of
from squall.toxiproxy_client import ToxiproxyClient
from squall.verify import fault_scope

MARK = {"baggage": EXPERIMENT_SCOPE}


def test_the_sampler_watches_both_groups_and_only_the_experiments_samples_meet_the_fault(proxied: Proxied) -> None:
    with ToxiproxyClient(proxied.toxiproxy) as client:
        client.add_toxic("payments", "http_error", {"status": 503, "baggage": EXPERIMENT_SCOPE}, name="storm")
        targets = [
            SliTarget("control", f"{proxied.proxied}/pay", interval_s=0.05, timeout_s=1.0,
                      headers={"baggage": "squall.group=control"}),
            SliTarget("experiment", f"{proxied.proxied}/pay", interval_s=0.05, timeout_s=1.0, headers=MARK),
        ]
        timeline = Timeline(targets, max_samples=10_000)
        timeline.start()
        try:
            deadline = time.monotonic() + 10
            while min(sum(1 for r in timeline.snapshot() if r[1] == n) for n in ("control", "experiment")) < 5 \
                    and time.monotonic() < deadline:
                time.sleep(0.05)
        finally:
            timeline.stop()
        events = client.stats("payments")["http"]["events"]
    rows = timeline.snapshot()
    control = [r for r in rows if r[1] == "control"]
    experiment = [r for r in rows if r[1] == "experiment"]
    assert len(control) >= 5 and len(experiment) >= 5
    assert all(r[2] == 1 and r[3] == 200 for r in control)  # crossed the same proxy unharmed
    assert all(r[2] == 0 and r[3] == 503 for r in experiment)
    assert events and all(e["baggage"].get("squall.run_id") == config.run_id() for e in events)  # kept beside
    assert {group_of(e["baggage"]) for e in events} == {CONTROL, EXPERIMENT}
    assert all(e["injected"] == (group_of(e["baggage"]) == EXPERIMENT) for e in events)


def test_a_verifier_whose_requests_carry_the_marker_meets_the_scoped_fault(proxied: Proxied) -> None:
    configuration = {"toxiproxy_url": proxied.toxiproxy}
    with ToxiproxyClient(proxied.toxiproxy) as client:
        client.add_toxic("payments", "http_error", {"status": 503, "baggage": EXPERIMENT_SCOPE}, name="storm")
    from squall.verify import fallback

    # the dependency's own /pay answers 200; through the scoped fault only the marked requests get 503
    marked = fallback(f"{proxied.proxied}/pay", requests=3, status=503, headers=MARK,
                      configuration=configuration)
    unmarked = fallback(f"{proxied.proxied}/pay", requests=3, status=503, configuration=configuration)
    assert marked["ok"], marked
    assert not unmarked["ok"], unmarked
    scope = fault_scope("payments", toxic="storm", configuration=configuration)
    assert scope["verdict"] == "passed", scope
