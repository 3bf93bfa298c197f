"""Ranges of activity arguments, declared next to each function: one table read by `squall validate` and by the call.

    @activity(role="inject")
    @bounded(latency_ms=Bound(0, whole=True), toxicity=Bound(0, 1))
    def add_latency(proxy: str, latency_ms: int, ..., toxicity: float = 1.0) -> dict: ...

At run time the wrapper refuses an out-of-range value with ``ExperimentInvalid``
before the function body runs (so before anything is injected); ``squall
validate`` reads the same table through ``bounds_of(func)``. Signatures and
docstrings stay as they were (``functools.wraps``), so ``chaos discover`` still
shows ``integer``/``number`` for these arguments.
"""

import functools
import inspect
import math
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, ParamSpec, Protocol, TypeVar

from squall.errors import ExperimentInvalid

__all__ = ["BOUNDS_ATTR", "QUANTITIES", "Bound", "Check", "HostPort", "bounded", "bounds_of", "quantity_of"]

P = ParamSpec("P")
R = TypeVar("R")

#: the attribute of a function that holds its argument checks (name -> Check)
BOUNDS_ATTR = "__squall_bounds__"


class Check(Protocol):
    """Anything that can tell what is wrong with one argument value (None = nothing)."""

    def problem(self, name: str, value: Any) -> str | None:
        """A message naming the argument, the value and what was expected; None if the value is fine."""


@dataclass(frozen=True)
class Bound:
    """A finite number from `minimum` to `maximum` (inclusive), optionally whole."""

    minimum: float = 0
    maximum: float = math.inf
    whole: bool = False

    def problem(self, name: str, value: Any) -> str | None:
        """A message if `value` is not a finite number in range (and whole where required)."""
        kind = "a whole number" if self.whole else "a number"
        span = f"from {self.minimum} to {self.maximum}" if self.maximum != math.inf else f">= {self.minimum}"
        ok = (not isinstance(value, bool) and isinstance(value, (int, float)) and math.isfinite(value)
              and self.minimum <= value <= self.maximum and (not self.whole or value == int(value)))
        return None if ok else f"{name}={value!r} (expected {kind} {span})"


@dataclass(frozen=True)
class HostPort:
    """A "host:port" address with a port from 0 to 65535 (0 = any free port, where `zero_ok`)."""

    zero_ok: bool = True

    def problem(self, name: str, value: Any) -> str | None:
        """A message if `value` is not "host:port" with a valid port."""
        expected = f'expected "host:port" with a port from {0 if self.zero_ok else 1} to 65535'
        if not isinstance(value, str) or not value:
            return f"{name}={value!r} ({expected})"
        host, sep, port = value.rpartition(":")
        if not sep:
            return f'{name} "{value}" has no port ({expected})'
        if not port.isascii() or not port.isdigit() or not (0 if self.zero_ok else 1) <= int(port) <= 65535:
            return f'{name} "{value}" has port "{port}" ({expected})'
        if host.startswith("[") != host.endswith("]"):
            return f'{name} "{value}" has an unbalanced IPv6 bracket ({expected}, e.g. "[::1]:8080")'
        return None


def bounded(**checks: Check) -> Callable[[Callable[P, R]], Callable[P, R]]:
    """Declare checks for some arguments; the call refuses bad values (ExperimentInvalid) before the body runs."""

    def decorate(func: Callable[P, R]) -> Callable[P, R]:
        signature = inspect.signature(func)
        unknown = sorted(set(checks) - set(signature.parameters))
        if unknown:
            raise TypeError(f"{func.__name__} has no argument(s) {', '.join(unknown)} to bound")

        @functools.wraps(func)
        def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
            for name, value in signature.bind_partial(*args, **kwargs).arguments.items():
                check = checks.get(name)
                if check is not None and not (value is None and signature.parameters[name].default is None):
                    problem = check.problem(name, value)
                    if problem is not None:
                        raise ExperimentInvalid(problem)
            return func(*args, **kwargs)

        setattr(wrapper, BOUNDS_ATTR, dict(checks))
        return wrapper

    return decorate


#: ranges by argument name for squall activities that do not declare ``@bounded`` yet (`squall validate` only;
#: those functions check at run time themselves). A declaration on the function always wins.
QUANTITIES: tuple[tuple[re.Pattern[str], Bound], ...] = (
    (re.compile(r"_(ms|s|us)$"), Bound(0)),  # durations, timeouts, delays
    (re.compile(r"_kbps$"), Bound(0)),  # bandwidth
    (re.compile(r"^(toxicity|fraction|rate|min_rate|min_success_rate)$"), Bound(0, 1)),  # fractions
    (re.compile(r"(^|_)port$"), Bound(0, 65535, whole=True)),
)


def quantity_of(name: str) -> Bound | None:
    """The range ``QUANTITIES`` gives an argument of this name, if any."""
    return next((bound for pattern, bound in QUANTITIES if pattern.search(name)), None)


def bounds_of(func: Any) -> Mapping[str, Check]:
    """The argument checks a function declares with ``@bounded`` (empty if none)."""
    found = getattr(func, BOUNDS_ATTR, None)
    return found if isinstance(found, dict) else {}
