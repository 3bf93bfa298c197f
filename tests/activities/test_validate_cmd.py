"""`squall validate`: bad experiments are named precisely, good ones pass, exit codes as documented."""

import json
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from squall.exitcodes import ExitCode
from squall.validation import validate_experiment

GOOD = """\
title: checkout survives a slow payments service
description: latency on payments; the checkout must still answer in time
configuration:
  toxiproxy_url: "http://127.0.0.1:{port}"
steady-state-hypothesis:
  title: checkout healthy
  probes:
    - type: probe
      name: checkout-slo
      tolerance: true
      provider:
        type: python
        module: squall.probes.sli
        func: meets_slo
        arguments: {{url: "http://127.0.0.1:8080/checkout", requests: 5}}
method:
  - type: action
    name: slow-payments
    provider:
      type: python
      module: squall.actions.toxiproxy
      func: add_latency
      arguments: {{proxy: payments, latency_ms: 800, stream: downstream}}
  - type: probe
    name: checkout-times-out
    provider:
      type: python
      module: squall.verify
      func: timeout
      arguments: {{url: "http://127.0.0.1:8080/checkout", budget_ms: 500}}
rollbacks:
  - type: action
    name: heal
    provider: {{type: python, module: squall.actions.toxiproxy, func: heal}}
"""


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _squall(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(Path(sys.executable).with_name("squall")), *args], capture_output=True, text=True, timeout=60)


def test_good_experiment_is_valid_offline(tmp_path: Path) -> None:
    path = tmp_path / "exp.yaml"
    path.write_text(GOOD.format(port=_free_port()))
    assert validate_experiment(path, offline=True) == []


def test_unreachable_toxiproxy_is_reported(tmp_path: Path) -> None:
    port = _free_port()
    path = tmp_path / "exp.yaml"
    path.write_text(GOOD.format(port=port))
    problems = validate_experiment(path)
    assert len(problems) == 1
    assert "toxiproxy_url does not answer" in problems[0].message
    assert f"127.0.0.1:{port}" in problems[0].message
    assert problems[0].line == 4


def test_each_mistake_names_file_activity_line_and_expectation(tmp_path: Path) -> None:
    bad = (GOOD.format(port=1)
           .replace("func: add_latency", "func: add_latncy")
           .replace("budget_ms: 500", "budget_ms: fast, retries: 3")
           .replace("tolerance: true", "tolerance: {type: jsonpth}"))
    path = tmp_path / "bad.yaml"
    path.write_text(bad)
    problems = {str(p) for p in validate_experiment(path, offline=True)}
    text = "\n".join(sorted(problems))
    assert f'{path}:22: activity "slow-payments": unknown squall function "squall.actions.toxiproxy.add_latncy"' in text
    assert "expected one of: add_bandwidth, add_http_error, add_http_latency, add_latency, add_limit_data" in text
    assert "activity \"checkout-times-out\": argument budget_ms='fast' (expected a number)" in text
    assert 'unknown argument "retries" for squall.verify.timeout' in text
    assert 'unknown tolerance type "jsonpth" (expected one of: probe, regex, jsonpath, range)' in text
    assert len(problems) == 4


def test_missing_argument_and_literal_in_json(tmp_path: Path) -> None:
    exp = {
        "title": "t", "description": "d",
        "method": [{"type": "action", "name": "lag", "provider": {
            "type": "python", "module": "squall.actions.toxiproxy", "func": "add_latency",
            "arguments": {"latency_ms": 10, "stream": "sideways"}}}],
    }
    path = tmp_path / "exp.json"
    path.write_text(json.dumps(exp))
    messages = [p.message for p in validate_experiment(path, offline=True)]
    assert 'missing required argument "proxy" for squall.actions.toxiproxy.add_latency' in messages
    assert "argument stream='sideways' (expected one of: \"upstream\", \"downstream\")" in messages


def test_cli_exit_codes(tmp_path: Path) -> None:
    good = tmp_path / "good.yaml"
    good.write_text(GOOD.format(port=_free_port()))
    broken = tmp_path / "broken.yaml"
    broken.write_text("title: [unclosed\n")
    ok = _squall("validate", "--offline", str(good))
    assert ok.returncode == 0, ok.stderr
    assert "valid" in ok.stdout
    bad = _squall("validate", "--offline", str(good), str(broken))
    assert bad.returncode == ExitCode.INVALID
    assert f"{broken}" in bad.stderr and "not valid YAML" in bad.stderr


def test_jsonpath_tolerance_without_jsonpath2_is_flagged(tmp_path: Path) -> None:
    import importlib.util

    path = tmp_path / "exp.yaml"
    path.write_text(GOOD.format(port=1).replace("tolerance: true", 'tolerance: {type: jsonpath, path: "$.ok", expect: true}'))
    problems = validate_experiment(path, offline=True)
    if importlib.util.find_spec("jsonpath2") is None:
        assert [p.line for p in problems] == [10]
        assert "needs the jsonpath2 package" in problems[0].message
    else:
        assert problems == []


