"""Plain activities for the report tests' experiments (importable through PYTHONPATH in the chaos subprocess)."""

import time


def hold(seconds: float = 1.0) -> float:
    """Sleep, like a method that keeps a fault in place for a while."""
    time.sleep(seconds)
    return seconds


def echo(text: str = "") -> str:
    """Return text (to see what reaches the journal and the report)."""
    return text


def leak(note: str = "", secrets: dict | None = None) -> dict:
    """Return the secrets Chaos Toolkit resolved, like a careless activity that logs its credentials."""
    return {"note": note, "secrets": secrets or {}}


def fail(message: str = "") -> None:
    """Raise with a message (to see what of an exception reaches the journal, the log and the report)."""
    raise RuntimeError(message)
