"""Plain activities the control tests' experiments call (importable through PYTHONPATH in the chaos subprocess)."""

import time


def wait(seconds: float = 1.0) -> float:
    """Sleep, like a method that holds a fault for a while."""
    time.sleep(seconds)
    return seconds


def stubborn_wait(seconds: float = 5.0) -> float:
    """Sleep and swallow interrupts until the time is up: a badly behaved activity that blocks the main thread."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            time.sleep(max(0.0, deadline - time.monotonic()))
        except BaseException:  # noqa: BLE001, S112 -- swallowing interrupts is the point
            continue
    return seconds


def boom() -> None:
    """Raise, like a buggy activity."""
    raise RuntimeError("boom from inside an activity")


def value(x: int = 0) -> int:
    """Return x (a steady-state probe whose tolerance we control)."""
    return x


def echo(text: str = "") -> str:
    """Return text (to see whether secrets reach the journal)."""
    return text


def touch(path: str) -> str:
    """Create a file (a rollback that leaves a trace)."""
    with open(path, "a"):
        pass
    return path
