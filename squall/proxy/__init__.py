"""squall's embedded fault proxy: Toxiproxy's HTTP API and toxics on asyncio, plus stats and http_error.

    from squall.proxy import run_in_thread
    with run_in_thread() as proxy:        # admin API on an ephemeral port of 127.0.0.1
        proxy.url                         # "http://127.0.0.1:PORT"
"""

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from squall.background import BackgroundLoop
from squall.proxy.server import ProxyServer, ServerConfig

__all__ = ["RunningProxy", "ServerConfig", "run_in_thread"]


@dataclass(frozen=True)
class RunningProxy:
    """A proxy server running in a background thread."""

    url: str
    host: str
    port: int
    server: ProxyServer
    loop: BackgroundLoop


@contextmanager
def run_in_thread(
    host: str = "127.0.0.1", port: int = 0, config: str | Path | None = None, backlog: int | None = None
) -> Iterator[RunningProxy]:
    """Run the proxy server (admin API on host:port, 0 = ephemeral) in a thread for the block's duration.

    ``backlog``: the listen backlog of the API and every proxy (default: the system's somaxconn, else 4096).
    The loop is ``squall.loops``' (uvloop unless ``SQUALL_EVENT_LOOP=asyncio``).
    """
    server = ProxyServer(
        ServerConfig(host=host, port=port, config=Path(config) if config else None, backlog=backlog)
    )
    with BackgroundLoop("squall-proxy") as bg:
        bg.run(server.startup())
        assert server.port is not None
        try:
            yield RunningProxy(url=server.url, host=host, port=server.port, server=server, loop=bg)
        finally:
            bg.run(server.shutdown())
