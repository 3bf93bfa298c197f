"""Zero-copy forwarding with ``os.splice`` for one direction of a raw TCP connection (Linux).

A direction switches to splicing when it carries bulk data (a read of at least
``SPLICE_AFTER`` bytes), has no byte-touching toxic, and is not HTTP (HTTP
traffic is parsed for stats). The transports keep owning the sockets: the
source transport stops reading, and this module polls duplicates of the two
file descriptors, moving bytes socket -> pipe -> socket inside the kernel.
Leaving (a toxic was added, or the connection closes) hands whatever sits in
the pipe back to the normal path, so no byte is lost or reordered.
"""

import errno
import fcntl
import logging
import os
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from squall.proxy.link import Pipe

log = logging.getLogger("squall.proxy")

#: off with SQUALL_PROXY_SPLICE=0 (e.g. to compare in benchmarks/proxy.py)
AVAILABLE = hasattr(os, "splice") and os.environ.get("SQUALL_PROXY_SPLICE", "1") != "0"
SPLICE_AFTER = 64 * 1024  # a single read this large marks a bulk stream
PIPE_SIZE = 1 << 20
_MAX_ROUNDS = 16  # per readiness event, so one stream cannot starve the loop
_FLAGS = (os.SPLICE_F_MOVE | os.SPLICE_F_NONBLOCK) if AVAILABLE else 0
_F_SETPIPE_SZ = getattr(fcntl, "F_SETPIPE_SZ", 1031)


def _fileno(transport: object) -> int | None:
    sock = transport.get_extra_info("socket") if transport is not None else None  # type: ignore[attr-defined]
    try:
        return int(sock.fileno()) if sock is not None else None
    except (OSError, ValueError):
        return None


class Splicer:
    """Moves one direction's bytes in the kernel until ``stop``."""

    def __init__(self, pipe: "Pipe") -> None:
        self.pipe = pipe
        self.loop = pipe.loop
        src, dst = _fileno(pipe.src.transport), _fileno(pipe.dst.transport)
        if src is None or dst is None:
            raise OSError(errno.EBADF, "no socket to splice")
        self.src = os.dup(src)
        self.dst = os.dup(dst)
        self.r, self.w = os.pipe2(os.O_NONBLOCK | os.O_CLOEXEC)
        try:
            fcntl.fcntl(self.w, _F_SETPIPE_SZ, PIPE_SIZE)
        except OSError:
            pass  # the default 64 KiB pipe still works
        self.in_pipe = 0
        self.reading = True
        self.loop.add_reader(self.src, self._pump)

    def _pump(self) -> None:
        """Readable source or writable destination: move what can move now."""
        try:
            for _ in range(_MAX_ROUNDS):
                if self.in_pipe == 0:
                    n = os.splice(self.src, self.w, PIPE_SIZE, flags=_FLAGS)
                    if n == 0:
                        self._finish("eof")
                        return
                    self.in_pipe += n
                m = os.splice(self.r, self.dst, self.in_pipe, flags=_FLAGS)
                self.in_pipe -= m
                self.pipe.count(m)
                if self.in_pipe:
                    self._wait_writable()
                    return
            if not self.reading:
                self._wait_readable()
        except BlockingIOError:
            if self.in_pipe:
                self._wait_writable()
            else:
                self._wait_readable()
        except OSError as exc:
            self._finish("reset" if exc.errno == errno.ECONNRESET else "closed")

    def _wait_writable(self) -> None:
        if self.reading:
            self.loop.remove_reader(self.src)
            self.loop.add_writer(self.dst, self._pump)
            self.reading = False

    def _wait_readable(self) -> None:
        if not self.reading:
            self.loop.remove_writer(self.dst)
            self.loop.add_reader(self.src, self._pump)
            self.reading = True

    def _finish(self, how: str) -> None:
        self.pipe.splice_ended(self.stop(), how)

    def stop(self) -> bytes:
        """Stop polling, close the descriptors; return bytes still in the pipe (to forward normally)."""
        if self.reading:
            self.loop.remove_reader(self.src)
        else:
            self.loop.remove_writer(self.dst)
        left = bytearray()
        while self.in_pipe > 0:
            try:
                piece = os.read(self.r, self.in_pipe)
            except OSError:
                break
            if not piece:
                break
            left += piece
            self.in_pipe -= len(piece)
        for fd in (self.src, self.dst, self.r, self.w):
            try:
                os.close(fd)
            except OSError:
                pass
        self.in_pipe = 0
        return bytes(left)
