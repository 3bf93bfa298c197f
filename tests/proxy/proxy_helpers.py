"""Helpers shared by the proxy tests: the API under test and bounded socket reads."""

import socket
import time
from dataclasses import dataclass

import httpx


@dataclass
class Api:
    """An admin API under test."""

    client: httpx.Client
    kind: str  # "embedded" | "toxiproxy-server"

    def create(self, name: str, upstream: str, listen: str = "127.0.0.1:0", **extra: object) -> dict:
        r = self.client.post("/proxies", json={"name": name, "listen": listen, "upstream": upstream, **extra})
        assert r.status_code == 201, r.text
        return dict(r.json())

    def toxic(self, proxy: str, **body: object) -> dict:
        r = self.client.post(f"/proxies/{proxy}/toxics", json=body)
        assert r.status_code == 200, r.text
        return dict(r.json())


def connect(listen: str, timeout: float = 5.0) -> socket.socket:
    """A client socket to a proxy's ``listen`` address."""
    host, _, port = listen.rpartition(":")
    return socket.create_connection((host, int(port)), timeout=timeout)


def recv_exactly(sock: socket.socket, n: int, deadline_s: float = 10.0) -> bytes:
    """Read until ``n`` bytes or EOF or the deadline (bounded)."""
    buf = bytearray()
    end = time.monotonic() + deadline_s
    while len(buf) < n and time.monotonic() < end:
        sock.settimeout(max(0.01, end - time.monotonic()))
        try:
            chunk = sock.recv(min(65536, n - len(buf)))
        except TimeoutError:
            break
        if not chunk:
            break
        buf += chunk
    return bytes(buf)
