"""`squall proxy serve`: the embedded proxy as its own process (a drop-in for toxiproxy-server)."""

import sys
from pathlib import Path

import click


@click.group(name="proxy")
def proxy() -> None:
    """Run the embedded Toxiproxy-compatible fault proxy."""


@proxy.command()
@click.option("--host", default="127.0.0.1", show_default=True,
              help="Address of the admin API; anything but loopback needs --allow-remote.")
@click.option("--port", default=8474, show_default=True, type=click.IntRange(0, 65535), help="Port of the admin API (0 = any free port).")
@click.option(
    "--config",
    "config_path",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Proxies to create at start: a JSON array, the format of POST /populate.",
)
@click.option("--allow-remote", is_flag=True, default=False,
              help="Confirm a non-loopback --host: the API has no authentication and can break every proxied service.")
@click.option("--backlog", type=click.IntRange(1, 65535), default=None,
              help="Listen backlog of the API and every proxy [default: the system's somaxconn, else 4096].")
def serve(host: str, port: int, config_path: Path | None, allow_remote: bool, backlog: int | None) -> None:
    """Serve Toxiproxy's HTTP API until Ctrl-C or SIGTERM.

    Runs on uvloop where installed, else asyncio; SQUALL_EVENT_LOOP=asyncio|uvloop chooses.
    """
    from squall import loops
    from squall.proxy.hosts import is_loopback
    from squall.proxy.proxy import system_backlog
    from squall.proxy.server import ProxyServer, ServerConfig, remote_bind_message, run

    if not is_loopback(host):
        if not allow_remote:
            raise click.UsageError(remote_bind_message(host))
        click.echo(
            f"WARNING: the admin API listens on {host}, beyond loopback, without authentication: anyone who can "
            "reach it can change or break every proxied service. It answers only Host headers that are loopback, "
            f"{host} or (on 0.0.0.0 / ::) an IP address, and refuses cross-origin requests.",
            err=True,
        )

    def ready(server: ProxyServer) -> None:
        click.echo(f"squall proxy: admin API on {server.url} (event loop {loops.loop_implementation()}, "
                   f"listen backlog {backlog or system_backlog()})")
        for name, p in server.collection.to_json().items():
            state = "enabled" if p["enabled"] else "disabled"
            click.echo(f"  proxy {name}: {p['listen']} -> {p['upstream']} ({state})")
        click.echo("press Ctrl-C to stop", err=True)
        sys.stdout.flush()

    try:  # a bad config file (exit 4) or a port in use (exit 5): squall.cli's group says so, as for every command
        config = ServerConfig(host=host, port=port, config=config_path, allow_remote=allow_remote, backlog=backlog)
        run(config, on_ready=ready)
    except KeyboardInterrupt:
        pass
    click.echo("squall proxy: stopped")
