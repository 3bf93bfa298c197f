"""One safe way to read every file a user hands squall: experiments, suites, journals.

Limits, each refused with a ``FileInvalid`` (exit 4) naming the file, the line
where known, and what was expected:

- regular files only: a directory, FIFO, device, socket or symlink loop is
  refused without blocking (a FIFO is opened non-blocking, then ``fstat``-ed);
- size: ``SQUALL_MAX_FILE_BYTES`` (default 10 MiB), checked before reading;
- strict UTF-8 (a leading BOM is allowed); the byte offset and line of a bad byte;
- YAML: one document of plain JSON-like values (mappings, lists, strings,
  numbers, booleans, null; dates stay strings). Other tags (``!!binary``,
  ``!!set``, ``!!python/...``, custom ``!tags``) are refused. Aliases are
  allowed, but a recursive alias is refused and expanding every alias may add
  at most ``MAX_NODES`` values to what is written (no "billion laughs");
  duplicate keys are refused;
- nesting: at most ``MAX_DEPTH`` levels (YAML and JSON), counted while parsing
  from the event stream, so no recursion can exhaust the stack;
- JSON: strict (no NaN/Infinity), duplicate keys refused.

The YAML document is built iteratively from libyaml's event stream (the pure
Python parser where libyaml is missing), never through PyYAML's recursive
composer or its full constructor.
"""

import errno
import itertools
import json
import os
import re
import stat
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from squall.errors import FileInvalid

__all__ = ["MAX_BYTES_ENV", "MAX_DEPTH", "MAX_NODES", "Loaded", "load", "load_json", "max_bytes", "read_text"]

MAX_BYTES_ENV = "SQUALL_MAX_FILE_BYTES"
DEFAULT_MAX_BYTES = 10 * 1024 * 1024
#: journals are written by chaos run, and a long run's timeline is large: their own, larger limit
JOURNAL_BYTES_ENV = "SQUALL_MAX_JOURNAL_BYTES"
DEFAULT_JOURNAL_BYTES = 256 * 1024 * 1024
MAX_DEPTH = 100
MAX_NODES = 100_000
#: line numbers are kept for key paths up to this long (validate points at activities and their arguments)
LINE_DEPTH = 8

KeyPath = tuple[str | int, ...]
_KINDS = ((stat.S_ISDIR, "a directory"), (stat.S_ISFIFO, "a FIFO (named pipe)"), (stat.S_ISCHR, "a character device"),
          (stat.S_ISBLK, "a block device"), (stat.S_ISSOCK, "a socket"))


@dataclass
class Loaded:
    """A parsed document and, for YAML, the line of each value by key path."""

    doc: Any
    lines: dict[KeyPath, int] = field(default_factory=dict)


def max_bytes(env: str = MAX_BYTES_ENV, default: int = DEFAULT_MAX_BYTES) -> int:
    """The size limit for a file squall reads: $SQUALL_MAX_FILE_BYTES (default 10 MiB), or a journal's."""
    raw = os.environ.get(env, "")
    try:
        value = int(raw) if raw else default
    except ValueError:
        value = -1
    if value < 1:
        raise FileInvalid(f"${env}", f"{raw!r} is not a size (expected a positive number of bytes)")
    return value


def read_bytes(path: Path | str, what: str = "file", limit_env: str = MAX_BYTES_ENV,
               default_limit: int = DEFAULT_MAX_BYTES) -> bytes:
    """The bytes of a regular file within its size limit; FileInvalid for anything else."""
    name, limit = str(path), max_bytes(limit_env, default_limit)
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
    except OSError as exc:
        reason = {errno.ENOENT: "does not exist", errno.ELOOP: "is a symlink loop",
                  errno.EACCES: "cannot be read (permission denied)"}.get(exc.errno or 0, f"cannot be opened ({exc.strerror})")
        raise FileInvalid(name, f"{reason} (expected {what})") from exc
    try:
        info = os.fstat(fd)
        for test, kind in _KINDS:
            if test(info.st_mode):
                raise FileInvalid(name, f"is {kind}, not a regular file (expected {what})")
        if info.st_size > limit:
            raise FileInvalid(name, f"is {info.st_size:,} bytes (expected at most {limit:,}; raise ${limit_env} to allow more)")
        chunks, total = [], 0
        while total <= limit:
            chunk = os.read(fd, min(1 << 20, limit + 1 - total))
            if not chunk:
                break
            chunks.append(chunk)
            total += len(chunk)
    except OSError as exc:
        raise FileInvalid(name, f"cannot be read ({exc.strerror}) (expected {what})") from exc
    finally:
        os.close(fd)
    if total > limit:
        raise FileInvalid(name, f"grew past {limit:,} bytes while being read (expected at most {limit:,})")
    return b"".join(chunks)


