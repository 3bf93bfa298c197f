"""The fault ledger: open/strike bookkeeping, sharing between processes, torn lines."""

import json
import multiprocessing
from pathlib import Path

import pytest

from squall.errors import LedgerError
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


# -- damage: no bad line may hide a fault --------------------------------------------
GARBAGE = [
    pytest.param(b"42", "not a JSON object", id="number"),
    pytest.param(b"[1]", "not a JSON object", id="list"),
    pytest.param(b"\xff\xfe{\"op\":\"apply\"}", "not UTF-8", id="not-utf8"),
    pytest.param(b'{"op":"apply","kind":"toxiproxy.toxic"}', "id", id="no-id"),
    pytest.param(b'{"op":"apply","id":7,"kind":"x"}', "id", id="id-not-a-string"),
    pytest.param(b'{"op":"strike"', "not JSON", id="torn"),
    pytest.param(b"null", "not a JSON object", id="null"),
]


@pytest.mark.parametrize(("line", "why"), GARBAGE)
def test_a_bad_line_is_skipped_and_reported_not_fatal(tmp_path: Path, line: bytes, why: str) -> None:
    path = tmp_path / "l.jsonl"
    ledger = Ledger(path)
    before = ledger.apply("toxiproxy.toxic", {}, {}, "before", run_id="r1")
    with open(path, "ab") as fh:
        fh.write(line + b"\n")
    after = ledger.apply("toxiproxy.toxic", {}, {}, "after", run_id="r1")
    assert [e.id for e in ledger.open_entries()] == [after.id, before.id]
    assert [s.line for s in ledger.skipped] == [2]
    assert why in ledger.skipped[0].reason


def test_an_entry_from_a_newer_squall_keeps_its_unknown_fields(tmp_path: Path) -> None:
    path = tmp_path / "l.jsonl"
    ledger = Ledger(path)
    entry = ledger.apply("toxiproxy.toxic", {"proxy": "p"}, {"url": "u"}, "newer", run_id="r1")
    record = {"op": "apply", **{k: v for k, v in entry.__dict__.items() if k not in ("struck_at", "outcome", "extra")}}
    record.update(id="n1", priority=3, labels={"team": "pay"})
    with open(path, "a") as fh:
        fh.write(json.dumps(record) + "\n")
    (newer,) = [e for e in ledger.open_entries() if e.id == "n1"]
    assert newer.extra == {"priority": 3, "labels": {"team": "pay"}}
    assert newer.undo == {"url": "u"} and ledger.skipped == []


def test_a_torn_line_does_not_swallow_the_next_entry(tmp_path: Path) -> None:
    path = tmp_path / "l.jsonl"
    ledger = Ledger(path)
    with open(path, "a") as fh:
        fh.write('{"op":"apply","id":"torn","kind":"toxiproxy.to')  # a writer killed mid-line, no newline
    entry = ledger.apply("toxiproxy.toxic", {}, {}, "next fault", run_id="r1")
    assert [e.id for e in ledger.open_entries()] == [entry.id]
    assert [s.line for s in ledger.skipped] == [1]
    ledger.strike(entry.id)
    assert ledger.open_entries() == []


def test_a_strike_of_an_unknown_or_garbled_id_strikes_nothing(tmp_path: Path) -> None:
    path = tmp_path / "l.jsonl"
    ledger = Ledger(path)
    entry = ledger.apply("toxiproxy.toxic", {}, {}, "kept", run_id="r1")
    with open(path, "a") as fh:
        fh.write('{"op":"strike","id":["x"],"at":1}\n{"op":"strike","id":"other","at":1}\n')
    assert [e.id for e in ledger.open_entries()] == [entry.id]
    assert [s.line for s in ledger.skipped] == [2]


def test_an_unreadable_ledger_file_is_a_ledger_error(tmp_path: Path) -> None:
    (tmp_path / "dir.jsonl").mkdir()
    with pytest.raises(LedgerError, match="dir.jsonl"):
        Ledger(tmp_path / "dir.jsonl").entries()


def test_compact_drops_old_struck_entries_and_keeps_open_ones_and_unreadable_lines(tmp_path: Path) -> None:
    path = tmp_path / "l.jsonl"
    ledger = Ledger(path)
    old = ledger.apply("toxiproxy.toxic", {}, {}, "old", run_id="r1")
    with open(path, "a") as fh:  # struck two days ago
        fh.write(json.dumps({"op": "strike", "id": old.id, "at": 1.0, "outcome": "removed"}) + "\n")
        fh.write('{"op":"strike","id":["x"]}\n42\n')
    still = ledger.apply("toxiproxy.toxic", {}, {}, "still open", run_id="r1")
    ledger.compact()
    assert [e.id for e in ledger.entries()] == [still.id]
    assert len(ledger.skipped) == 2


def test_a_record_an_older_squall_glued_onto_a_torn_line_is_still_read(tmp_path: Path) -> None:
    """Before records were written on a line of their own, the next one was appended onto a torn line."""
    path = tmp_path / "l.jsonl"
    ledger = Ledger(path)
    entry = ledger.apply("toxiproxy.toxic", {}, {"url": "u"}, "glued", run_id="r1")
    whole = path.read_bytes().rstrip(b"\n")
    path.write_bytes(b'{"op":"apply","id":"torn","kind":"toxi' + whole + b'\x00trailing junk\n')
    assert [e.id for e in ledger.open_entries()] == [entry.id]
    (skipped,) = ledger.skipped
    assert skipped.line == 1 and "1 whole record(s) in it were read" in skipped.reason
