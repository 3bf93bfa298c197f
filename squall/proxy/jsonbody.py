"""Reading a request body as JSON, safely: no NaN or infinite numbers stored, no unbounded nesting.

Python's ``json`` accepts ``NaN``, ``Infinity`` and ``1e999`` (as float inf),
which Toxiproxy (Go) refuses; such numbers become ``OutOfRange`` markers, so the
field that holds one is refused by name with the value shown. Bodies nested
deeper than ``MAX_DEPTH`` are refused (a proxy or toxic is three levels deep).
"""

import json
import math
from typing import Any

from squall.proxy.errors import ApiError

MAX_DEPTH = 32
_MAX_INT_DIGITS = 40  # 64-bit integers have at most 20; longer ones are refused by the field that holds them


class OutOfRange:
    """A JSON number Python would read as NaN, infinity, or an integer too long to convert."""

    __slots__ = ("kind", "text")

    def __init__(self, text: str, kind: str) -> None:
        self.text = text if len(text) <= 40 else text[:37] + "..."
        self.kind = kind

    def __repr__(self) -> str:
        return self.text


def _constant(text: str) -> OutOfRange:
    return OutOfRange(text, "non-finite number")


def _float(text: str) -> float | OutOfRange:
    value = float(text)
    return value if math.isfinite(value) else OutOfRange(text, "non-finite number")


def _int(text: str) -> int | OutOfRange:
    return int(text) if len(text) <= _MAX_INT_DIGITS else OutOfRange(text, "out-of-range number")


def json_type(value: object) -> str:
    """The JSON name of a value's type, for error messages."""
    if value is None:
        return "null"
    if isinstance(value, OutOfRange):
        return value.kind
    return {bool: "bool", int: "number", float: "number", str: "string", list: "array", dict: "object"}.get(
        type(value), type(value).__name__
    )


def _too_deep(value: Any) -> bool:
    stack = [(value, 1)]
    while stack:
        node, depth = stack.pop()
        if depth > MAX_DEPTH:
            return True
        children = node.values() if isinstance(node, dict) else node
        stack.extend((c, depth + 1) for c in children if isinstance(c, dict | list))
    return False


def parse(raw: bytes) -> Any:
    """The JSON value of a request body, or a 400 ``bad request body`` saying what is wrong."""
    text = raw.decode("utf-8", "replace")
    try:
        value = json.loads(text, parse_constant=_constant, parse_float=_float, parse_int=_int)
    except json.JSONDecodeError as exc:
        detail = "unexpected EOF" if exc.pos >= len(text.rstrip()) else f"{exc.msg} at character {exc.pos}"
        raise ApiError(f"bad request body: {detail} (expected JSON)", 400) from None
    except RecursionError:
        value = None
        deep = True
    else:
        deep = isinstance(value, dict | list) and _too_deep(value)
    if deep:
        raise ApiError(
            f"bad request body: JSON nested more than {MAX_DEPTH} levels deep "
            "(expected a proxy, a toxic or an array of proxies)",
            400,
        )
    return value