def read_text(path: Path | str, what: str = "file", limit_env: str = MAX_BYTES_ENV,
              default_limit: int = DEFAULT_MAX_BYTES) -> str:
    """The text of a regular UTF-8 file within the size limit (a leading BOM is dropped)."""
    data = read_bytes(path, what, limit_env, default_limit)
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        raise FileInvalid(str(path), f"byte {exc.start} (0x{data[exc.start]:02x}) is not UTF-8 (expected UTF-8 text)",
                          line=line) from exc
    return text.removeprefix("\ufeff")


def load(path: Path | str, what: str = "a YAML or JSON file") -> Loaded:
    """Read and parse a YAML or JSON file (JSON when it ends in .json) within every limit."""
    text = read_text(path, what)
    if str(path).lower().endswith(".json"):
        return Loaded(parse_json(text, str(path)))
    from squall.loader.yaml_events import parse_yaml

    return parse_yaml(text, str(path))


def load_json(path: Path | str, what: str = "a JSON file") -> Any:
    """Read and parse a strict JSON file within every limit."""
    return parse_json(read_text(path, what), str(path))


def load_journal(path: Path | str, what: str = "a Chaos Toolkit journal") -> Any:
    """Read a journal: a file squall or Chaos Toolkit wrote, so its own limit and NaN/Infinity allowed.

    Chaos Toolkit writes journals with Python's json, which puts NaN and
    Infinity where a probe returned them, and a long run's timeline can pass
    10 MiB; refusing either would refuse real runs. Depth, UTF-8, duplicate keys
    and regular-file checks stay as for every file.
    """
    text = read_text(path, what, JOURNAL_BYTES_ENV, DEFAULT_JOURNAL_BYTES)
    return parse_json(text, str(path), allow_constants=True)


# -- JSON ------------------------------------------------------------------------
_JSON_TOKENS = re.compile(r'"(?:[^"\\]|\\.)*"|[\[\]{}]')
_JSON_STRINGS = re.compile(r'"(?:[^"\\]|\\.)*"')
_NOT_BRACKETS = re.compile(r"[^\[\]{}]+")
_DEPTH_STEP = {"[": 1, "{": 1, "]": -1, "}": -1}


def _line_of(text: str, offset: int) -> int:
    return text.count("\n", 0, offset) + 1


def parse_json(text: str, name: str, allow_constants: bool = False) -> Any:
    """Strict JSON (NaN/Infinity only with ``allow_constants``), the nesting limit checked before the parser recurses."""
    # fast path, all in C: drop strings, keep brackets, take the running maximum
    brackets = _NOT_BRACKETS.sub("", _JSON_STRINGS.sub("", text))
    if max(itertools.accumulate(map(_DEPTH_STEP.__getitem__, brackets)), default=0) > MAX_DEPTH:
        _raise_json_depth(text, name)

    def constant(word: str) -> Any:
        raise ValueError(f"{word} is not a JSON number (expected a finite number)")

    def pairs(items: list[tuple[str, Any]]) -> dict[str, Any]:
        out = dict(items)
        if len(out) != len(items):
            seen: set[str] = set()
            dup = next(k for k, _ in items if k in seen or seen.add(k))  # type: ignore[func-returns-value]
            raise ValueError(f'duplicate key "{dup}" (expected each key once per object)')
        return out

    try:
        if allow_constants:
            return json.loads(text, object_pairs_hook=pairs)
        return json.loads(text, parse_constant=constant, object_pairs_hook=pairs)
    except json.JSONDecodeError as exc:
        raise FileInvalid(name, f"not valid JSON: {exc.msg} at column {exc.colno} (expected strict JSON)",
                          line=exc.lineno) from exc
    except (ValueError, RecursionError) as exc:
        raise FileInvalid(name, f"not valid JSON: {exc}") from exc


def _raise_json_depth(text: str, name: str) -> None:
    """Find where JSON nesting first goes past MAX_DEPTH and raise, naming that line."""
    depth = 0
    for match in _JSON_TOKENS.finditer(text):
        token = match.group()
        if token in "[{":
            depth += 1
            if depth > MAX_DEPTH:
                raise FileInvalid(name, f"nesting deeper than {MAX_DEPTH} levels (expected at most {MAX_DEPTH})",
                                  line=_line_of(text, match.start()))
        elif token in "]}":
            depth -= 1
