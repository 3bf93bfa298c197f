"""`squall demo` (run the bundled experiments as a game day) and `squall demo up` (serve the demo system)."""

import signal
import sys
import threading
from pathlib import Path

import click

from squall.exitcodes import ExitCode


@click.group(name="demo", invoke_without_command=True)
@click.option(
    "--report-dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path("reports/demo"),
    show_default=True,
    help="Where the game day's reports go.",
)
@click.option("--fragile", is_flag=True, help="Switch checkout's timeouts, retries, breakers and fallbacks off.")
@click.option("--prometheus", is_flag=True,
              help="Also read checkout's SLIs from a Prometheus squall starts (needs a prometheus binary on PATH).")
@click.option("--load", is_flag=True,
              help="Run the lesson under Locust load with control and experiment groups instead (needs squall[load]).")
@click.pass_context
def demo(ctx: click.Context, report_dir: Path, fragile: bool, prometheus: bool, load: bool) -> None:
    """Start the demo system, run every bundled experiment against it, write the report, exit with the verdict."""
    if ctx.invoked_subcommand is not None:
        return
    from squall.demo.gameday import run_demo
    from squall.errors import ExperimentInvalid

    try:
        code = run_demo(report_dir=report_dir, fragile=fragile, prometheus=prometheus, load=load)
    except ExperimentInvalid as exc:  # no prometheus binary: say how to get one
        click.echo(f"error: {exc}", err=True)
        sys.exit(int(ExitCode.INVALID))
    sys.exit(int(code))


@demo.command("up")
@click.option("--port", type=click.IntRange(1, 65535), default=8080, show_default=True, help="checkout's port.")
@click.option(
    "--admin-port", type=click.IntRange(1, 65535), default=8474, show_default=True,
    help="The fault proxy's Toxiproxy API port.",
)
@click.option("--fragile", is_flag=True, help="Switch checkout's timeouts, retries, breakers and fallbacks off.")
def up(port: int, admin_port: int, fragile: bool) -> None:
    """Run the demo system in the foreground until Ctrl-C, so `chaos run experiments/demo/<file>.yaml` can target it."""
    from rich.console import Console

    from squall.demo.logs import logging_to
    from squall.demo.resilience import Mechanisms
    from squall.demo.topology import DEMO_UP_STATE_DIR, DemoOptions, running
    from squall.errors import SquallError

    console = Console(highlight=False, soft_wrap=True)
    stop = threading.Event()
    previous = {sig: signal.signal(sig, lambda *_: stop.set()) for sig in (signal.SIGINT, signal.SIGTERM)}
    # The bundled experiments' default pid-file paths are those of the default port.
    state_dir = DEMO_UP_STATE_DIR if port == 8080 else DEMO_UP_STATE_DIR.with_name(f"demo-{port}")
    options = DemoOptions(
        checkout_port=port, admin_port=admin_port, state_dir=state_dir,
        mechanisms=Mechanisms.fragile() if fragile else Mechanisms(),
    )
    try:
        with logging_to(state_dir / "demo-up.log") as log_path, running(options) as system:
            console.print("[bold]squall demo system is up[/] (Ctrl-C stops it)")
            console.print(f"  checkout      {system.checkout_url}/checkout   (try: curl -i {system.checkout_url}/checkout)")
            console.print(f"  metrics       {system.checkout_url}/metrics")
            console.print(f"  fault proxy   {system.toxiproxy_url}   (Toxiproxy API; proxies: {', '.join(system.proxies)})")
            console.print(f"  proxy metrics {system.toxiproxy_url}/metrics   (Prometheus; Toxiproxy's series and squall's)")
            for name, listen in system.proxies.items():
                console.print(f"    {name:<12}  {listen}")
            for name, path in system.pid_files.items():
                console.print(f"  {name} pid file  {path}")
            console.print(f"  log           {log_path}")
            if fragile:
                console.print("  [yellow]fragile: timeouts, retries, breakers and fallbacks are OFF[/]")
                console.print("  so that reports say so and history keeps these runs out of its baselines:"
                              "  export SQUALL_FRAGILE=1")
            if (port, admin_port) != (8080, 8474):
                console.print("  not the default ports: export these before `chaos run`:")
                for key, value in system.environment().items():
                    console.print(f"    export {key}={value}")
            console.print("  then, in another terminal:  chaos run experiments/demo/payment-latency.yaml")
            sys.stdout.flush()
            while not stop.wait(0.5):
                pass
            console.print("stopping the demo system…")
    except (SquallError, OSError) as exc:
        console.print(f"[red]could not run the demo system:[/] {exc}")
        console.print("  (checkout wants --port, the fault proxy's API --admin-port; pick free ones)")
        sys.exit(int(ExitCode.ERROR))
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    console.print("stopped.")
