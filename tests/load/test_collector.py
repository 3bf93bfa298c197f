"""The control's sample collector: lines over loopback TCP, bad lines counted, memory bounded, seconds summarised."""

import json
import socket
import time

from squall.load.collector import SETTLE_S, Collector


def _send(address: str, lines: list[str]) -> None:
    host, port = address.rsplit(":", 1)
    with socket.create_connection((host, int(port)), timeout=5) as sock:
        sock.sendall(("\n".join(lines) + "\n").encode())


def _wait(predicate: object, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and not predicate():  # type: ignore[operator]
        time.sleep(0.02)


def test_samples_arrive_bad_lines_are_counted_and_the_cap_holds() -> None:
    collector = Collector(max_samples=3)
    collector.start()
    try:
        rows = [json.dumps([1000.0 + k / 10, "experiment" if k % 2 else "control", k % 3 != 0, 5.0 + k, 200, "pay", 7])
                for k in range(5)]
        _send(collector.address, [*rows, "not json", json.dumps([1, 2]), json.dumps({"dropped": 4, "pid": 7})])
        _wait(lambda: collector.bad_lines == 2 and collector.dropped >= 4)
    finally:
        collector.close()
    assert collector.bad_lines == 2
    assert len(collector.samples) == 3 and collector.dropped == 2 + 4  # two over the cap, four the sender lost
    assert collector.count() == 5  # the per-second figures still count every request
    assert [s.group for s in collector.window(0, 2e9)] == ["control", "experiment", "control"]
    [(sec, group, n, ok, *_)] = [r for r in collector.seconds() if r[1] == "control"]
    assert (sec, n, ok) == (1000, 3, 2)  # k = 0, 2, 4: k = 0 failed


def test_old_seconds_are_summarised_and_their_latencies_dropped() -> None:
    collector = Collector(max_samples=10)
    try:
        from squall.load.collector import LoadSample

        for t in range(SETTLE_S + 40):
            for k in range(40):
                collector.add(LoadSample(5000 + t + k / 40, "control", True, float(k), 200, "x", 1))
        rows = collector.seconds()
        assert len(rows) == SETTLE_S + 40 and rows[0][2:] == rows[-1][2:]  # the same figures, settled or not
        assert rows[0][5] == 37.0 and rows[0][7] is not None  # p95 of 0..39 by nearest rank, and its interval
        assert sum(1 for s in collector._seconds.values() if s.latencies) <= SETTLE_S + 11
    finally:
        collector.close()
