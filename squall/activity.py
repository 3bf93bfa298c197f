"""The edge between squall and Chaos Toolkit: errors become ActivityFailed here."""

import functools
from collections.abc import Callable
from typing import ParamSpec, TypeVar

from chaoslib.exceptions import ActivityFailed

from squall.errors import SquallError

P = ParamSpec("P")
R = TypeVar("R")


def activity(func: Callable[P, R]) -> Callable[P, R]:
    """Wrap an activity so squall errors surface as ``ActivityFailed`` with their message.

    ``functools.wraps`` keeps the signature and docstring that ``chaos discover``
    and Chaos Toolkit's argument validation read.
    """

    @functools.wraps(func)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return func(*args, **kwargs)
        except SquallError as exc:
            raise ActivityFailed(f"{func.__name__}: {exc}") from exc

    return wrapper
