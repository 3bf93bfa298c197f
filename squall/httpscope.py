"""Which HTTP requests a scoped toxic (``http_error``, ``http_latency``) acts on: parsing, matching, describing.

A scope is six string attributes of the toxic; an empty one means any, and
every given one must hold:

- ``method``: one method or a comma list (``"POST"``, ``"POST,PUT"``), case-insensitive
- ``path_prefix``: the request target (path and query) starts with it
- ``path_regex``: ``re.search`` on the request target
- ``header_name`` (+ ``header_value``): the header is present (name case-insensitive); with a value,
  the header's value, or one of its comma-separated items, equals it
- ``baggage``: ``"key=value"`` (a W3C baggage member with that value) or ``"key"`` (the member is present)

Pure functions only: the proxy matches requests with it, and ``squall.verify.fault_scope``
re-checks the proxy's recorded events with the same code.
"""

import re
from collections.abc import Mapping
from typing import Any

from squall.errors import ExperimentInvalid

__all__ = ["METHODS", "SCOPE_ATTRIBUTES", "Scope", "ScopeInvalid", "header_items", "scope_from_arguments"]

#: the scope attributes, in the order they are shown
SCOPE_ATTRIBUTES = ("method", "path_prefix", "path_regex", "header_name", "header_value", "baggage")
#: the methods the proxy recognises as HTTP/1.x (other traffic is forwarded as raw TCP)
METHODS = ("CONNECT", "DELETE", "GET", "HEAD", "OPTIONS", "PATCH", "POST", "PUT", "TRACE")
_TOKEN = re.compile(r"^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$")
MAX_REGEX_CHARS = 1000


class ScopeInvalid(ValueError):
    """A scope attribute that cannot be used; ``attribute`` names it, the message says what was expected."""

    def __init__(self, attribute: str, message: str) -> None:
        super().__init__(message)
        self.attribute = attribute
        self.message = message


def header_items(value: str) -> list[str]:
    """The comma-separated items of a header value, stripped (``"a, b"`` -> ``["a", "b"]``)."""
    return [item.strip() for item in value.split(",")]


class Scope:
    """A parsed scope: ``matches(...)`` for one request, ``text`` for people, ``attributes`` for JSON."""

    __slots__ = ("attributes", "baggage_key", "baggage_value", "header_name", "header_value", "methods",
                 "path_prefix", "path_regex")

    def __init__(self, given: Mapping[str, Any]) -> None:
        values = {name: given.get(name) or "" for name in SCOPE_ATTRIBUTES}
        for name, value in values.items():
            if not isinstance(value, str):
                raise ScopeInvalid(name, f"must be a string, got {type(value).__name__}")
        #: the non-empty scope attributes as given
        self.attributes: dict[str, str] = {k: v for k, v in values.items() if v}
        self.methods = _methods(values["method"])
        self.path_prefix = values["path_prefix"]
        self.path_regex = _regex(values["path_regex"])
        self.header_name = values["header_name"].strip().lower()
        if self.header_name and not _TOKEN.match(self.header_name):
            raise ScopeInvalid("header_name", f"{values['header_name']!r} is not a header name "
                               "(expected a token such as X-Canary: letters, digits and !#$%&'*+-.^_`|~)")
        self.header_value = values["header_value"].strip()
        if self.header_value and not self.header_name:
            raise ScopeInvalid("header_value", "needs header_name (expected the header whose value to compare)")
        key, sep, member_value = values["baggage"].partition("=")
        self.baggage_key = key.strip()
        self.baggage_value = member_value.strip() if sep else None
        if values["baggage"] and not _TOKEN.match(self.baggage_key):
            raise ScopeInvalid("baggage", f"{values['baggage']!r} is not a baggage member "
                               '(expected "key=value" or "key", e.g. "squall.group=experiment")')

    @property
    def any(self) -> bool:
        """True when no attribute is given: every request is in scope."""
        return not self.attributes

    def matches(self, method: str, target: str, header: str | None, baggage: Mapping[str, str]) -> bool:
        """Is a request in scope? ``header``: the value(s) of ``header_name`` joined by commas, None if absent."""
        if self.methods and method.upper() not in self.methods:
            return False
        if self.path_prefix and not target.startswith(self.path_prefix):
            return False
        if self.path_regex is not None and self.path_regex.search(target) is None:
            return False
        if self.header_name:
            if header is None:
                return False
            if self.header_value and header.strip() != self.header_value \
                    and self.header_value not in header_items(header):
                return False
        if self.baggage_key:
            if self.baggage_key not in baggage:
                return False
            if self.baggage_value is not None and baggage[self.baggage_key] != self.baggage_value:
                return False
        return True

    @property
    def text(self) -> str:
        """The scope in a few words: ``POST /payments*, baggage squall.group=experiment``; ``any request``."""
        a = self.attributes
        parts = []
        first = " ".join(p for p in (",".join(sorted(self.methods)), a.get("path_prefix", "") and a["path_prefix"] + "*")
                         if p)
        if first:
            parts.append(first)
        if "path_regex" in a:
            parts.append(f"path ~ {a['path_regex']}")
        if self.header_name:
            parts.append(f"header {a['header_name'].strip()}" + (f": {self.header_value}" if self.header_value else ""))
        if self.baggage_key:
            parts.append(f"baggage {a['baggage'].strip()}")
        return ", ".join(parts) or "any request"


def _methods(value: str) -> frozenset[str]:
    if not value.strip():
        return frozenset()
    items = [m.strip().upper() for m in value.split(",")]
    bad = [m for m in items if m not in METHODS]
    if bad:
        shown = ", ".join(repr(m) for m in bad)
        raise ScopeInvalid("method", f"{value!r} has unknown method(s) {shown} "
                           f"(expected one or a comma list of: {', '.join(METHODS)})")
    return frozenset(items)


def _regex(value: str) -> re.Pattern[str] | None:
    if not value:
        return None
    if len(value) > MAX_REGEX_CHARS:
        raise ScopeInvalid("path_regex", f"is {len(value)} characters long (expected at most {MAX_REGEX_CHARS})")
    try:
        return re.compile(value)
    except (re.error, RecursionError, OverflowError) as exc:
        raise ScopeInvalid("path_regex", f"{value!r} is not a valid regular expression ({exc}; "
                           r"expected a Python regular expression such as ^/payments/\d+)") from None


def scope_from_arguments(**given: Any) -> Scope:
    """The scope of an activity's arguments (None or "" = any), or ExperimentInvalid naming the bad argument."""
    for name, value in given.items():
        if value is not None and not isinstance(value, str):
            raise ExperimentInvalid(f"{name}={value!r} (expected a string)")
    try:
        return Scope({k: v for k, v in given.items() if v})
    except ScopeInvalid as exc:
        raise ExperimentInvalid(f"{exc.attribute}: {exc.message}") from None
