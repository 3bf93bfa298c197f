"""SIGINT/SIGTERM handling for a controlled run: faults are removed within a second, whatever the main thread does.

Python runs signal handlers in the main thread only, between bytecodes, so a
main thread blocked in an activity would delay them. The guard therefore
also registers a wakeup fd: the interpreter's C-level handler writes the
signal number to a socket at once, and a guardian thread reading it removes
the run's faults immediately. The Python-level handler then interrupts the
experiment (a ``KeyboardInterrupt`` subclass, which Chaos Toolkit's python
provider cannot swallow into an ``ActivityFailed`` the way it swallows
``InterruptExecution``), once, and only while the experiment can still catch it.
Previous handlers and the previous wakeup fd are restored afterwards.
"""

import logging
import signal
import socket
import threading
from collections.abc import Callable
from types import FrameType
from typing import Any

logger = logging.getLogger("chaostoolkit.squall")

SIGNALS = (signal.SIGINT, signal.SIGTERM)


class RunInterrupted(KeyboardInterrupt):
    """Raised in the main thread to stop the experiment (a signal, or a stop condition)."""


class SignalGuard:
    """Installs the run's SIGINT/SIGTERM handlers and a guardian thread; ``restore()`` undoes it."""

    def __init__(self, on_signal: Callable[[str], None]) -> None:
        self._on_signal = on_signal
        self.received: str | None = None  # "SIGINT" / "SIGTERM", first one seen
        self.abort_reason: str | None = None
        self.raise_allowed = False
        self._raised = False
        self._previous: dict[int, Any] = {}
        self._previous_fd: int | None = None
        self._pair: tuple[socket.socket, socket.socket] | None = None
        self._thread: threading.Thread | None = None
        self.installed = False
        self._owner = threading.current_thread()  # the thread running the experiment

    def install(self) -> bool:
        """Install handlers (main thread only); False if that is not possible here."""
        if threading.current_thread() is not threading.main_thread():
            logger.warning("squall: control configured off the main thread; signals are not guarded")
            return False
        reader, writer = socket.socketpair()
        writer.setblocking(False)
        self._pair = (reader, writer)
        for signum in SIGNALS:
            self._previous[signum] = signal.signal(signum, self._handler)
        self._previous_fd = signal.set_wakeup_fd(writer.fileno(), warn_on_full_buffer=False)
        self._thread = threading.Thread(target=self._guardian, name="squall-signal-guard", daemon=True)
        self._thread.start()
        self.installed = True
        return True

    def restore(self) -> None:
        """Put back the previous handlers and wakeup fd, and end the guardian thread."""
        if not self.installed:
            return
        self.installed = False
        if threading.current_thread() is threading.main_thread():
            signal.set_wakeup_fd(self._previous_fd if self._previous_fd is not None else -1)
            for signum, handler in self._previous.items():
                signal.signal(signum, handler if handler is not None else signal.SIG_DFL)
        assert self._pair is not None
        reader, writer = self._pair
        try:
            writer.send(b"\0")  # wakes the guardian up for good
        except OSError:
            pass
        if self._thread is not None:
            self._thread.join(2.0)
        reader.close()
        writer.close()

    def interrupt_main(self, reason: str) -> bool:
        """From a background thread: stop the experiment because ``reason``; False if only the next activity can."""
        self.abort_reason = self.abort_reason or reason
        if not self.installed:
            # the experiment runs off the main thread (embedded use): interrupting the
            # main thread would hit the host program; raise_pending() stops it instead
            return False
        signal.pthread_kill(threading.main_thread().ident or 0, signal.SIGINT)
        return True

    def raise_pending(self) -> None:
        """Raise again in the main thread if an interrupt was swallowed by an activity (no more faults after a signal)."""
        if not self.raise_allowed or threading.current_thread() is not self._owner:
            return
        if self.abort_reason is not None:
            raise RunInterrupted(f"aborted: {self.abort_reason}")
        if self.received is not None:
            raise RunInterrupted(f"{self.received} received")

    # -- internals ---------------------------------------------------------
    def _handler(self, signum: int, frame: FrameType | None) -> None:
        name = signal.Signals(signum).name
        if self.abort_reason is None and self.received is None:
            self.received = name
        if self._raised or not self.raise_allowed:
            # the guardian already removes the faults; the run is past the point
            # where an exception could be caught, so let it finish its journal
            return
        self._raised = True
        if self.abort_reason is not None:
            raise RunInterrupted(f"aborted: {self.abort_reason}")
        logger.warning("squall: %s received; stopping the experiment", name)
        raise RunInterrupted(f"{name} received")

    def _guardian(self) -> None:
        assert self._pair is not None
        reader = self._pair[0]
        while True:
            try:
                data = reader.recv(64)
            except OSError:
                return
            if not data:
                return
            for signum in data:
                if signum == 0:
                    return
                if signum in SIGNALS:
                    name = signal.Signals(signum).name
                    try:
                        self._on_signal(name)
                    except Exception:
                        logger.exception("squall: removing faults after %s failed", name)
