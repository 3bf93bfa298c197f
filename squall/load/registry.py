"""The running load of this process: the control registers it, verifiers read its samples (same process)."""

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from squall.load.runner import LoadRun

_current: "LoadRun | None" = None


def register(run: "LoadRun") -> None:
    """Make `run` the load that verifiers in this process read."""
    global _current
    _current = run


def unregister(run: "LoadRun") -> None:
    """Forget `run` if it is the current load (its samples stay readable through the run itself)."""
    global _current
    if _current is run:
        _current = None


def current() -> "LoadRun | None":
    """The load running in this process, or None."""
    return _current
