"""Every event loop squall starts comes from here: uvloop where it is installed, plain asyncio otherwise.

uvloop is a normal dependency on CPython outside Windows, so it is there unless
someone removed it. ``SQUALL_EVENT_LOOP`` forces one implementation:

    SQUALL_EVENT_LOOP=asyncio   plain asyncio even where uvloop is installed
    SQUALL_EVENT_LOOP=uvloop    uvloop, or an error saying it is not installed
    (unset, empty or "auto")    uvloop if it can be imported, else asyncio

The proxy (``squall proxy serve`` and ``run_in_thread``), the demo, the tests'
servers (``squall.background``) and anything else that needs a loop call
``new_event_loop()`` or ``run(coro)`` instead of ``asyncio``'s own.
"""

import asyncio
import os
from collections.abc import Coroutine
from typing import Any, Literal, TypeVar

from squall.errors import ExperimentInvalid

__all__ = ["ENV", "Implementation", "implementation", "loop_implementation", "new_event_loop", "run"]

T = TypeVar("T")

ENV = "SQUALL_EVENT_LOOP"
Implementation = Literal["uvloop", "asyncio"]
_CHOICES = ("auto", "uvloop", "asyncio")


def _uvloop_available() -> bool:
    try:
        import uvloop  # noqa: F401
    except ImportError:
        return False
    return True


def implementation() -> Implementation:
    """Which event loop ``new_event_loop()`` makes now (reads ``SQUALL_EVENT_LOOP`` each time)."""
    wanted = os.environ.get(ENV, "").strip().lower() or "auto"
    if wanted not in _CHOICES:
        raise ExperimentInvalid(
            f'{ENV}="{os.environ.get(ENV)}" is not an event loop (expected one of: {", ".join(_CHOICES)})'
        )
    if wanted == "asyncio":
        return "asyncio"
    if _uvloop_available():
        return "uvloop"
    if wanted == "uvloop":
        raise ExperimentInvalid(
            f"{ENV}=uvloop but uvloop is not installed (pip install uvloop; it needs CPython outside Windows), "
            f"or set {ENV}=asyncio"
        )
    return "asyncio"


def new_event_loop() -> asyncio.AbstractEventLoop:
    """A new event loop of the chosen implementation (not set as the thread's current loop)."""
    if implementation() == "uvloop":
        import uvloop

        return uvloop.new_event_loop()
    return asyncio.new_event_loop()


def run(coro: Coroutine[Any, Any, T]) -> T:
    """``asyncio.run`` on a loop from ``new_event_loop()``."""
    runner = asyncio.Runner(loop_factory=new_event_loop)
    try:
        runner.get_loop()  # a bad SQUALL_EVENT_LOOP fails here, before the coroutine is run
    except BaseException:
        coro.close()  # never awaited: closed, so Python does not warn about it
        runner.close()
        raise
    with runner:
        return runner.run(coro)


def loop_implementation(loop: asyncio.AbstractEventLoop | None = None) -> Implementation:
    """Which implementation ``loop`` (default: the running loop) is."""
    loop = loop or asyncio.get_running_loop()
    return "uvloop" if type(loop).__module__.startswith("uvloop") else "asyncio"
