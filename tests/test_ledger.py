"""The fault ledger: open/strike bookkeeping, sharing between processes, torn lines."""

import multiprocessing
from pathlib import Path

from squall.ledger import Ledger


def test_apply_then_strike_leaves_nothing_open(tmp_path: Path) -> None:
    ledger = Ledger(tmp_path / "l.jsonl")
    a = ledger.apply("toxiproxy.toxic", {"proxy": "p"}, {"url": "u"}, "latency on p", run_id="r1")
    b = ledger.apply("toxiproxy.disabled", {"proxy": "p"}, {"url": "u"}, "p disabled", run_id="r1")
    assert [e.id for e in ledger.open_entries("r1")] == [b.id, a.id]  # newest first: undo order
    ledger.strike(a.id)
    assert [e.id for e in ledger.open_entries()] == [b.id]
    ledger.strike(b.id)
    assert ledger.open_entries() == []
    assert {e.outcome for e in ledger.entries()} == {"removed"}


def test_runs_see_only_their_own_entries(tmp_path: Path) -> None:
    ledger = Ledger(tmp_path / "l.jsonl")
    ledger.apply("toxiproxy.toxic", {}, {}, "a", run_id="r1")
    ledger.apply("toxiproxy.toxic", {}, {}, "b", run_id="r2")
    assert [e.description for e in ledger.open_entries("r2")] == ["b"]


def test_torn_last_line_is_ignored(tmp_path: Path) -> None:
    path = tmp_path / "l.jsonl"
    ledger = Ledger(path)
    ledger.apply("toxiproxy.toxic", {}, {}, "kept", run_id="r1")
    with open(path, "a") as fh:
        fh.write('{"op":"apply","id":"x')  # a writer killed mid-line
    assert [e.description for e in ledger.open_entries()] == ["kept"]


def _writer(path: str, run: str) -> None:
    ledger = Ledger(path)
    for i in range(200):
        e = ledger.apply("toxiproxy.toxic", {"i": i}, {}, f"{run}-{i}", run_id=run)
        if i % 2:
            ledger.strike(e.id)


def test_two_processes_share_one_ledger(tmp_path: Path) -> None:
    path = str(tmp_path / "l.jsonl")
    procs = [multiprocessing.get_context("spawn").Process(target=_writer, args=(path, r)) for r in ("a", "b")]
    for p in procs:
        p.start()
    for p in procs:
        p.join(60)
        assert p.exitcode == 0
    ledger = Ledger(path)
    assert len(ledger.entries()) == 400
    assert len(ledger.open_entries("a")) == 100
    assert len(ledger.open_entries("b")) == 100


def test_dead_owner_is_detected(tmp_path: Path) -> None:
    ledger = Ledger(tmp_path / "l.jsonl")
    entry = ledger.apply("toxiproxy.toxic", {}, {}, "mine", run_id="r")
    assert entry.owner_alive()
    proc = multiprocessing.get_context("spawn").Process(target=int)
    proc.start()
    proc.join()
    dead = entry.__class__(**{**entry.__dict__, "pid": proc.pid})
    assert not dead.owner_alive()
