"""Value checks `squall validate` adds to the shape checks: argument ranges, the Toxiproxy URL, process binaries.

Argument ranges are not written here: they are the ``@bounded`` declarations on
each activity (``squall.bounds``), the same ones the activity applies when it
is called.
"""

import os
import shutil
from collections.abc import Callable, Mapping
from typing import Any
from urllib.parse import urlsplit

from squall import config
from squall.bounds import bounds_of, quantity_of

__all__ = ["argument_problems", "process_problem", "url_problem"]


def _substituted_later(value: Any) -> bool:
    return isinstance(value, str) and "${" in value


def argument_problems(func: Callable[..., Any], arguments: Mapping[str, Any]) -> list[tuple[str, str]]:
    """(argument, message) for every argument outside its range (``${...}`` values skipped).

    The range is the one the function declares (``@bounded``); for other numbers
    passed to a squall function, the one ``QUANTITIES`` gives by argument name.
    """
    declared = bounds_of(func)
    ours = str(getattr(func, "__module__", "")).startswith("squall")
    out = []
    for name, value in arguments.items():
        if not isinstance(name, str) or _substituted_later(value):
            continue
        check = declared.get(name)
        if check is None and ours and isinstance(value, (int, float)) and not isinstance(value, bool):
            check = quantity_of(name)
        problem = check.problem(name, value) if check is not None else None
        if problem is not None:
            out.append((name, problem))
    return out


def url_problem(value: Any, key: str = "toxiproxy_url") -> str | None:
    """A message if `value` is not an http(s) URL with a host (and a valid port); None if it is, or is ``${...}``."""
    if value is None or _substituted_later(value):
        return None
    expected = "expected an http:// or https:// URL such as http://127.0.0.1:8474"
    if not isinstance(value, str) or not value.strip():
        return f"{key}={value!r} ({expected})"
    url = value.strip() if "://" in value else "http://" + value.strip()
    shown = config.redact_url(value)
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        return f'{key} "{shown}" is not a valid URL ({exc}; {expected})'
    if parts.scheme not in ("http", "https"):
        return f'{key} "{shown}" has scheme "{parts.scheme}" ({expected})'
    if not parts.hostname:
        return f'{key} "{shown}" has no host ({expected})'
    if port is not None and not 0 < port <= 65535:
        return f'{key} "{shown}" has port {port} ({expected}, port from 1 to 65535)'
    if any(c.isspace() for c in url):
        return f'{key} "{shown}" contains white space ({expected})'
    return None


def process_problem(provider: Mapping[str, Any]) -> str | None:
    """A message if a ``process`` provider's program cannot be found (as Chaos Toolkit looks it up: PATH, then the path)."""
    path = provider.get("path")
    if not isinstance(path, str) or not path.strip():
        return f"a process provider needs \"path\": the program to run (got {path!r})"
    if _substituted_later(path):
        return None
    if shutil.which(os.path.expanduser(path)) is None:
        where = "is not an executable file" if os.sep in path else "is not found on PATH"
        return f'process "{path}" {where} (expected a program that exists, e.g. "curl" or "/usr/bin/curl")'
    return None
