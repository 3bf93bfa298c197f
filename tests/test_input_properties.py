"""Property tests: whatever file a user hands `squall validate` or `squall gate`, squall answers 0 or 4, never crashes.

Inputs: random JSON-like documents (as YAML and as JSON), the bundled experiments
with one value replaced or removed, random bytes and real files with bytes flipped.
validate must return problems (never raise), its command must exit 0 or 4 with no
traceback, and `squall gate` must exit 4 for every input validate finds a problem
in, before anything runs: a real embedded proxy, which every experiment is pointed
at, keeps no toxic and stays enabled. ``SQUALL_HYPOTHESIS_EXAMPLES`` sets the
scale (default 100: validate tries half of it, the gate a fifth; under 20 s on a quiet machine).
"""

import copy
import json
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from click.testing import CliRunner
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from squall.cli import main
from squall.loader import load
from squall.proxy import run_in_thread
from squall.toxiproxy_client import ToxiproxyClient
from squall.validate import validate_file

EXAMPLES = int(os.environ.get("SQUALL_HYPOTHESIS_EXAMPLES", "100"))
PROPS = settings(max_examples=max(10, EXAMPLES // 2), deadline=None, database=None,
                 suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large,
                                        HealthCheck.function_scoped_fixture])
GATE_PROPS = settings(PROPS, max_examples=max(5, EXAMPLES // 5))
ROOT = Path(__file__).resolve().parents[1]
REAL = sorted([*ROOT.glob("experiments/**/*.yaml"), *ROOT.glob("squall/demo/experiments/*.yaml")])
#: read once: generation must not change if someone edits an experiment while the test runs
REAL_BYTES = {str(path.relative_to(ROOT)): path.read_bytes() for path in REAL}
REAL_DOCS = {str(path.relative_to(ROOT)): load(path).doc for path in REAL}
PROXIES = ("payments", "inventory", "replica", "database")

SCALARS = (st.none() | st.booleans() | st.integers(min_value=-2**70, max_value=2**70) | st.floats()
           | st.text(max_size=30) | st.sampled_from(["squall.actions.toxiproxy", "add_latency", "python", "action",
                                                     "probe", "payments", "${x}", "http://127.0.0.1:1", ":::x"]))
VALUES = st.recursive(SCALARS, lambda inner: st.lists(inner, max_size=5)
                      | st.dictionaries(st.text(max_size=12) | st.sampled_from(
                          ["title", "description", "method", "provider", "type", "module", "func", "arguments",
                           "steady-state-hypothesis", "probes", "tolerance", "controls", "configuration",
                           "rollbacks", "experiments", "path", "name"]), inner, max_size=6), max_leaves=40)


@pytest.fixture(scope="module")
def proxy_url() -> Iterator[str]:
    """A real embedded proxy with the proxies the bundled experiments name, and a private ledger."""
    old = os.environ.get("SQUALL_LEDGER")
    with tempfile.TemporaryDirectory() as folder, run_in_thread() as proxy:
        os.environ["SQUALL_LEDGER"] = str(Path(folder) / "ledger.jsonl")
        with ToxiproxyClient(proxy.url) as client:
            for name in PROXIES:
                client.create_proxy(name, "127.0.0.1:0", "127.0.0.1:9")
        try:
            yield proxy.url
        finally:
            if old is None:
                os.environ.pop("SQUALL_LEDGER", None)
            else:
                os.environ["SQUALL_LEDGER"] = old


def _untouched(url: str) -> None:
    with ToxiproxyClient(url) as client:
        proxies = client.proxies()
        assert sorted(proxies) == sorted(PROXIES)
        for name in PROXIES:
            assert client.toxics(name) == [] and proxies[name]["enabled"] is True


def _paths(doc: Any, at: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    out = [at]
    if isinstance(doc, dict):
        for k, v in doc.items():
            out += _paths(v, at + (k,))
    elif isinstance(doc, list):
        for i, v in enumerate(doc):
            out += _paths(v, at + (i,))
    return out


@st.composite
def mutated_experiment(draw: st.DrawFn, url: str) -> tuple[str, str]:
    """A bundled experiment pointed at the test's proxy, with one value replaced or one key removed (YAML or JSON)."""
    doc = copy.deepcopy(REAL_DOCS[draw(st.sampled_from(sorted(REAL_DOCS)))])
    if isinstance(doc.get("configuration"), dict):
        doc["configuration"]["toxiproxy_url"] = url
    path = draw(st.sampled_from(_paths(doc)[1:]))
    parent = doc
    for key in path[:-1]:
        parent = parent[key]
    if isinstance(parent, dict) and draw(st.booleans()):
        del parent[path[-1]]
    else:
        parent[path[-1]] = draw(VALUES)
    suffix = draw(st.sampled_from([".yaml", ".json"]))
    text = json.dumps(doc) if suffix == ".json" else yaml.safe_dump(doc, allow_unicode=True)
    return text, suffix


def _text_of(value: Any, as_json: bool) -> str:
    return json.dumps(value) if as_json else yaml.safe_dump(value, allow_unicode=True)


@st.composite
def any_input(draw: st.DrawFn, url: str) -> tuple[bytes, str]:
    """Bytes and a suffix: a random document, a mutated real experiment, random bytes or a real file with bytes flipped."""
    kind = draw(st.sampled_from(["document", "mutated", "bytes", "flipped"]))
    if kind == "document":
        as_json = draw(st.booleans())
        return _text_of(draw(VALUES), as_json).encode(), ".json" if as_json else ".yaml"
    if kind == "mutated":
        text, suffix = draw(mutated_experiment(url))
        return text.encode(), suffix
    if kind == "bytes":
        return draw(st.binary(max_size=400)), draw(st.sampled_from([".yaml", ".json"]))
    data = bytearray(REAL_BYTES[draw(st.sampled_from(sorted(REAL_BYTES)))])
    for _ in range(draw(st.integers(min_value=1, max_value=5))):
        i = draw(st.integers(min_value=0, max_value=len(data) - 1))
        data[i] = draw(st.integers(min_value=0, max_value=255))
    return bytes(data), ".yaml"


def _write(folder: str, data: bytes, suffix: str) -> Path:
    path = Path(folder) / f"input{suffix}"
    path.write_bytes(data)
    return path


def test_validate_never_crashes_and_exits_0_or_4(proxy_url: str) -> None:
    runner = CliRunner()
    seen = {"inputs": 0, "refused": 0}

    @PROPS
    @given(st.data())
    def check(data: st.DataObject) -> None:
        raw, suffix = data.draw(any_input(proxy_url))
        with tempfile.TemporaryDirectory() as folder:
            path = _write(folder, raw, suffix)
            problems = validate_file(path)  # online: asks the real proxy about toxiproxy_url and proxy names
            assert all(p.file == str(path) and p.message for p in problems)
            result = runner.invoke(main, ["validate", str(path)])
        assert result.exception is None or isinstance(result.exception, SystemExit), result.output
        assert "Traceback" not in result.output
        assert result.exit_code == (4 if problems else 0), (result.exit_code, result.output)
        _untouched(proxy_url)
        seen["inputs"] += 1
        seen["refused"] += bool(problems)

    check()
    print(f"validate: {seen['inputs']} inputs, {seen['refused']} refused (exit 4), "
          f"{seen['inputs'] - seen['refused']} valid (exit 0), no traceback")


def test_gate_exits_4_and_injects_nothing_for_every_input_validate_refuses(proxy_url: str) -> None:
    runner = CliRunner()
    seen = {"inputs": 0}

    @GATE_PROPS
    @given(st.data())
    def check(data: st.DataObject) -> None:
        raw, suffix = data.draw(any_input(proxy_url))
        with tempfile.TemporaryDirectory() as folder:
            path = _write(folder, raw, suffix)
            assume(validate_file(path))  # a valid one would run for real; those are the gate's own tests
            result = runner.invoke(main, ["gate", "--quiet", "--report-dir", str(Path(folder) / "reports"), str(path)])
        assert result.exception is None or isinstance(result.exception, SystemExit), result.output
        assert "Traceback" not in result.output
        assert result.exit_code == 4, (result.exit_code, result.output)
        _untouched(proxy_url)
        seen["inputs"] += 1

    check()
    print(f"gate: {seen['inputs']} invalid inputs, each exit 4, nothing injected, no traceback")
