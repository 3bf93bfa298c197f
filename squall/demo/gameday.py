"""`squall demo`: start the demo system on free ports, run the bundled suite against it, summarise, stop.

The game day itself is squall's ordinary game-day runner (each experiment a
``chaos run`` of its own); this module only brings the system up around it
and turns the result into a one-screen summary that names which resilience
mechanism failed where.
"""

import contextlib
import tempfile
from collections.abc import Iterable
from pathlib import Path

import yaml
from rich.console import Console
from rich.table import Table

from squall.demo.logs import logging_to
from squall.demo.resilience import Mechanisms
from squall.demo.topology import DemoOptions, running
from squall.errors import SquallError
from squall.exitcodes import ExitCode
from squall.gameday.model import ExperimentResult, GameDayResult
from squall.reporting.formatting import duration

EXPERIMENTS_DIR = Path(__file__).parent / "experiments"
SUITE_PATH = EXPERIMENTS_DIR / "demo-suite.yaml"
#: `squall demo --load`: the lesson under Locust load with control and experiment groups
LOAD_SUITE_PATH = EXPERIMENTS_DIR / "load-suite.yaml"

#: the bundled experiments' verifier probes -> the checkout mechanism each one judges
MECHANISM_OF_PROBE = {
    "timeouts-keep-checkout-fast": "timeouts",
    "fallback-queues-payments": "fallback (queued payments)",
    "fallback-serves-cached-stock": "fallback (cached stock)",
    "breaker-opens-and-closes": "circuit breaker",
    "retries-honour-retry-after": "retries (Retry-After)",
    "failover-keeps-checkout-up": "retries (failover to the other replica)",
}
#: otherwise: squall.verify function -> the mechanism it judges
MECHANISM_OF = {
    "timeout": "timeouts",
    "retries": "retries (backoff, Retry-After)",
    "circuit_breaker": "circuit breaker",
    "fallback": "fallback",
    "recovery": "recovery after healing",
    "no_regression": "no regression against the control group (under load)",
    "retry_amplification": "retry amplification (under load)",
}
_STYLE = {"passed": "green", "failed": "red", "aborted": "magenta", "inconclusive": "yellow"}


def run_demo(*, report_dir: Path, fragile: bool = False, console: Console | None = None,
             prometheus: bool = False, load: bool = False) -> ExitCode:
    """Run the demo game day and return the gate's exit code (``prometheus``: SLIs from PromQL too)."""
    from squall.gameday.runner import run_suite
    from squall.telemetry import prometheus_server

    console = console or Console(highlight=False, soft_wrap=True)
    binary = prometheus_server.find_binary() if prometheus else None  # before anything starts: how to get one
    mechanisms = Mechanisms.fragile() if fragile else Mechanisms()
    log_path = report_dir / "demo-system.log"
    with tempfile.TemporaryDirectory(prefix="squall-demo-") as state, contextlib.ExitStack() as stack:
        stack.enter_context(logging_to(log_path))
        options = DemoOptions(checkout_port=0, admin_port=0, mechanisms=mechanisms, state_dir=Path(state))
        try:
            with console.status("starting the demo system (checkout, payments, 2 inventory replicas, fault proxy)…"):
                system = stack.enter_context(running(options))
        except (SquallError, OSError) as exc:
            console.print(f"[red]could not start the demo system:[/] {exc}")
            return ExitCode.ERROR
        off = mechanisms.switched_off()
        console.print(
            f"demo system up: checkout {system.checkout_url}, fault proxy {system.toxiproxy_url} (log: {log_path})"
            + (f" — [yellow]fragile: {', '.join(off)} switched OFF[/]" if off else "")
        )
        suite = LOAD_SUITE_PATH if load else SUITE_PATH  # --load: the lesson under Locust load
        if binary is not None:
            from squall.demo.promsli import write_suite

            jobs = {"checkout": [system.checkout_url.removeprefix("http://")],
                    "squall-proxy": [system.toxiproxy_url.removeprefix("http://")]}
            try:
                with console.status("starting Prometheus (scraping checkout and the fault proxy every second)…"):
                    prom = stack.enter_context(prometheus_server.running(jobs, binary=binary))
            except (SquallError, OSError) as exc:
                console.print(f"[red]could not start Prometheus:[/] {exc}")
                return ExitCode.ERROR
            console.print(f"Prometheus up: {prom.url} (pid {prom.pid}); SLI checkout-promql reads checkout from it")
            copies = Path(state) / "prometheus-suite"
            copies.mkdir()
            suite = write_suite(suite, prom.url, copies)  # the load lesson too, with --load
        result = run_suite(suite, report_dir=report_dir, env=system.environment(), console=console)
        console.print("stopping the demo system…")
    _summary(console, result, fragile)
    return result.exit_code


def _verifier_functions(path: Path) -> dict[str, str]:
    """Probe name -> squall.verify function, read from an experiment file."""
    try:
        experiment = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except (OSError, yaml.YAMLError):
        return {}
    out = {}
    for activity in experiment.get("method") or []:
        provider = activity.get("provider") or {}
        if str(provider.get("module", "")).startswith("squall.verify"):
            out[str(activity.get("name"))] = str(provider.get("func"))
    return out


def failing_mechanisms(experiments: Iterable[ExperimentResult]) -> dict[str, list[str]]:
    """Mechanism -> experiments where its verifier failed, from game-day experiment results."""
    found: dict[str, list[str]] = {}
    for exp in experiments:
        funcs = _verifier_functions(exp.path)
        for check in exp.checks:
            if check.kind == "verifier" and check.ok is False:  # an inconclusive verifier (ok None) failed nothing
                mechanism = MECHANISM_OF_PROBE.get(check.name) or MECHANISM_OF.get(funcs.get(check.name, ""), check.name)
                found.setdefault(mechanism, []).append(exp.name)
    return found


def _summary(console: Console, result: GameDayResult, fragile: bool) -> None:
    table = Table(title=f"squall demo{' --fragile' if fragile else ''}: {result.verdict}", title_justify="left")
    table.add_column("experiment")
    table.add_column("verdict")
    table.add_column("time", justify="right")
    table.add_column("what happened")
    for exp in result.experiments:
        failed = [c for c in exp.checks if not c.ok]
        if failed:
            more = f" (+{len(failed) - 1} more)" if len(failed) > 1 else ""
            detail = _clip(f"{failed[0].name}: {failed[0].summary}", 110) + more
        else:
            detail = exp.title if exp.verdict == "passed" and exp.title else exp.reason
        style = _STYLE.get(exp.verdict, "")
        table.add_row(exp.name, f"[{style}]{exp.verdict}[/]", duration(exp.duration_s), detail)
    console.print(table)
    mechanisms = failing_mechanisms(result.experiments)
    if mechanisms:
        console.print("[bold red]failing mechanisms:[/]")
        for mechanism, where in mechanisms.items():
            console.print(f"  ✘ {mechanism}  (in {', '.join(dict.fromkeys(where))})")
    if fragile:
        console.print(
            "[yellow]--fragile:[/] checkout ran with its timeouts, retries, circuit breakers and fallbacks "
            "switched off, so the failures above are what the same faults do to a service without them."
        )
    console.print(f"report: [bold]{result.index_path or result.run_dir}[/]")
    for kind, path in (("summary", result.summary_path), ("junit", result.junit_path)):
        if path:
            console.print(f"{kind}: {path}")
    console.print(f"exit code {int(result.exit_code)} ({result.verdict})")


def _clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"
