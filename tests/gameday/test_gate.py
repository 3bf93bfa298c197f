"""`squall gate`: every exit code comes from a real scenario; JUnit and the Markdown summary are always written."""

import socket
import xml.etree.ElementTree as ET
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from aiohttp import web

from squall.background import serve_app
from squall.proxy import run_in_thread
from squall.toxiproxy_client import ToxiproxyClient

from .conftest import experiment, probe, squall


@pytest.fixture
def proxy_url() -> Iterator[str]:
    """The embedded Toxiproxy-compatible proxy, with one proxy "payments" in front of a closed port."""
    with run_in_thread(host="127.0.0.1", port=0) as proxy:
        with ToxiproxyClient(proxy.url) as client:
            client.create_proxy("payments", "127.0.0.1:0", f"127.0.0.1:{_closed_port()}")
        yield proxy.url


@pytest.fixture
def broken_service() -> Iterator[str]:
    """A real HTTP service on 127.0.0.1 that answers every request with 503."""

    async def handler(request: web.Request) -> web.Response:
        return web.Response(status=503, text="down")

    def app() -> web.Application:
        a = web.Application()
        a.router.add_get("/checkout", handler)
        return a

    with serve_app(app) as base:
        yield f"{base}/checkout"


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _junit_failures(path: Path) -> tuple[int, int]:
    root = ET.parse(path).getroot()
    return (sum(int(s.get("failures", 0)) for s in root.iter("testsuite")),
            sum(int(s.get("errors", 0)) for s in root.iter("testsuite")))


def test_exit_0_when_every_check_holds_and_the_step_summary_is_appended(tmp_path: Path, passing: Path) -> None:
    summary = tmp_path / "step-summary.md"
    summary.write_text("earlier step\n")
    proc = squall("gate", str(passing), "--junit", "out/junit.xml", cwd=tmp_path,
                  env={"GITHUB_STEP_SUMMARY": str(summary)})
    assert proc.returncode == 0, proc.stderr
    assert _junit_failures(tmp_path / "out" / "junit.xml") == (0, 0)
    text = summary.read_text()
    assert text.startswith("earlier step\n") and "passed (exit 0)" in text and "| passing |" in text
    assert "passed (exit 0)" in proc.stdout


def test_exit_1_for_a_failed_check_or_a_score_below_the_minimum(tmp_path: Path, passing: Path, failing: Path) -> None:
    proc = squall("gate", str(failing), "--junit", "j.xml", cwd=tmp_path)
    assert proc.returncode == 1, proc.stderr
    assert "required experiment failed" in proc.stdout
    failures, errors = _junit_failures(tmp_path / "j.xml")
    assert failures == 2 and errors == 0  # the verdict and the one check that did not hold

    suite = tmp_path / "suite.yaml"
    suite.write_text("name: s\nsettle_s: 0\nexperiments: [passing.yaml, failing.yaml]\ngate: {min_score: 50}\n")
    assert squall("gate", str(suite), cwd=tmp_path).returncode == 0  # (100 + 37.5) / 2 = 68.75 >= 50
    proc = squall("gate", str(suite), "--min-score", "90", cwd=tmp_path)
    assert proc.returncode == 1
    assert "resilience score 68.8 is below the minimum 90" in proc.stdout


def test_exit_2_when_a_stop_condition_aborts_the_run(
    tmp_path: Path, write_experiment: Callable[..., Path], broken_service: str
) -> None:
    wait = {"type": "action", "name": "wait", "provider": {"type": "python", "module": "os.path", "func": "exists",
                                                           "arguments": {"path": "/"}}, "pauses": {"after": 20}}
    control = {"name": "squall", "provider": {"type": "python", "module": "squall.control", "arguments": {
        "sli": [{"name": "checkout", "url": broken_service, "interval_s": 0.1, "timeout_s": 0.5}],
        "stop_conditions": [{"name": "floor", "kind": "success_rate_below", "threshold": 0.9, "for_s": 0.5,
                             "min_samples": 2}],
        "check_traffic": False,
    }}}
    exp = write_experiment("storm.yaml", experiment("stops", [probe("root", "/")], method=[wait], controls=[control]))
    proc = squall("gate", str(exp), "--junit", "j.xml", cwd=tmp_path)
    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert "aborted" in proc.stdout
    assert _junit_failures(tmp_path / "j.xml")[1] == 1


