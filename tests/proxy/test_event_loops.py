"""squall.loops: uvloop by default, plain asyncio on request or where uvloop is missing, one switch for all.

`squall proxy serve` says which loop it runs on; the in-thread proxy, the
tests' servers and the demo take theirs from the same place.
"""

import ast
import importlib.util
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from services.processes import stop

import squall
from squall import loops
from squall.background import BackgroundLoop
from squall.errors import ExperimentInvalid

pytestmark = pytest.mark.skipif(importlib.util.find_spec("uvloop") is None,
                                reason="uvloop is not installed here (it is a dependency on CPython outside Windows)")

_LOOP_MAKERS = {"run", "new_event_loop", "Runner", "install", "get_event_loop"}

#: a Python that cannot import uvloop, as on a platform where it does not exist
_WITHOUT_UVLOOP = "import sys; sys.modules['uvloop'] = None; "


def test_uvloop_is_the_default(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(loops.ENV, raising=False)
    assert loops.implementation() == "uvloop"
    loop = loops.new_event_loop()
    try:
        assert loops.loop_implementation(loop) == "uvloop"
    finally:
        loop.close()


@pytest.mark.parametrize("value, expected", [
    ("asyncio", "asyncio"), ("uvloop", "uvloop"), (" UVLOOP ", "uvloop"), ("auto", "uvloop"), ("", "uvloop"),
])
def test_the_switch_chooses_the_loop(monkeypatch: pytest.MonkeyPatch, value: str, expected: str) -> None:
    monkeypatch.setenv(loops.ENV, value)
    assert loops.implementation() == expected

    async def which() -> str:
        return loops.loop_implementation()

    assert loops.run(which()) == expected
    with BackgroundLoop("switch-test") as bg:  # the in-thread proxy, the demo and the tests' servers
        assert bg.run(which()) == expected
        assert loops.loop_implementation(bg.loop) == expected


def test_an_unknown_loop_name_is_refused_with_the_choices(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(loops.ENV, "tokio")
    with pytest.raises(ExperimentInvalid, match=r'SQUALL_EVENT_LOOP="tokio".*expected one of: auto, uvloop, asyncio'):
        loops.new_event_loop()


def _python(code: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60,
                          env={**os.environ, **env})


def test_without_uvloop_plain_asyncio_is_used() -> None:
    code = _WITHOUT_UVLOOP + (
        "import asyncio; from squall import loops; "
        "print(loops.implementation(), type(loops.new_event_loop()).__module__)"
    )
    done = _python(code, {loops.ENV: ""})
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["asyncio", "asyncio.unix_events"]


def test_asking_for_uvloop_where_it_is_missing_says_so() -> None:
    code = _WITHOUT_UVLOOP + "from squall import loops; loops.new_event_loop()"
    done = _python(code, {loops.ENV: "uvloop"})
    assert done.returncode != 0
    assert "SQUALL_EVENT_LOOP=uvloop but uvloop is not installed" in done.stderr


@contextmanager
def _serve(prefix: str, env: dict[str, str], *args: str) -> Iterator[subprocess.Popen[str]]:
    code = prefix + "from squall.cli import main; main()"
    proc = subprocess.Popen([sys.executable, "-c", code, "proxy", "serve", "--port", "0", *args],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env={**os.environ, **env})
    try:
        yield proc
    finally:
        stop(proc)


@pytest.mark.parametrize("prefix, env, expected", [
    ("", {loops.ENV: ""}, "uvloop"),
    ("", {loops.ENV: "asyncio"}, "asyncio"),
    (_WITHOUT_UVLOOP, {loops.ENV: ""}, "asyncio"),
])
def test_proxy_serve_says_which_loop_it_runs_on(prefix: str, env: dict[str, str], expected: str) -> None:
    with _serve(prefix, env, "--backlog", "300") as proc:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        assert re.search(rf"admin API on http://127\.0\.0\.1:\d+ \(event loop {expected}, listen backlog 300\)",
                         line), line


def test_proxy_serve_refuses_an_unknown_loop_and_a_bad_backlog() -> None:
    with _serve("", {loops.ENV: "tokio"}) as proc:
        assert proc.wait(30) == 4  # ExperimentInvalid, through squall's one translation
        assert proc.stderr is not None
        err = proc.stderr.read()
        assert 'error: SQUALL_EVENT_LOOP="tokio" is not an event loop' in err
        assert "never awaited" not in err
    with _serve("", {}, "--backlog", "0") as proc:
        assert proc.wait(30) == 4  # squall's exit code for a bad argument
        assert proc.stderr is not None and "Invalid value for '--backlog'" in proc.stderr.read()



def test_every_event_loop_squall_starts_comes_from_squall_loops() -> None:
    root = Path(squall.__file__).parent
    found = []
    for path in sorted(root.rglob("*.py")):
        if path.name == "loops.py" and path.parent == root:
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Attribute) and node.attr in _LOOP_MAKERS and \
                    isinstance(node.value, ast.Name) and node.value.id in ("asyncio", "uvloop"):
                found.append(f"{path.relative_to(root)}:{node.lineno} {node.value.id}.{node.attr}")
    assert found == [], "use squall.loops.run / new_event_loop instead: " + ", ".join(found)
