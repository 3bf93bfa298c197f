"""One inventory replica as its own OS process: ``python -m squall.demo.replica --name inventory-1 --port 0``.

Killing this process is the demo's local stand-in for a pod kill. It writes
its pid file once it listens, prints ``listening <port>`` on stdout (so a
parent that asked for port 0 learns the port), stops cleanly on SIGTERM or
SIGINT, and exits by itself if its parent goes away, so it never outlives the
demo.
"""

import argparse
import asyncio
import contextlib
import os
import signal
import sys
from pathlib import Path

from squall import loops
from squall.background import start_app
from squall.demo.services import inventory_app


async def serve(name: str, port: int, pid_file: Path | None) -> None:
    """Serve one inventory replica until SIGTERM/SIGINT or until the parent process is gone."""
    parent = os.getppid()
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    runner, bound = await start_app(inventory_app(name), "127.0.0.1", port)
    try:
        if pid_file:
            pid_file.parent.mkdir(parents=True, exist_ok=True)
            pid_file.write_text(f"{os.getpid()}\n")
        print(f"listening {bound}", flush=True)
        while not stop.is_set() and os.getppid() == parent:
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(stop.wait(), 0.5)
    finally:
        if pid_file and pid_file.exists() and pid_file.read_text().strip() == str(os.getpid()):
            pid_file.unlink()
        await runner.cleanup()


def main(argv: list[str] | None = None) -> int:
    """Parse arguments and serve; exit status 0 after a clean stop."""
    parser = argparse.ArgumentParser(prog="python -m squall.demo.replica", description=__doc__)
    parser.add_argument("--name", required=True, help="replica name, e.g. inventory-1")
    parser.add_argument("--port", type=int, default=0, help="port on 127.0.0.1 (0 = any free port)")
    parser.add_argument("--pid-file", type=Path, default=None, help="write the pid here once listening")
    args = parser.parse_args(argv)
    try:
        loops.run(serve(args.name, args.port, args.pid_file))
    except OSError as exc:
        print(f"cannot listen on 127.0.0.1:{args.port}: {exc}", file=sys.stderr, flush=True)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
