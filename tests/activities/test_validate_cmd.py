"""`squall validate`: bad experiments are named precisely, good ones pass, exit codes as documented."""

import json
import socket
import subprocess
import sys
from pathlib import Path

from squall.exitcodes import ExitCode
from squall.validate import validate_experiment

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
    assert "expected one of: add_bandwidth, add_http_error, add_latency, add_limit_data" in text
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
