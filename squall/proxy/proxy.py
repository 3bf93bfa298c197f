"""One listening proxy: its listener, its toxics, its open connections and its stats."""

import asyncio
import errno
import itertools
import socket
from typing import Any

from squall.proxy.connection import Connection, Endpoint
from squall.proxy.errors import ApiError, toxic_exists, toxic_not_found
from squall.proxy.spec import ToxicSpec
from squall.proxy.stats import Stats

_conn_ids = itertools.count(1)

SOMAXCONN_PATH = "/proc/sys/net/core/somaxconn"
FALLBACK_BACKLOG = 4096  # Linux's somaxconn default since 5.4, and Go's (so toxiproxy-server's) fallback
MAX_BACKLOG = 65535


def system_backlog(path: str = SOMAXCONN_PATH) -> int:
    """The listen backlog to use: the system's ``somaxconn`` (as Go, so toxiproxy-server, does), else 4096."""
    try:
        with open(path, encoding="ascii") as f:
            value = int(f.read().strip())
    except (OSError, ValueError):
        return FALLBACK_BACKLOG
    return min(value, MAX_BACKLOG) if value > 0 else FALLBACK_BACKLOG

_BIND_ERRORS = {
    errno.EADDRINUSE: "address already in use",
    errno.EADDRNOTAVAIL: "cannot assign requested address",
    errno.EACCES: "permission denied",
}


def parse_listen(listen: str) -> tuple[str, int]:
    """Split ``host:port`` (``[v6]:port``; empty = every interface, any port) or raise a 500 like Toxiproxy."""
    if listen == "":
        return "::", 0
    host, sep, port = listen.rpartition(":")
    if not sep:
        raise ApiError(
            f"listen tcp: address {listen}: missing port in address (expected host:port, e.g. 127.0.0.1:0)",
            500,
        )
    host = host[1:-1] if host.startswith("[") and host.endswith("]") else host
    if not port.isdigit() or int(port) > 65535:
        raise ApiError(
            f'listen tcp: address {listen}: invalid port "{port}" (expected 0..65535)', 500
        )
    return host or "::", int(port)


def _bind(listen: str, backlog: int) -> tuple[socket.socket, str]:
    host, port = parse_listen(listen)
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
    except socket.gaierror as exc:
        raise ApiError(f"listen tcp: lookup {host}: {exc.strerror} (expected an IP address or host name)", 500) from exc
    family, _, _, _, addr = infos[0]
    sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        if family == socket.AF_INET6 and host == "::":
            sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
        sock.bind(addr)
        sock.listen(backlog)
        sock.setblocking(False)
    except OSError as exc:
        sock.close()
        text = _BIND_ERRORS.get(exc.errno or 0, (exc.strerror or str(exc)).lower())
        raise ApiError(f"listen tcp {listen}: bind: {text}", 500) from None
    bound = sock.getsockname()
    shown = f"[{bound[0]}]:{bound[1]}" if family == socket.AF_INET6 else f"{bound[0]}:{bound[1]}"
    return sock, shown


class Proxy:
    """A TCP proxy from ``listen`` to ``upstream`` with Toxiproxy's toxics."""

    def __init__(self, name: str, listen: str, upstream: str, backlog: int | None = None) -> None:
        self.name = name
        self.backlog = backlog or system_backlog()
        self.listen = listen
        self.upstream = upstream
        self.enabled = False
        self.toxics: list[ToxicSpec] = []
        self.stats = Stats(name)
        self.connections: set[Connection] = set()
        self._server: asyncio.AbstractServer | None = None

    # -- lifecycle ------------------------------------------------------------
    async def start(self) -> None:
        """Start listening (port 0 is resolved into ``listen``); raises ApiError(500) if it cannot bind."""
        if self._server is not None:
            return
        sock, shown = _bind(self.listen, self.backlog)
        loop = asyncio.get_running_loop()
        # backlog= again: create_server(sock=...) calls listen() itself (asyncio's default is 100)
        self._server = await loop.create_server(self._new_connection, sock=sock, backlog=self.backlog)
        self.listen = shown
        self.enabled = True

    async def stop(self) -> None:
        """Stop listening and close every open connection (a partition)."""
        self.enabled = False
        server, self._server = self._server, None
        if server is not None:
            server.close()
        for conn in list(self.connections):
            conn.close("closed")
        if server is not None:
            try:
                await asyncio.wait_for(server.wait_closed(), 2.0)
            except TimeoutError:
                pass

    def _new_connection(self) -> Endpoint:
        return Connection(self, next(_conn_ids)).client

    def register(self, conn: Connection) -> None:
        """Count a new connection."""
        self.connections.add(conn)
        self.stats.opened += 1
        self.stats.active = len(self.connections)

    def unregister(self, conn: Connection) -> None:
        """Count a closed connection."""
        if conn in self.connections:
            self.connections.discard(conn)
            self.stats.closed += 1
            self.stats.active = len(self.connections)

    # -- toxics ---------------------------------------------------------------
    def chain(self, upstream: bool) -> list[ToxicSpec]:
        """The toxics of one stream, in the order they were added."""
        return [t for t in self.toxics if t.upstream == upstream]

    def ordered_toxics(self) -> list[ToxicSpec]:
        """Upstream toxics first, then downstream (Toxiproxy's list order)."""
        return self.chain(True) + self.chain(False)

    def find_toxic(self, name: str) -> ToxicSpec:
        """The toxic called ``name`` or a 404."""
        for t in self.toxics:
            if t.name == name:
                return t
        raise toxic_not_found(name, self.name)

    def add_toxic(self, spec: ToxicSpec) -> None:
        """Add a toxic; open connections get it at once."""
        if any(t.name == spec.name for t in self.toxics):
            raise toxic_exists(spec.name)
        self.toxics.append(spec)
        self._refresh()

    def replace_toxic(self, old: ToxicSpec, new: ToxicSpec) -> None:
        """Swap an updated toxic in, keeping its place in the chain."""
        self.toxics[self.toxics.index(old)] = new
        self._refresh()

    def remove_toxic(self, name: str) -> None:
        """Remove a toxic; bytes it was holding continue on their way."""
        self.toxics.remove(self.find_toxic(name))
        self._refresh()

    def clear_toxics(self) -> None:
        """Remove every toxic."""
        self.toxics.clear()
        self._refresh()

    def _refresh(self) -> None:
        # every open connection, dialling ones too: the API answers only after this returns
        for conn in list(self.connections):
            if not conn.closed:
                conn.refresh_toxics()

    def to_json(self) -> dict[str, Any]:
        """Toxiproxy's proxy JSON (without the ``Logger`` field, a Go leak)."""
        return {
            "name": self.name,
            "listen": self.listen,
            "upstream": self.upstream,
            "enabled": self.enabled,
            "toxics": [t.to_json() for t in self.ordered_toxics()],
        }