def test_a_game_day_suite_is_checked_as_a_suite(tmp_path: Path) -> None:
    (tmp_path / "exp.yaml").write_text(GOOD.format(port=1))
    suite = tmp_path / "suite.yaml"
    suite.write_text("name: nightly\nexperiments:\n  - {path: exp.yaml}\n  - {path: missing.yaml}\n")
    from squall.validate import validate_file

    messages = [p.message for p in validate_file(suite, offline=True)]
    assert any("missing.yaml" in m for m in messages), messages
    assert all(p.file == str(suite) for p in validate_file(suite, offline=True))


CONTROLLED = """\
title: controlled
description: the squall control's own arguments are checked too
configuration:
  checkout_url: {type: env, key: SQUALL_TEST_UNSET_URL, default: "http://127.0.0.1:8080/checkout"}
controls:
  - name: squall
    provider:
      type: python
      module: squall.control
      arguments:
        sli: [{name: checkout, url: "${checkout_url}", interval_s: 0.5}]
        stop_conditions: [{name: floor, kind: KIND, threshold: 0.9, for_s: 10}]
method:
  - type: probe
    name: root-exists
    provider: {type: python, module: os.path, func: exists, arguments: {path: "/"}}
"""


def test_the_control_arguments_are_checked_before_anything_runs(tmp_path: Path) -> None:
    path = tmp_path / "controlled.yaml"
    path.write_text(CONTROLLED.replace("KIND", "success_rate_belwo"))
    [problem] = [str(p) for p in validate_experiment(path, offline=True)]
    assert problem.startswith(f"{path}:6: ")
    assert 'unknown kind "success_rate_belwo" (expected one of: success_rate_below, burn_rate_above)' in problem
    path.write_text(CONTROLLED.replace("KIND", "success_rate_below"))  # ${checkout_url} resolves to a URL
    assert validate_experiment(path, offline=True) == []


def test_out_of_range_numbers_bad_url_and_missing_program_are_problems(tmp_path: Path) -> None:
    bad = (GOOD.format(port=1)
           .replace("latency_ms: 800", "latency_ms: -800, jitter_ms: .nan, toxicity: 1.5")
           .replace('toxiproxy_url: "http://127.0.0.1:1"', 'toxiproxy_url: ":::x"'))
    bad += ("  - type: action\n    name: create\n    provider:\n      type: python\n"
            "      module: squall.actions.toxiproxy\n      func: create_proxy\n"
            '      arguments: {name: extra, listen: "127.0.0.1:70000", upstream: "127.0.0.1:8080"}\n'
            "  - type: action\n    name: run-tool\n    provider: {type: process, path: squall-no-such-program}\n")
    path = tmp_path / "exp.yaml"
    path.write_text(bad)
    problems = {str(p) for p in validate_experiment(path, offline=True)}
    expected = {
        f"{path}:4: toxiproxy_url \":::x\" is not a valid URL",
        f'{path}:23: activity "slow-payments": argument latency_ms=-800 (expected a whole number >= 0)',
        f'{path}:23: activity "slow-payments": argument jitter_ms=nan',
        f'{path}:23: activity "slow-payments": argument toxicity=1.5 (expected a number from 0 to 1)',
        f'{path}:41: activity "create": argument listen "127.0.0.1:70000" has port "70000" '
        '(expected "host:port" with a port from 0 to 65535)',
        f'{path}:44: activity "run-tool": process "squall-no-such-program" is not found on PATH',
    }
    for start in expected:
        assert any(p.startswith(start) for p in problems), (start, sorted(problems))
    assert len(problems) == len(expected), sorted(problems)


