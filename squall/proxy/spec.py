"""A toxic as the API sees it: type lookup, attribute validation and merging, and its JSON."""

import dataclasses
import functools
from dataclasses import dataclass, field
from typing import Any

from squall.httpscope import Scope, ScopeInvalid
from squall.proxy.errors import ApiError, bad_number, shown
from squall.proxy.jsonbody import json_type
from squall.proxy.toxics import REGISTRY, HttpError, HttpToxic, Toxic


def toxic_class(type_name: object) -> type[Toxic]:
    """The class registered for ``type_name``, or a 400 naming the known types."""
    cls = REGISTRY.get(type_name) if isinstance(type_name, str) else None
    if cls is None:
        given = "missing" if type_name in (None, "") else shown(type_name)
        known = ", ".join(sorted(REGISTRY))
        raise ApiError(f"invalid toxic type {given} (expected one of: {known})", 400)
    return cls


_JSON_KIND = {int: "an integer", float: "a number", str: "a string"}
INT64_MAX = 2**63 - 1
_STRICTER = "; squall is stricter than toxiproxy-server here, which accepts it"


def _expected(cls: type[Toxic], name: str) -> tuple[float, float, str, str]:
    """(minimum, maximum, what is expected, note) for one numeric attribute."""
    if cls is HttpError and name == "status":
        return 100, 599, "an HTTP status from 100 to 599", ""
    if issubclass(cls, HttpToxic) and name == "rate":
        return 0.0, 1.0, "a share of requests from 0 to 1", ""
    # every other attribute is a duration, a size, a rate or a count: a negative one has no meaning
    note = "" if issubclass(cls, HttpToxic) else _STRICTER + " and treats it like 0"
    return 0, INT64_MAX, f"an integer from 0 to {INT64_MAX}", note


def build_attributes(cls: type[Toxic], given: object, current: Any = None) -> Any:
    """Merge ``given`` (a JSON object) over ``current`` (or the defaults); unknown keys are ignored."""
    if given is None:
        given = {}
    if not isinstance(given, dict):
        raise ApiError(f"bad request body: attributes must be a JSON object, got {json_type(given)}", 400)
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
        what = f'attribute "{f.name}" of {cls.type_name} toxic'
        if not ok:
            raise ApiError(
                f"bad request body: {what} must be {_JSON_KIND[want]}, got {json_type(value)} {shown(value)}", 400
            )
        if want is not str:
            low, high, expected, note = _expected(cls, f.name)
            if not low <= value <= high:
                if not -(2**63) <= value <= INT64_MAX:
                    note = ""  # out of toxiproxy-server's range too (a 64-bit integer)
                raise bad_number(what, value, expected, note)
        values[f.name] = float(value) if want is float else value
    attrs = dataclasses.replace(base, **values)
    if issubclass(cls, HttpToxic):
        try:
            Scope(dataclasses.asdict(attrs))
        except ScopeInvalid as exc:
            raise ApiError(f'bad request body: attribute "{exc.attribute}" of {cls.type_name} toxic {exc.message}',
                           400) from None
    return attrs


def check_toxicity(value: float | None, default: float) -> float:
    """A toxic's ``toxicity`` (probability per connection), ``default`` when absent, else a 400."""
    if value is None:
        return default
    if not 0.0 <= value <= 1.0:
        raise bad_number('field "toxicity" of toxic', value, "a probability from 0 to 1", _STRICTER)
    return float(value)


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

    @functools.cached_property
    def stats_key(self) -> tuple[Any, ...]:
        """What the stats count an HTTP toxic's requests under: name, type, stream and scope."""
        scope = getattr(self.toxic, "scope", None)
        attributes = tuple(sorted(scope.attributes.items())) if scope is not None else ()
        return (self.name, self.type_name, self.upstream, attributes)

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
