"""The control's parts on their own: argument validation, stop conditions, and a timeline that never piles up."""

import os
import signal
import socket
import threading
import time
from collections.abc import Iterator

import pytest

from squall.control.sampling import Timeline
from squall.control.settings import SliTarget, StopCondition, parse
from squall.control.stopconditions import evaluate
from squall.errors import ExperimentInvalid


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        ({"sli": [{"url": "ftp://x"}]}, 'url "ftp://x" is not an http(s) URL'),
        ({"sli": [{"url": "http://127.0.0.1:1/", "interval_s": 0}]}, "interval_s 0 is not valid"),
        ({"sli": [{"url": "http://127.0.0.1:1/", "intervall_s": 1}]}, 'unknown key "intervall_s"'),
        ({"stop_conditions": [{"kind": "success_rate_below", "threshold": 0.9}]}, "needs at least one sli target"),
        (
            {"sli": [{"url": "http://127.0.0.1:1/"}], "stop_conditions": [{"kind": "latency_above", "threshold": 1}]},
            'unknown kind "latency_above" (expected one of: success_rate_below, burn_rate_above)',
        ),
        (
            {"sli": [{"url": "http://127.0.0.1:1/"}], "stop_conditions": [{"kind": "success_rate_below", "threshold": 90}]},
            "threshold 90 is not valid (expected a number from 0 to 1)",
        ),
        (
            {"sli": [{"url": "http://127.0.0.1:1/"}], "stop_conditions": [{"kind": "burn_rate_above", "slo": 1, "threshold": 2}]},
            "leaves no error budget",
        ),
        ({"report": "yes"}, "report 'yes' is not valid (expected true or false)"),
        ({"reprot": False}, 'unknown key "reprot"'),
    ],
)
def test_bad_arguments_are_named_with_what_was_expected(arguments: dict, message: str) -> None:
    with pytest.raises(ExperimentInvalid) as info:
        parse(arguments)
    assert message in str(info.value)


def _rows(*oks: int, start: float = 100.0, step: float = 0.1) -> list[list]:
    return [[start + i * step, "svc", ok, 200 if ok else 503, 1.0, None] for i, ok in enumerate(oks)]


def _recent(rows: list[list]):
    return lambda since, target: [r for r in rows if r[0] >= since and (target is None or r[1] == target)]


def test_success_floor_fires_only_after_watching_a_whole_window() -> None:
    floor = StopCondition(name="floor", kind="success_rate_below", threshold=0.9, window_s=1.0)
    rows = _rows(*([0] * 20))  # 100.0 .. 101.9, all failing
    assert evaluate(floor, _recent(rows), now=100.5, armed_at=100.0) is None  # half a window watched
    reason = evaluate(floor, _recent(rows), now=101.95, armed_at=100.0)
    assert reason is not None and "success rate 0% < 90% for 1 s" in reason


def test_success_floor_holds_while_the_rate_is_above_it() -> None:
    floor = StopCondition(name="floor", kind="success_rate_below", threshold=0.5, window_s=1.0)
    rows = _rows(*([1, 1, 0] * 7))
    assert evaluate(floor, _recent(rows), now=102.0, armed_at=100.0) is None


def test_burn_rate_compares_the_error_rate_with_the_budget() -> None:
    burn = StopCondition(name="budget", kind="burn_rate_above", threshold=2.0, window_s=1.0, slo=0.9)
    one_in_ten = _rows(*([1] * 9 + [0]) * 2)  # 10 % errors = budget burnt at 1x
    assert evaluate(burn, _recent(one_in_ten), now=102.0, armed_at=100.0) is None
    three_in_ten = _rows(*([1] * 7 + [0] * 3) * 2)  # 30 % errors = 3x
    reason = evaluate(burn, _recent(three_in_ten), now=102.0, armed_at=100.0)
    assert reason is not None and "burn rate 3.0x > 2x" in reason


@pytest.fixture
def hanging_server() -> Iterator[tuple[str, dict]]:
    """Accepts connections and never answers; counts how many are open at once."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(64)
    sock.settimeout(0.1)
    stats = {"accepted": 0, "open": 0, "max_open": 0}
    stop = threading.Event()
    conns: list[socket.socket] = []

    def serve() -> None:
        while not stop.is_set():
            try:
                conn, _ = sock.accept()
            except OSError:
                pass
            else:
                conn.settimeout(0.01)
                conns.append(conn)
                stats["accepted"] += 1
            alive = []
            for conn in conns:
                try:
                    if conn.recv(65536) == b"":  # the client gave up and closed
                        conn.close()
                        continue
                except (BlockingIOError, TimeoutError):
                    pass
                except OSError:
                    conn.close()
                    continue
                alive.append(conn)
            conns[:] = alive
            stats["open"] = len(conns)
            stats["max_open"] = max(stats["max_open"], stats["open"])

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{sock.getsockname()[1]}/", stats
    stop.set()
    thread.join(5)
    for conn in conns:
        conn.close()
    sock.close()


def test_a_hanging_target_gets_one_request_at_a_time_and_ticks_are_skipped(hanging_server: tuple[str, dict]) -> None:
    url, stats = hanging_server
    timeline = Timeline([SliTarget(name="hang", url=url, interval_s=0.1, timeout_s=0.25)], max_samples=1000)
    timeline.start()
    time.sleep(1.5)
    timeline.stop()
    rows = timeline.snapshot()
    assert rows and all(r[2] == 0 and r[5] == "timeout" for r in rows)
    assert len(rows) <= 1.5 / 0.25 + 2  # bounded by the timeout, not by the 0.1 s interval
    assert timeline.skipped_ticks > 0
    assert stats["max_open"] <= 2  # one in flight (plus one the server has not yet seen closed)


def test_the_timeline_stops_at_max_samples(upstream) -> None:
    timeline = Timeline([SliTarget(name="up", url=upstream.url, interval_s=0.05, timeout_s=0.05)], max_samples=5)
    timeline.start()
    deadline = time.monotonic() + 10
    while not timeline.truncated and time.monotonic() < deadline:
        time.sleep(0.05)
    timeline.stop()
    assert timeline.truncated and len(timeline.snapshot()) == 5


def test_signal_guard_removes_faults_from_its_own_thread_and_restores_the_handlers() -> None:
    from squall.control.guard import RunInterrupted, SignalGuard

    seen: list[str] = []
    called = threading.Event()

    def on_signal(name: str) -> None:
        seen.append(name)
        called.set()

    before = {s: signal.getsignal(s) for s in (signal.SIGINT, signal.SIGTERM)}
    guard = SignalGuard(on_signal)
    assert guard.install()
    try:
        os.kill(os.getpid(), signal.SIGTERM)  # past the point of raising: only the faults go
        assert called.wait(5) and seen == ["SIGTERM"]
        guard.raise_allowed = True
        called.clear()
        with pytest.raises(RunInterrupted, match="SIGINT received"):
            os.kill(os.getpid(), signal.SIGINT)
            time.sleep(5)  # interrupted at once
        assert called.wait(5) and seen == ["SIGTERM", "SIGINT"]
    finally:
        guard.restore()
    assert {s: signal.getsignal(s) for s in (signal.SIGINT, signal.SIGTERM)} == before
    assert signal.set_wakeup_fd(-1) == -1  # the wakeup fd is given back too
