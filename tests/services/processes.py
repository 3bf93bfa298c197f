"""Stopping the processes a test started: by their PID, never by a name pattern."""

import subprocess
from typing import Any


def stop(proc: "subprocess.Popen[Any]", timeout_s: float = 10.0) -> None:
    """SIGTERM, then SIGKILL after a bounded wait (if it is still running); close the pipes it was given."""
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout_s)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(5)
    for stream in (proc.stdout, proc.stderr):
        if stream is not None:
            stream.close()
