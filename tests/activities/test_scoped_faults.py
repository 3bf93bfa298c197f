"""Scoped HTTP faults through the activities: the actions, the fault_scope verifier, and `squall validate`."""

import time
from pathlib import Path

import httpx
import pytest
from chaoslib.exceptions import ActivityFailed
from click.testing import CliRunner
from services.system import System

from squall import config
from squall.actions import toxiproxy as tp
from squall.ledger import Ledger
from squall.toxiproxy_client import ToxiproxyClient
from squall.validate import command
from squall.validation import validate_experiment
from squall.verify import fault_scope

EXPERIMENT = {"baggage": "squall.run_id=r,squall.group=experiment"}
CONTROL = {"baggage": "squall.run_id=r,squall.group=control"}


def _get(system: System, path: str, headers: dict[str, str] | None = None) -> httpx.Response:
    with httpx.Client(trust_env=False, timeout=10) as c:
        return c.get(f"{system.proxied}{path}", headers=headers)


def _mixed_traffic(system: System) -> list[int]:
    """Experiment and control requests in turn, and one unmarked: the statuses the client got."""
    return [_get(system, "/pay", h).status_code for h in (EXPERIMENT, CONTROL, EXPERIMENT, None, CONTROL)]


def test_scoped_http_error_hits_only_the_experiment_group_and_says_so(system: System) -> None:
    out = tp.add_http_error("payments", status=503, baggage="squall.group=experiment", name="storm",
                            configuration=system.configuration)
    assert out["scope"] == "baggage squall.group=experiment"
    assert out["toxic"]["attributes"]["baggage"] == "squall.group=experiment"
    [entry] = Ledger(config.ledger_path()).open_entries()
    assert entry.description == "HTTP 503 [baggage squall.group=experiment] on payments (100% of requests, upstream)"
    assert _mixed_traffic(system) == [503, 200, 503, 200, 200]
    tp.remove_toxic("payments", "storm", configuration=system.configuration)
    verdict = fault_scope("payments", toxic="storm", configuration=system.configuration)
    assert verdict["verdict"] == "passed", verdict["summary"]
    ev = verdict["evidence"]
    assert (ev["matched"], ev["unmatched"], ev["faulted"], ev["faulted_outside_scope"]) == (2, 3, 2, 0)
    assert "all 2 faulted request(s) were inside the scope [baggage squall.group=experiment]" in verdict["summary"]
    # the scope the experiment meant, given to the verifier, gives the same answer
    meant = fault_scope("payments", baggage="squall.group=experiment", configuration=system.configuration)
    assert meant["verdict"] == "passed" and meant["evidence"]["scope_given"] is True


def test_the_verifier_fails_an_unscoped_fault_that_hit_unmarked_traffic(system: System) -> None:
    tp.add_http_error("payments", status=503, name="storm", configuration=system.configuration)
    assert _mixed_traffic(system) == [503] * 5
    tp.heal("payments", configuration=system.configuration)
    verdict = fault_scope("payments", toxic="storm", baggage="squall.group=experiment",
                          configuration=system.configuration)
    assert verdict["verdict"] == "failed" and verdict["ok"] is False
    assert verdict["summary"].startswith("3 of 5 faulted request(s) were outside the scope [baggage squall.group=experiment]")
    assert verdict["evidence"]["faulted_outside_scope"] == 3
    assert [e["baggage"].get("squall.group") for e in verdict["evidence"]["outside_examples"]] == ["control", None, "control"]


def test_the_verifier_is_inconclusive_when_the_scope_never_saw_traffic(system: System) -> None:
    tp.add_http_latency("payments", 200, path_prefix="/refunds", name="slow-refunds", configuration=system.configuration)
    assert _mixed_traffic(system) == [200] * 5
    verdict = fault_scope("payments", toxic="slow-refunds", configuration=system.configuration)
    assert verdict["verdict"] == "inconclusive"
    assert verdict["summary"].startswith("the scope never saw traffic: no request matched [/refunds*]")
    unknown = fault_scope("payments", toxic="nope", configuration=system.configuration)
    assert unknown["verdict"] == "inconclusive" and "counted: slow-refunds" in unknown["summary"]