def test_exit_3_when_the_fault_could_not_be_injected(
    tmp_path: Path, write_experiment: Callable[..., Path], proxy_url: str
) -> None:
    # valid on paper, but at run time the proxy cannot listen: its port is taken (validate cannot know that)
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        inject = {"type": "action", "name": "front-inventory", "provider": {
            "type": "python", "module": "squall.actions.toxiproxy", "func": "create_proxy",
            "arguments": {"name": "inventory", "listen": f"127.0.0.1:{busy.getsockname()[1]}",
                          "upstream": f"127.0.0.1:{_closed_port()}"}}}
        exp = write_experiment("busy-port.yaml", experiment(
            "port taken", [probe("root", "/")], method=[inject], configuration={"toxiproxy_url": proxy_url}))
        proc = squall("gate", str(exp), "--junit", "j.xml", cwd=tmp_path)
    assert proc.returncode == 3, proc.stdout + proc.stderr
    assert "inconclusive" in proc.stdout
    assert _junit_failures(tmp_path / "j.xml")[1] == 1


INVALID = ["unknown-function", "unreachable-toxiproxy", "missing-file", "bad-suite", "mixed", "missing-proxy",
           "negative-latency", "missing-program", "binary-value", "bad-url"]


def _inject(proxy: str, **arguments: object) -> dict[str, object]:
    return {"type": "action", "name": "slow", "provider": {
        "type": "python", "module": "squall.actions.toxiproxy", "func": "add_latency",
        "arguments": {"proxy": proxy, "latency_ms": 300, **arguments}}}


