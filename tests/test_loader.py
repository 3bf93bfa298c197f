"""squall.loader: every file a user hands squall is read within limits, and refused with file, line and expectation."""

import json
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from squall.errors import FileInvalid
from squall.exitcodes import ExitCode
from squall.loader import MAX_BYTES_ENV, MAX_DEPTH, load, load_json

BIN = Path(sys.executable).parent
LAUGHS = "a: &a [lol, lol, lol, lol, lol, lol, lol, lol, lol]\n" + "".join(
    f"{chr(98 + i)}: &{chr(98 + i)} [{', '.join(['*' + chr(97 + i)] * 9)}]\n" for i in range(8))


def _write(text: str | bytes) -> Callable[[Path], Path]:
    def make(folder: Path) -> Path:
        path = folder / "exp.yaml"
        path.write_bytes(text if isinstance(text, bytes) else text.encode())
        return path
    return make


def _fifo(folder: Path) -> Path:
    path = folder / "pipe.yaml"
    os.mkfifo(path)
    return path


def _loop(folder: Path) -> Path:
    (folder / "a.yaml").symlink_to(folder / "b.yaml")
    (folder / "b.yaml").symlink_to(folder / "a.yaml")
    return folder / "a.yaml"


def _huge(folder: Path) -> Path:
    path = folder / "huge.yaml"
    with open(path, "wb") as f:
        f.truncate(50 * 1024 * 1024)  # 50 MB (sparse): refused by its size, never read
    return path


#: (case, how to make the file, what the message says, line or None)
BAD = [
    ("non-utf8", _write(b"title: ok\ndescription: caf\xe9\n"), "byte 26 (0xe9) is not UTF-8", 2),
    ("recursive-alias", _write("title: t\nmethod: &m [*m]\n"), 'alias "*m" refers to a node that contains it', 2),
    ("deep-3000", _write("x: " + "[" * 3000 + "]" * 3000 + "\n"), f"nesting deeper than {MAX_DEPTH} levels", 1),
    ("deep-150", _write("x: " + "[" * 150 + "]" * 150 + "\n"), f"nesting deeper than {MAX_DEPTH} levels", 1),
    ("billion-laughs", _write(LAUGHS), "aliases expand to more than 100,000 extra values", 6),
    ("binary-tag", _write("title: t\nblob: !!binary aGVsbG8=\n"), 'tag "!!binary" is not allowed', 2),
    ("set-tag", _write("title: t\nnames: !!set {a, b}\n"), 'tag "!!set" is not allowed', 2),
    ("python-tag", _write("title: !!python/object/apply:os.getpid []\n"), 'tag "!!python/object/apply:os.getpid"', 1),
    ("custom-tag", _write("title: t\nx: !secret abc\n"), 'tag "!secret" is not allowed', 2),
    ("duplicate-key", _write("title: a\ndescription: d\ntitle: b\n"), 'duplicate key "title"', 3),
    ("two-documents", _write("title: a\n---\ntitle: b\n"), "a second YAML document", 2),
    ("fifo", _fifo, "is a FIFO (named pipe), not a regular file", None),
    ("symlink-loop", _loop, "is a symlink loop", None),
    ("directory", lambda folder: folder, "is a directory, not a regular file", None),
    ("device", lambda folder: Path("/dev/null"), "is a character device, not a regular file", None),
    ("missing", lambda folder: folder / "nope.yaml", "does not exist", None),
    ("50-MB", _huge, "is 52,428,800 bytes (expected at most 10,485,760", None),
]


@pytest.mark.parametrize(("case", "make", "message", "line"), BAD, ids=[b[0] for b in BAD])
def test_each_unsafe_file_is_refused_naming_file_line_and_expectation(
    tmp_path: Path, case: str, make: Callable[[Path], Path], message: str, line: int | None
) -> None:
    path = make(tmp_path)
    with pytest.raises(FileInvalid) as caught:
        load(path)
    assert message in caught.value.message
    assert "expected" in caught.value.message
    assert caught.value.line == line
    assert str(caught.value).startswith(f"{path}:{line}: " if line else f"{path}: ")