def test_scoped_http_latency_delays_only_matching_requests(system: System) -> None:
    out = tp.add_http_latency("payments", 300, header_name="X-Canary", header_value="1", name="canary-slow",
                              configuration=system.configuration)
    assert out["description"] == "HTTP latency 300 ms [header X-Canary: 1] on payments (100% of requests, upstream)"
    start = time.monotonic()
    assert _get(system, "/pay", {"X-Canary": "1"}).status_code == 200
    assert time.monotonic() - start >= 0.29
    assert _get(system, "/pay", {"X-Canary": "0"}).status_code == 200
    verdict = fault_scope("payments", toxic="canary-slow", configuration=system.configuration)
    assert verdict["verdict"] == "passed", verdict["summary"]
    assert (verdict["evidence"]["matched"], verdict["evidence"]["unmatched"]) == (1, 1)
    assert tp.heal("payments", configuration=system.configuration)["ledger_struck"] == 1


@pytest.mark.parametrize("kwargs, message", [
    ({"path_regex": "(["}, "path_regex: '\\(\\[' is not a valid regular expression"),
    ({"method": "FETCH"}, "method: 'FETCH' has unknown method"),
    ({"header_value": "1"}, "header_value: needs header_name"),
    ({"baggage": 5}, "baggage=5 \\(expected a string\\)"),
])
def test_bad_scope_arguments_fail_before_anything_is_written(system: System, kwargs: dict, message: str) -> None:
    for action in (tp.add_http_error, lambda proxy, **kw: tp.add_http_latency(proxy, 100, **kw)):
        with pytest.raises(ActivityFailed, match=message):
            action("payments", configuration=system.configuration, **kwargs)
    assert Ledger(config.ledger_path()).entries() == []
    with ToxiproxyClient(system.api) as client:
        assert client.toxics("payments") == []
    with pytest.raises(ActivityFailed, match=message):
        fault_scope("payments", configuration=system.configuration, **kwargs)


SCOPED = """\
title: only the experiment group's payments fail
description: a scoped error storm
method:
  - type: action
    name: error storm
    provider:
      type: python
      module: squall.actions.toxiproxy
      func: add_http_error
      arguments: {{proxy: payments, status: 503, path_prefix: /payments, {extra}}}
  - type: probe
    name: only the experiment group was hit
    provider:
      type: python
      module: squall.verify
      func: fault_scope
      arguments: {{proxy: payments, toxic: error storm, baggage: squall.group=experiment}}
rollbacks:
  - type: action
    name: heal
    provider: {{type: python, module: squall.actions.toxiproxy, func: heal}}
"""


def test_validate_shows_the_scope_and_refuses_a_bad_one(tmp_path: Path) -> None:
    good = tmp_path / "good.yaml"
    good.write_text(SCOPED.format(extra="method: POST, baggage: squall.group=experiment"))
    assert validate_experiment(good, offline=True) == []
    run = CliRunner().invoke(command, ["--offline", str(good)])
    assert run.exit_code == 0, run.output
    assert (f'{good}: scope: "error storm": add_http_error on payments hits '
            "[POST /payments*, baggage squall.group=experiment]") in run.stdout
    assert (f'{good}: scope: "only the experiment group was hit": fault_scope on payments checks '
            "[baggage squall.group=experiment]") in run.stdout
    bad = tmp_path / "bad.yaml"
    bad.write_text(SCOPED.format(extra="path_regex: '/pay(', method: PSOT"))
    problems = validate_experiment(bad, offline=True)
    assert len(problems) == 1 and problems[0].activity == "error storm"  # method comes first; one problem a scope
    assert "argument method: 'PSOT' has unknown method(s) 'PSOT' (expected one or a comma list of: CONNECT" \
        in problems[0].message
    assert problems[0].line == 10
    bad.write_text(SCOPED.format(extra="method: POST, path_regex: '/pay('"))
    [problem] = validate_experiment(bad, offline=True)
    assert "argument path_regex: '/pay(' is not a valid regular expression" in problem.message
