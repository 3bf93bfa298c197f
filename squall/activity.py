"""The edge between squall and Chaos Toolkit: errors become ActivityFailed here, and each activity declares its role.

A role says what an activity does to the system under test, so the verdict
never has to guess it from a function's name:

- ``inject``: puts a fault in place (its failure means the fault was never injected);
- ``heal``: removes faults;
- ``probe``: observes without changing anything;
- ``verify``: judges a resilience mechanism (a ``squall.verify`` result).
"""

import functools
import importlib
import re
import sys
from collections.abc import Callable
from typing import Any, Literal, ParamSpec, TypeVar, get_args, overload

from chaoslib.exceptions import ActivityFailed

from squall.errors import SquallError

P = ParamSpec("P")
R = TypeVar("R")

Role = Literal["inject", "heal", "probe", "verify"]
ROLES: tuple[str, ...] = get_args(Role)
#: the attribute of an activity function that holds its declared role
ROLE_ATTR = "__squall_role__"
_MODULE_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*$")


def _wrap(func: Callable[P, R], role: Role | None) -> Callable[P, R]:
    @functools.wraps(func)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return func(*args, **kwargs)
        except SquallError as exc:
            raise ActivityFailed(f"{func.__name__}: {exc}") from exc

    setattr(wrapper, ROLE_ATTR, role)
    return wrapper


@overload
def activity(func: Callable[P, R], /) -> Callable[P, R]: ...


@overload
def activity(*, role: Role) -> Callable[[Callable[P, R]], Callable[P, R]]: ...


def activity(
    func: Callable[P, R] | None = None, /, *, role: Role | None = None
) -> Callable[P, R] | Callable[[Callable[P, R]], Callable[P, R]]:
    """Wrap an activity so squall errors surface as ``ActivityFailed``; ``@activity(role="inject")`` also declares its role.

    ``functools.wraps`` keeps the signature and docstring that ``chaos discover``
    and Chaos Toolkit's argument validation read.
    """
    if role is not None and role not in ROLES:
        raise ValueError(f"unknown activity role {role!r} (expected one of: {', '.join(ROLES)})")
    if func is not None:
        return _wrap(func, role)

    def decorate(f: Callable[P, R]) -> Callable[P, R]:
        return _wrap(f, role)

    return decorate


def role_of(module: str, func: str) -> Role | None:
    """The role `module`.`func` declares, or None (not an activity with a role, or not importable).

    Modules of the ``squall`` package are imported by name; any other module is
    looked up only if it is already imported (the run that named it imported it),
    so reading a journal or an experiment never runs a stranger's code.
    """
    if not isinstance(module, str) or not isinstance(func, str) or not _MODULE_NAME.match(module):
        return None
    if any(part.startswith("__") for part in module.split(".")):
        return None  # e.g. squall.__main__: importing it would run the command line
    if module == "squall" or module.startswith("squall."):
        return _squall_role(module, func)
    loaded = sys.modules.get(module)
    return None if loaded is None else _declared(loaded, func)


@functools.lru_cache(maxsize=4096)
def _squall_role(module: str, func: str) -> Role | None:
    """The role of a squall activity: its module is imported once, and what it declares never changes."""
    try:
        loaded = importlib.import_module(module)
    except Exception:  # noqa: BLE001 - a module that does not import has no role to tell
        return None
    return _declared(loaded, func)


def _declared(loaded: Any, func: str) -> Role | None:
    role = getattr(getattr(loaded, func, None), ROLE_ATTR, None)
    return role if role in ROLES else None  # type: ignore[no-any-return]
