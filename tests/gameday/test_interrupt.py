"""SIGTERM during a game day stops the running experiment and leaves no fault behind."""

import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web

from squall.background import serve_app
from squall.exitcodes import ExitCode
from squall.gameday.runner import run_suite
from squall.ledger import Ledger
from squall.proxy import run_in_thread
from squall.toxiproxy_client import ToxiproxyClient

from .conftest import experiment, probe


def _slow_payments(pause_after_s: float | None = None) -> dict[str, Any]:
    """The fault these tests inject: 500 ms on payments, optionally holding the run afterwards."""
    action: dict[str, Any] = {"type": "action", "name": "slow-payments", "provider": {
        "type": "python", "module": "squall.actions.toxiproxy", "func": "add_latency",
        "arguments": {"proxy": "payments", "latency_ms": 500}}}
    if pause_after_s is not None:
        action["pauses"] = {"after": pause_after_s}
    return action


@pytest.fixture
def proxy_url() -> Iterator[str]:
    """The embedded proxy with "payments" in front of a real (tiny) HTTP service."""

    async def ok(request: web.Request) -> web.Response:
        return web.Response(text="ok")

    def app() -> web.Application:
        a = web.Application()
        a.router.add_get("/", ok)
        return a

    with serve_app(app) as upstream, run_in_thread(host="127.0.0.1", port=0) as proxy:
        with ToxiproxyClient(proxy.url) as client:
            client.create_proxy("payments", "127.0.0.1:0", upstream.removeprefix("http://"))
        yield proxy.url


@pytest.mark.slow
def test_sigterm_mid_experiment_removes_the_fault_and_skips_the_rest(
    tmp_path: Path, passing: Path, write_experiment: Callable[..., Path], write_suite: Callable[..., Path],
    proxy_url: str,
) -> None:
    write_experiment("slow.yaml", experiment("slow payments", [probe("root", "/")], method=[_slow_payments(60)],
                                             configuration={"toxiproxy_url": proxy_url}))
    suite = write_suite({"name": "stoppable", "experiments": ["slow.yaml", "passing.yaml"]})
    proc = subprocess.Popen(
        [sys.executable, "-c", "from squall.cli import main; main()", "gameday", "run", str(suite)],
        cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    client = ToxiproxyClient(proxy_url)
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and not client.toxics("payments"):
            assert proc.poll() is None, proc.communicate()
            time.sleep(0.1)
        assert client.toxics("payments"), "the fault was never injected"
        started = time.monotonic()
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=60)
        stopped_in = time.monotonic() - started
        assert client.toxics("payments") == []
        assert Ledger().open_entries() == []
    finally:
        if proc.poll() is None:
            proc.kill()
        client.close()
    assert proc.returncode == 2, err
    assert stopped_in < 45  # far less than the 60 s pause
    assert "interrupted by SIGTERM" in err
    index = next((tmp_path / "reports").glob("*/index.html")).read_text()
    assert "interrupted" in index and "not run: the game day was interrupted" in index


def test_a_run_that_dies_after_injecting_has_its_fault_removed_by_the_game_day(
    tmp_path: Path, passing: Path, write_experiment: Callable[..., Path], write_suite: Callable[..., Path],
    proxy_url: str, capsys: pytest.CaptureFixture[str],
) -> None:
    inject = _slow_payments()
    die = {"type": "action", "name": "die", "provider": {"type": "python", "module": "os", "func": "_exit",
                                                         "arguments": {"status": 9}}}
    write_experiment("dies.yaml", experiment("dies mid-fault", [probe("root", "/")], method=[inject, die],
                                             configuration={"toxiproxy_url": proxy_url}))
    suite = write_suite({"name": "crash", "experiments": ["dies.yaml", "passing.yaml"]})
    result = run_suite(suite)
    assert "removed a fault the run left behind: latency 500 ms on payments" in capsys.readouterr().err
    with ToxiproxyClient(proxy_url) as client:
        assert client.toxics("payments") == []
    assert Ledger().open_entries() == []
    assert [e.verdict for e in result.experiments] == ["inconclusive", "passed"]
    assert result.exit_code == ExitCode.INCONCLUSIVE


def test_an_experiment_past_its_timeout_is_stopped_and_its_fault_removed(
    tmp_path: Path, passing: Path, write_experiment: Callable[..., Path], write_suite: Callable[..., Path],
    proxy_url: str,
) -> None:
    write_experiment("hangs.yaml", experiment("hangs mid-fault", [probe("root", "/")], method=[_slow_payments(60)],
                                              configuration={"toxiproxy_url": proxy_url}))
    suite = write_suite({"name": "bounded", "experiments": [{"path": "hangs.yaml", "timeout_s": 4},
                                                            "passing.yaml"]})
    started = time.monotonic()
    result = run_suite(suite, progress=False)
    assert time.monotonic() - started < 45  # far less than the 60 s pause
    with ToxiproxyClient(proxy_url) as client:
        assert client.toxics("payments") == []
    assert Ledger().open_entries() == []
    hung, ok = result.experiments
    assert (hung.verdict, ok.verdict) == ("inconclusive", "passed")
    assert "stopped after its timeout_s of 4 s" in hung.reason
    assert result.exit_code == ExitCode.INCONCLUSIVE