def test_plain_yaml_keeps_aliases_merge_keys_and_lines(tmp_path: Path) -> None:
    path = tmp_path / "exp.yaml"
    path.write_text("defaults: &d {proxy: payments, latency_ms: 100}\nmethod:\n  - <<: *d\n    latency_ms: 300\n"
                    "  - when: 2024-05-01\n    enabled: yes\n    n: 0x10\n    f: 1.5e+3\n    none: ~\n")
    loaded = load(path)
    assert loaded.doc["method"] == [{"proxy": "payments", "latency_ms": 300},
                                    {"when": "2024-05-01", "enabled": True, "n": 16, "f": 1500.0, "none": None}]
    assert json.loads(json.dumps(loaded.doc)) == loaded.doc  # plain JSON-like values only (a date stays text)
    assert loaded.lines[("method", 0, "latency_ms")] == 4 and loaded.lines[("method", 1, "n")] == 7


def test_merge_key_text_outside_a_key_stays_text(tmp_path: Path) -> None:
    path = tmp_path / "exp.yaml"
    path.write_text("a: <<\nb: [<<, x]\nc: &m <<\nd: *m\n<<: {z: 1}\n")
    assert load(path).doc == {"a": "<<", "b": ["<<", "x"], "c": "<<", "d": "<<", "z": 1}


def test_json_is_strict_and_depth_limited(tmp_path: Path) -> None:
    path = tmp_path / "journal.json"
    for text, message in [('{"a": NaN}', "NaN is not a JSON number"), ('{"a": 1, "a": 2}', 'duplicate key "a"'),
                          ("[" * 5000 + "]" * 5000, "nesting deeper than 100 levels"), ('{"a": ', "not valid JSON")]:
        path.write_text(text)
        with pytest.raises(FileInvalid, match="expected|not valid JSON") as caught:
            load_json(path)
        assert message in str(caught.value)
    path.write_text(json.dumps({"status": "completed", "run": [{"x": [1, 2.5, None, True]}]}))
    assert load_json(path)["run"][0]["x"] == [1, 2.5, None, True]


def test_size_limit_is_configurable(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "exp.yaml"
    path.write_text("title: " + "x" * 200 + "\n")
    monkeypatch.setenv(MAX_BYTES_ENV, "100")
    with pytest.raises(FileInvalid, match=r"is 208 bytes \(expected at most 100; raise \$SQUALL_MAX_FILE_BYTES"):
        load(path)
    monkeypatch.setenv(MAX_BYTES_ENV, "lots")
    with pytest.raises(FileInvalid, match="'lots' is not a size"):
        load(path)
    monkeypatch.setenv(MAX_BYTES_ENV, "1000")
    assert load(path).doc == {"title": "x" * 200}


def test_a_large_valid_file_loads(tmp_path: Path) -> None:
    """A 1.5 MB experiment (far more than any real one) loads whole; benchmarks/loader.py measures 9 MB."""
    method = [{"type": "action", "name": f"step-{i}", "provider": {"type": "python", "module": "os.path",
               "func": "exists", "arguments": {"path": f"/tmp/{i}"}}} for i in range(12_000)]
    path = tmp_path / "big.yaml"
    import yaml

    path.write_text(yaml.safe_dump({"title": "t", "description": "d", "method": method}))
    assert path.stat().st_size > 1_500_000
    assert load(path).doc["method"][-1]["name"] == "step-11999"


def test_validate_and_gate_exit_4_without_traceback_for_every_unsafe_file(tmp_path: Path) -> None:
    files = []
    for case, make, message, _ in BAD:
        if case in ("directory", "device", "missing"):
            continue  # click or the loader name these; covered in tests/test_cli.py
        folder = tmp_path / case
        folder.mkdir()
        files.append((make(folder), message))
    env = {**os.environ, "SQUALL_LEDGER": str(tmp_path / "ledger.jsonl")}
    for args in (["validate", "--offline"], ["gate", "--quiet", "--report-dir", str(tmp_path / "reports")]):
        proc = subprocess.run([str(BIN / "squall"), *args, *(str(f) for f, _ in files)], capture_output=True,
                              text=True, timeout=120, env=env, cwd=tmp_path)
        assert proc.returncode == ExitCode.INVALID, (args, proc.stderr[-2000:])
        assert "Traceback" not in proc.stderr
        for path, message in files:
            assert f"{path}" in proc.stderr and message in proc.stderr, (args, path, message)