@pytest.mark.parametrize("scenario", INVALID)
def test_exit_4_for_invalid_input_before_anything_runs(
    tmp_path: Path, write_experiment: Callable[..., Path], passing: Path, scenario: str, proxy_url: str
) -> None:
    on_proxy = {"toxiproxy_url": proxy_url}
    if scenario == "missing-proxy":  # issue 12: a misspelt proxy used to run and end inconclusive (3)
        target = write_experiment("typo.yaml", experiment("typo", [probe("root", "/")], method=[_inject("paymnts")],
                                                          configuration=on_proxy))
        expected = f'unknown proxy "paymnts" at {proxy_url} (expected one of: payments'
    elif scenario == "negative-latency":
        target = write_experiment("neg.yaml", experiment("neg", [probe("root", "/")], method=[
            _inject("payments", latency_ms=-300, toxicity=2)], configuration=on_proxy))
        expected = "latency_ms=-300 (expected a whole number >= 0)"
    elif scenario == "missing-program":
        tool = {"type": "action", "name": "tool", "provider": {"type": "process", "path": "squall-no-such-tool"}}
        target = write_experiment("tool.yaml", experiment("tool", [probe("root", "/")], method=[tool]))
        expected = 'process "squall-no-such-tool" is not found on PATH'
    elif scenario == "binary-value":
        target = tmp_path / "binary.yaml"
        target.write_text(passing.read_text().replace("title: everything holds", "title: !!binary aGk="))
        expected = 'tag "!!binary" is not allowed'
    elif scenario == "bad-url":
        target = write_experiment("url.yaml", experiment("url", [probe("root", "/")], method=[_inject("payments")],
                                                         configuration={"toxiproxy_url": ":::x"}))
        expected = 'toxiproxy_url ":::x" is not a valid URL'
    elif scenario == "unknown-function":
        bad = {"type": "action", "name": "x", "provider": {"type": "python", "module": "os.path", "func": "existz",
                                                         "arguments": {"path": "/"}}}
        target = write_experiment("bad.yaml", experiment("bad", [probe("root", "/")], method=[bad]))
        expected = "existz"
    elif scenario == "unreachable-toxiproxy":
        inject = {"type": "action", "name": "slow", "provider": {
            "type": "python", "module": "squall.actions.toxiproxy", "func": "add_latency",
            "arguments": {"proxy": "payments", "latency_ms": 300}}}
        target = write_experiment("far.yaml", experiment(
            "far", [probe("root", "/")], method=[inject],
            configuration={"toxiproxy_url": f"http://127.0.0.1:{_closed_port()}"}))
        expected = "not reachable"
    elif scenario == "missing-file":
        target = tmp_path / "nope.yaml"
        expected = "nope.yaml"
    elif scenario == "mixed":
        target = tmp_path / "suite.yaml"
        target.write_text("name: s\nexperiments: [passing.yaml]\n")
        expected = "either one suite or experiment files, not both"
    else:
        target = tmp_path / "suite.yaml"
        target.write_text("name: s\nexperiments: [passing.yaml]\nschedule: {cron: 'every tuesday'}\n")
        expected = "schedule.cron"
    summary = tmp_path / "step-summary.md"
    proc = squall("gate", str(passing), str(target), "--junit", "j.xml", cwd=tmp_path,
                  env={"GITHUB_STEP_SUMMARY": str(summary)}) if scenario != "bad-suite" else squall(
        "gate", str(target), "--junit", "j.xml", cwd=tmp_path, env={"GITHUB_STEP_SUMMARY": str(summary)})
    assert proc.returncode == 4, proc.stdout + proc.stderr
    assert expected in proc.stderr
    assert "nothing was run or injected" in summary.read_text()
    assert _junit_failures(tmp_path / "j.xml")[1] == 1
    # nothing ran: the passing experiment was not started either, and nothing was injected
    assert not list(tmp_path.glob("reports/**/journal.json"))
    with ToxiproxyClient(proxy_url) as client:
        assert client.toxics("payments") == [] and client.proxies()["payments"]["enabled"] is True


def test_every_game_day_command_refuses_an_unsafe_suite_or_experiment_file_with_exit_4(
    tmp_path: Path, passing: Path
) -> None:
    import os

    fifo = tmp_path / "suite-pipe.yaml"
    os.mkfifo(fifo)  # opening it for reading used to block forever
    latin1 = tmp_path / "suite-latin1.yaml"
    latin1.write_bytes(b"name: caf\xe9\nexperiments: [passing.yaml]\n")
    for args in (["gameday", "run", "--quiet", str(fifo)], ["gameday", "schedule", "--once", str(fifo)],
                 ["gameday", "manifest", str(fifo)], ["gameday", "manifest", str(latin1)],
                 ["gate", "--quiet", str(latin1)]):
        proc = squall(*args, cwd=tmp_path, timeout=60)
        assert proc.returncode == 4, (args, proc.stdout + proc.stderr)
        assert "Traceback" not in proc.stderr
        assert ("is a FIFO (named pipe), not a regular file" in proc.stderr
                or "byte 9 (0xe9) is not UTF-8" in proc.stderr), (args, proc.stderr)
    # the manifest embeds experiment files: one over the size limit is refused, not copied into a ConfigMap
    suite = tmp_path / "suite.yaml"
    suite.write_text("name: s\nschedule: '0 10 * * 2'\nexperiments: [passing.yaml]\n")
    proc = squall("gameday", "manifest", str(suite), cwd=tmp_path, env={"SQUALL_MAX_FILE_BYTES": "100"})
    assert proc.returncode == 4, proc.stdout + proc.stderr
    assert f"{passing}: is " in proc.stderr and "expected at most 100" in proc.stderr
