"""A toxic as the API sees it: type lookup, attribute validation and merging, and its JSON."""

import dataclasses
from dataclasses import dataclass, field
from typing import Any

from squall.proxy.errors import ApiError
from squall.proxy.toxics import REGISTRY, HttpError, Toxic


def toxic_class(type_name: object) -> type[Toxic]:
    """The class registered for ``type_name``, or a 400 naming the known types."""
    cls = REGISTRY.get(type_name) if isinstance(type_name, str) else None
    if cls is None:
        shown = "missing" if type_name in (None, "") else f'"{type_name}"'
        known = ", ".join(sorted(REGISTRY))
        raise ApiError(f"invalid toxic type {shown} (expected one of: {known})", 400)
    return cls


_JSON_KIND = {int: "an integer", float: "a number", str: "a string"}


def _json_type(value: object) -> str:
    if value is None:
        return "null"
    return {bool: "bool", int: "number", float: "number", str: "string", list: "array", dict: "object"}.get(
        type(value), type(value).__name__
    )


def build_attributes(cls: type[Toxic], given: object, current: Any = None) -> Any:
    """Merge ``given`` (a JSON object) over ``current`` (or the defaults); unknown keys are ignored."""
    if given is None:
        given = {}
    if not isinstance(given, dict):
        raise ApiError(f"bad request body: attributes must be a JSON object, got {_json_type(given)}", 400)
    base = current if current is not None else cls.Attributes()
    values: dict[str, Any] = {}
    for f in dataclasses.fields(cls.Attributes):
        if f.name not in given:
            continue
        value = given[f.name]
        want = f.type if isinstance(f.type, type) else type(getattr(base, f.name))
        ok = (
            (want is int and isinstance(value, int) and not isinstance(value, bool))
            or (want is float and isinstance(value, int | float) and not isinstance(value, bool))
            or (want is str and isinstance(value, str))
        )
        if not ok:
            raise ApiError(
                f"bad request body: attribute {f.name!r} of {cls.type_name} toxic must be "
                f"{_JSON_KIND[want]}, got {_json_type(value)} {value!r}".replace("'", '"'),
                400,
            )
        if want is int and not -(2**63) <= value < 2**63:
            raise ApiError(
                f'bad request body: attribute "{f.name}" of {cls.type_name} toxic is out of range: '
                f"{value} (expected a 64-bit integer)",
                400,
            )
        values[f.name] = float(value) if want is float else value
    attrs = dataclasses.replace(base, **values)
    _check_extension_ranges(cls, attrs)
    return attrs


def _check_extension_ranges(cls: type[Toxic], attrs: Any) -> None:
    # Toxiproxy's own types take any integer (negative latency is accepted); only squall's toxic checks ranges.
    if cls is HttpError:
        if not 100 <= attrs.status <= 599:
            raise ApiError(f"bad request body: http_error status {attrs.status} (expected 100..599)", 400)
        if not 0.0 <= attrs.rate <= 1.0:
            raise ApiError(f"bad request body: http_error rate {attrs.rate} (expected 0..1)", 400)
        if attrs.first_n < 0 or attrs.retry_after < 0:
            raise ApiError("bad request body: http_error first_n and retry_after must be >= 0", 400)


@dataclass
class ToxicSpec:
    """One toxic as the API knows it; replaced (new ``version``) whenever it is updated."""

    name: str
    stream: str  # as given (Toxiproxy echoes "UPSTREAM" as sent)
    upstream: bool
    toxicity: float
    toxic: Toxic
    version: int = 0
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def type_name(self) -> str:
        return self.toxic.type_name

    def to_json(self) -> dict[str, Any]:
        """Toxiproxy's JSON shape and key order."""
        tox = self.toxicity
        return {
            "attributes": dataclasses.asdict(self.toxic.attrs),
            "name": self.name,
            "type": self.type_name,
            "stream": self.stream,
            "toxicity": int(tox) if tox == int(tox) else tox,
        }
