"""Property tests: no damage to the fault ledger and no toxic name lets a fault outlive cleanup.

Bytes of any kind appended, a tail cut off (a writer killed mid-line), faults
applied and struck in between: the reader never raises, finds exactly the faults
still open, and ``squall.cleanup`` against a real embedded proxy removes every
one it can read and touches nothing else. ``SQUALL_HYPOTHESIS_EXAMPLES`` sets the
number of examples per test (default 100).
"""

import json
import os
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from chaoslib.exceptions import ActivityFailed
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from squall.actions import toxiproxy as tp
from squall.cleanup import cleanup
from squall.ledger import Ledger
from squall.proxy import run_in_thread
from squall.toxiproxy_client import ToxiproxyClient

EXAMPLES = int(os.environ.get("SQUALL_HYPOTHESIS_EXAMPLES", "100"))
_SETTINGS = {"deadline": None, "database": None, "suppress_health_check": [HealthCheck.too_slow, HealthCheck.data_too_large]}
PROPS = settings(max_examples=EXAMPLES, **_SETTINGS)  # type: ignore[arg-type]
#: examples that talk to a real proxy (and fsync a ledger) cost ~50 ms a fault: a quarter as many
PROXY_PROPS = settings(max_examples=max(1, EXAMPLES // 4), **_SETTINGS)  # type: ignore[arg-type]
BYSTANDER = "bystander"  # a toxic no ledger entry names: cleanup must leave it alone

# -- the ledger on its own --------------------------------------------------------------
OPS = st.lists(
    st.one_of(
        st.tuples(st.just("apply"), st.text(max_size=20)),
        st.tuples(st.just("strike"), st.integers(min_value=0, max_value=30)),
        st.tuples(st.just("garbage"), st.binary(max_size=60)),
        st.tuples(st.just("line"), st.sampled_from([b"42", b"[1]", b"null", b'"x"', b"{}", b'{"op":"apply"}',
                                                     b'{"op":"strike","id":["x"]}', b'{"op":"apply","id":"x"}',
                                                     b"\xff\xfe", b'{"op":"strike","id":"nope","at":1}'])),
        st.tuples(st.just("torn"), st.floats(min_value=0.0, max_value=0.99)),
        st.tuples(st.just("cut"), st.integers(min_value=1, max_value=80)),
    ),
    max_size=25,
)


@dataclass
class Model:
    """What the ledger must say: each record's byte span, and which entries are open."""

    applied: dict[str, tuple[int, int]] = field(default_factory=dict)  # id -> (start, end of its JSON)
    struck: dict[str, tuple[int, int]] = field(default_factory=dict)
    order: list[str] = field(default_factory=list)

    def cut(self, size: int) -> None:
        """The file now ends at ``size``: records not wholly before it are lost."""
        self.applied = {k: v for k, v in self.applied.items() if v[1] <= size}
        self.struck = {k: v for k, v in self.struck.items() if v[1] <= size}

    def open_ids(self) -> set[str]:
        return set(self.applied) - set(self.struck)


def _record_span(path: Path, before: int) -> tuple[int, int]:
    """Where the record just appended lies (after a separating newline, if the writer added one)."""
    data = path.read_bytes()
    start = before + (1 if data[before:before + 1] == b"\n" else 0)
    return start, len(data) - 1  # without its newline: a complete JSON text is readable even untermintated


@PROPS
@given(ops=OPS)
def test_any_damage_leaves_every_intact_open_entry_readable(ops: list[tuple[str, object]]) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "ledger.jsonl"
        ledger, model = Ledger(path), Model()
        for op, arg in ops:
            size = path.stat().st_size if path.exists() else 0
            if op == "apply":
                entry = ledger.apply("toxiproxy.toxic", {"proxy": "p"}, {"url": "u"}, str(arg), run_id="r")
                model.applied[entry.id] = _record_span(path, size)
                model.order.append(entry.id)
            elif op == "strike" and model.order:
                victim = model.order[int(str(arg)) % len(model.order)]
                ledger.strike(victim)
                if victim not in model.struck:
                    model.struck[victim] = _record_span(path, size)
            elif op in ("garbage", "line", "torn"):
                if op == "torn":  # a writer killed mid-line: a prefix of a real record, no newline
                    record = json.dumps({"op": "apply", "id": "torn", "kind": "toxiproxy.toxic", "target": {},
                                         "undo": {}, "description": "", "run_id": "r", "pid": 1, "applied_at": 1})
                    chunk = record.encode()[: int(len(record) * float(str(arg)))]
                else:
                    chunk = bytes(arg) + (b"\n" if op == "line" else b"")  # type: ignore[call-overload]
                with open(path, "ab") as fh:
                    fh.write(chunk)
            elif op == "cut" and size:
                new_size = max(0, size - int(str(arg)))
                os.truncate(path, new_size)
                model.cut(new_size)
        found = {e.id: e for e in ledger.entries()}
        open_ids = {e.id for e in ledger.open_entries()}
        # every intact apply is found; exactly the intact, unstruck ones are open
        assert set(model.applied) <= set(found)
        assert open_ids == model.open_ids() | (open_ids - set(model.applied)) and open_ids >= model.open_ids()
        assert open_ids - set(model.applied) <= {"torn"}  # only a complete "torn" record, never garbage
        assert all(s.line >= 1 and s.reason for s in ledger.skipped)


# -- cleanup against a real embedded proxy ----------------------------------------------------
@pytest.fixture(scope="module")
def proxy_api() -> Iterator[str]:
    with run_in_thread(host="127.0.0.1", port=0) as proxy:
        yield proxy.url


def _fresh(client: ToxiproxyClient) -> None:
    """Proxy "be" with only the bystander toxic on it."""
    client.reset()
    if "be" not in client.proxies():
        client.create_proxy("be", "127.0.0.1:0", "127.0.0.1:9")
    client.add_toxic("be", "latency", {"latency": 1}, name=BYSTANDER)


GARBAGE = st.one_of(st.binary(max_size=40), st.sampled_from([b"42\n", b"[1]\n", b"\xff\n", b'{"op":"apply"}\n']))
FAULTS = st.lists(st.one_of(st.tuples(st.just("fault"), st.integers(1, 500)), st.tuples(st.just("garbage"), GARBAGE)),
                  max_size=6)


@PROXY_PROPS
@given(steps=FAULTS)
def test_cleanup_removes_every_readable_fault_and_nothing_else(proxy_api: str, steps: list[tuple[str, object]]) -> None:
    with tempfile.TemporaryDirectory() as tmp, ToxiproxyClient(proxy_api) as client:
        _fresh(client)
        path = Path(tmp) / "ledger.jsonl"
        cfg = {"toxiproxy_url": proxy_api, "squall_ledger": str(path)}
        applied = 0
        for step, arg in steps:
            if step == "fault":
                tp.add_latency("be", int(str(arg)), name=f"fault-{applied}", configuration=cfg)
                applied += 1
            else:
                with open(path, "ab") as fh:
                    fh.write(bytes(arg))  # type: ignore[call-overload]
        ledger = Ledger(path)
        results = cleanup(ledger)
        assert len(results) == applied and all(r.removed and r.struck for r in results), results
        assert [t["name"] for t in client.toxics("be")] == [BYSTANDER]
        assert ledger.open_entries() == []


NAMES = st.one_of(
    st.text(max_size=30),
    st.text(st.characters(categories=["Cs", "Cc", "Cf", "Po", "Zs", "Zl"]), max_size=12),
    st.sampled_from([".", "..", "a/b", "a%2Fb", "%2E%2E", "q?x", "h#x", "../be", "%", "a/..", " ", "\x00", "{", "}"]),
    st.builds(lambda a, b: a + b, st.sampled_from(["/", "?", "#", "%2F", ".", "%"]), st.text(max_size=5)),
)


@PROXY_PROPS
@given(name=NAMES)
def test_any_toxic_name_is_either_refused_up_front_or_added_and_cleaned_up_alone(proxy_api: str, name: str) -> None:
    assume(name != BYSTANDER)
    with tempfile.TemporaryDirectory() as tmp, ToxiproxyClient(proxy_api) as client:
        _fresh(client)
        ledger = Ledger(Path(tmp) / "ledger.jsonl")
        cfg = {"toxiproxy_url": proxy_api, "squall_ledger": str(ledger.path)}
        try:
            tp.add_latency("be", 10, name=name, configuration=cfg)
        except ActivityFailed as exc:
            assert "name" in str(exc)  # refused with a message that names the problem
            assert ledger.entries() == [] and [t["name"] for t in client.toxics("be")] == [BYSTANDER]
            return
        assert sorted(t["name"] for t in client.toxics("be")) == sorted([BYSTANDER, name])
        (result,) = cleanup(ledger)
        assert result.removed and result.struck and "removed" in result.message
        assert "be" in client.proxies()
        assert [t["name"] for t in client.toxics("be")] == [BYSTANDER]
        assert ledger.open_entries() == []