def test_validate_and_the_actions_refuse_the_same_values(toxiproxy: str) -> None:
    """One source of truth: every declared range is refused by validate and by the call, before anything is applied."""
    import math

    from chaoslib.exceptions import ActivityFailed

    import squall.actions.toxiproxy as tp
    from squall.bounds import Bound, bounds_of
    from squall.ledger import Ledger
    from squall.toxiproxy_client import ToxiproxyClient
    from squall.validation import check_experiment

    with ToxiproxyClient(toxiproxy) as client:
        client.create_proxy("payments", "127.0.0.1:0", "127.0.0.1:9")
    checked = 0
    for func_name in tp.__all__:
        func = getattr(tp, func_name)
        for arg, check in bounds_of(func).items():
            if not isinstance(check, Bound):
                continue
            for value in (check.minimum - 1, math.inf, check.minimum + 0.5 if check.whole else check.maximum + 1):
                if value == math.inf and check.maximum == math.inf and not check.whole:
                    continue
                arguments = {"proxy": "payments", "latency_ms": 1, "rate_kbps": 1, "delay_ms": 1,
                             "average_size": 8, "bytes": 1, arg: value}
                params = __import__("inspect").signature(func).parameters
                arguments = {k: v for k, v in arguments.items() if k in params}
                doc = {"title": "t", "description": "d", "method": [{"type": "action", "name": "x", "provider": {
                    "type": "python", "module": "squall.actions.toxiproxy", "func": func_name, "arguments": arguments}}]}
                problems = [p.message for p in check_experiment(doc, "exp.yaml", offline=True)]
                assert any(m.startswith(f"argument {arg}=") for m in problems), (func_name, arg, value, problems)
                with pytest.raises(ActivityFailed, match=f"{arg}="):
                    func(**arguments, configuration={"toxiproxy_url": toxiproxy})
                checked += 1
    assert checked >= 30
    with ToxiproxyClient(toxiproxy) as client:
        assert client.toxics("payments") == []
    assert Ledger().entries() == []


PROXY_EXPERIMENT = """\
title: proxies must exist
description: every proxy named is on the Toxiproxy, or created earlier
configuration:
  toxiproxy_url: "{url}"
method:
{steps}
"""
STEP = """\
  - type: action
    name: {name}
    provider:
      type: python
      module: squall.actions.toxiproxy
      func: {func}
      arguments: {arguments}
"""


def _proxy_experiment(tmp_path: Path, url: str, *steps: tuple[str, str, str]) -> Path:
    path = tmp_path / "proxies.yaml"
    body = "".join(STEP.format(name=n, func=f, arguments=a) for n, f, a in steps)
    path.write_text(PROXY_EXPERIMENT.format(url=url, steps=body))
    return path


def test_a_proxy_the_toxiproxy_does_not_have_is_named_with_the_closest_existing_first(
    tmp_path: Path, toxiproxy: str
) -> None:
    from squall.toxiproxy_client import ToxiproxyClient

    with ToxiproxyClient(toxiproxy) as client:
        for name in ("inventory", "payments", "payments-eu"):
            client.create_proxy(name, "127.0.0.1:0", "127.0.0.1:9")
    path = _proxy_experiment(tmp_path, toxiproxy, ("slow", "add_latency", "{proxy: paymnts, latency_ms: 100}"))
    [problem] = validate_experiment(path)
    assert str(problem) == (f'{path}:12: activity "slow": unknown proxy "paymnts" at {toxiproxy} '
                            "(expected one of: payments, payments-eu, inventory, or a proxy made earlier by create_proxy)")

    path = _proxy_experiment(  # made earlier in the same experiment: fine; used before it is made: not
        tmp_path, toxiproxy,
        ("cut-early", "partition", "{proxy: ledger}"),
        ("make", "create_proxy", '{name: ledger, listen: "127.0.0.1:0", upstream: "127.0.0.1:9"}'),
        ("slow", "add_latency", "{proxy: ledger, latency_ms: 100}"))
    [problem] = validate_experiment(path)
    assert problem.activity == "cut-early"
    assert 'unknown proxy "ledger"' in problem.message and "create_proxy makes it only later" in problem.message
    assert validate_experiment(path, offline=True) == []  # offline: the Toxiproxy is not asked
    with ToxiproxyClient(toxiproxy) as client:
        assert sorted(client.proxies()) == ["inventory", "payments", "payments-eu"]  # validate created nothing


def test_probes_and_verifiers_get_the_named_quantity_ranges(tmp_path: Path) -> None:
    """Functions without @bounded still get negative timeouts, infinite budgets and fractions above 1 refused."""
    def probe(module: str, func: str, **arguments: object) -> dict[str, object]:
        return {"type": "probe", "name": func, "provider": {"type": "python", "module": module, "func": func,
                                                           "arguments": {"url": "http://127.0.0.1:1/", **arguments}}}

    import yaml

    path = tmp_path / "exp.yaml"  # YAML: strict JSON has no Infinity to pass
    path.write_text(yaml.safe_dump({"title": "t", "description": "d", "method": [
        probe("squall.probes.sli", "meets_slo", timeout_s=-1, min_success_rate=1.5, max_p95_ms=1e400),
        probe("squall.verify", "timeout", budget_ms=-5),
        probe("squall.probes.sli", "meets_slo", timeout_s=2, min_success_rate=1, max_p95_ms=None)]}))
    assert sorted(p.message for p in validate_experiment(path, offline=True)) == [
        "argument budget_ms=-5 (expected a number >= 0)",
        "argument max_p95_ms=inf (expected a number >= 0)",
        "argument min_success_rate=1.5 (expected a number from 0 to 1)",
        "argument timeout_s=-1 (expected a number >= 0)",
    ]
