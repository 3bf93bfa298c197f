"""Run one matrix cell against real servers on 127.0.0.1 and judge the verifier's verdict against the cell's truth.

For each run: the inventory backend and the catalogue frontend start on
ephemeral ports, the backend behind squall's embedded proxy; the control's
real SLI sampler (``squall.control.sampling.Timeline``) samples the
frontend every 0.5 s for the whole run; the fault is injected with
``squall.actions.toxiproxy`` and the verifier is called as a user's experiment
would call it. Then everything is healed and the proxy must hold no toxic.
"""

import inspect
import os
import time
import uuid
from collections import Counter
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import httpx
from truth_cells import Cell
from truth_service import Mechanisms, make_backend, make_frontend

import squall.verify
from squall import config
from squall.actions import toxiproxy as actions
from squall.background import serve_app
from squall.control.sampling import Timeline
from squall.control.settings import SliTarget
from squall.proxy import run_in_thread
from squall.toxiproxy_client import ToxiproxyClient

PROXY = "inventory"
#: the user property a matrix test records each Outcome under (as JSON)
OUTCOME_KEY = "truth_outcome"
#: bound on the load a cell sends while it holds a fault before healing
LOAD_INTERVAL_S = 0.1

CORRECT, FALSE_PASS, FALSE_FAIL, INCONCLUSIVE, ERROR = "correct", "false pass", "false fail", "inconclusive", "error"


@dataclass(frozen=True)
class Outcome:
    """What the verifier said about one run of a cell, and whether that was true."""

    cell: str
    truth: str
    verdict: str  # passed | failed | inconclusive | error
    judgement: str  # correct | false pass | false fail | inconclusive | error
    allowed: bool  # the judgement is acceptable for this cell
    summary: str
    seconds: float
    dropped: tuple[str, ...] = ()  # arguments this squall's verifier does not take (yet)


def verdict_of(result: Any) -> str:
    """A verifier result's verdict: its "verdict" field, else passed/failed from "ok" (older results)."""
    if not isinstance(result, dict):
        return "error"
    verdict = result.get("verdict")
    if verdict in ("passed", "failed", "inconclusive"):
        return str(verdict)
    return "passed" if result.get("ok") is True else "failed"


def judge(cell: Cell, verdict: str) -> tuple[str, bool]:
    """Compare a verdict with the cell's truth: (judgement, acceptable)."""
    if verdict not in ("passed", "failed", "inconclusive"):
        return ERROR, False
    if cell.truth == "unobservable":
        if verdict == "inconclusive":
            return CORRECT, True
    elif verdict == "inconclusive":
        return INCONCLUSIVE, cell.inconclusive_ok
    elif verdict == cell.truth:
        return CORRECT, True
    return (FALSE_PASS if verdict == "passed" else FALSE_FAIL), False


def _call_verifier(cell: Cell, front: str, cfg: dict[str, Any]) -> tuple[dict[str, Any], tuple[str, ...]]:
    func = getattr(squall.verify, cell.verifier)
    params = inspect.signature(func).parameters
    args: dict[str, Any] = {"url": front, **cell.arguments, "configuration": cfg}
    if "proxy" in params:
        args["proxy"] = PROXY
    dropped = tuple(k for k in args if k not in params)
    result = func(**{k: v for k, v in args.items() if k in params})
    return result, dropped


def _load(url: str, seconds: float) -> None:
    """What the service's users keep sending while the fault holds: one request per LOAD_INTERVAL_S, bounded."""
    deadline = time.monotonic() + seconds
    with httpx.Client(trust_env=False) as client:
        for _ in range(int(seconds / LOAD_INTERVAL_S) + 1):
            if time.monotonic() >= deadline:
                break
            try:
                client.get(url, timeout=1.0)
            except httpx.HTTPError:
                pass
            time.sleep(min(LOAD_INTERVAL_S, max(0.0, deadline - time.monotonic())))


def _wait_healthy(url: str, timeout_s: float = 10.0) -> None:
    deadline = time.monotonic() + timeout_s
    with httpx.Client(trust_env=False) as client:
        while time.monotonic() < deadline:
            try:
                if client.get(url, timeout=1.0).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.05)
    raise AssertionError(f"the frontend at {url} did not answer 200 within {timeout_s} s before the fault")


def assert_clean(client: ToxiproxyClient) -> None:
    """Nothing left behind: no toxic on any proxy, every proxy enabled."""
    for name, proxy in client.proxies().items():
        assert proxy["enabled"], f"proxy {name} left disabled"
        assert client.toxics(name) == [], f"toxics left on {name}: {client.toxics(name)}"


@dataclass(frozen=True)
class Running:
    """The system of one run: the frontend's URLs, the proxy's API and the configuration activities get."""

    front: str  # the endpoint users call
    base: str  # the frontend's base URL (for /debug/calls)
    client: ToxiproxyClient
    cfg: dict[str, Any]


@contextmanager
def running_system(mechanisms: Mechanisms) -> Iterator[Running]:
    """Backend behind the embedded proxy (proxy "inventory"), frontend in front of it; all on ephemeral ports."""
    with serve_app(make_backend) as backend, run_in_thread() as proxy, ToxiproxyClient(proxy.url) as client:
        listen = client.create_proxy(PROXY, "127.0.0.1:0", backend.removeprefix("http://"))["listen"]
        with serve_app(lambda: make_frontend(f"http://{listen}", mechanisms)) as base:
            front = f"{base}/api/item/42"
            _wait_healthy(front)
            yield Running(front, base, client, {"toxiproxy_url": proxy.url})


def run_cell(cell: Cell) -> Outcome:
    """One run of a cell on fresh servers, with the control's sampler running throughout."""
    os.environ[config.RUN_ID_ENV] = uuid.uuid4().hex[:12]  # one run id per run, as the control sets it
    started = time.monotonic()
    with running_system(cell.mechanisms) as system:
        front, cfg, client = system.front, system.cfg, system.client
        timeline = Timeline([SliTarget("catalogue", front, interval_s=0.5, timeout_s=0.5)], max_samples=10_000)
        timeline.start()
        try:
            getattr(actions, cell.fault)(proxy=PROXY, configuration=cfg, **cell.fault_args)
            if cell.heal_first:
                _load(front, cell.hold_s)
                actions.heal(proxy=PROXY, configuration=cfg)
                time.sleep(cell.settle_s)
            try:
                result, dropped = _call_verifier(cell, front, cfg)
                verdict, summary = verdict_of(result), str(result.get("summary"))
            except Exception as exc:  # noqa: BLE001 - a crashed verifier is a wrong answer, shown in the matrix
                verdict, summary, dropped = "error", f"{type(exc).__name__}: {exc}", ()
        finally:
            actions.heal(proxy=PROXY, configuration=cfg)
            timeline.stop()
        assert_clean(client)
    judgement, allowed = judge(cell, verdict)
    return Outcome(cell.name, cell.truth, verdict, judgement, allowed, summary, round(time.monotonic() - started, 2),
                   dropped)


COLUMNS = ("runs", CORRECT, FALSE_PASS, FALSE_FAIL, INCONCLUSIVE, ERROR)


def tally(outcomes: Iterable[Outcome]) -> dict[str, Counter[str]]:
    """Counts per cell: runs, correct, false pass, false fail, inconclusive, error."""
    table: dict[str, Counter[str]] = {}
    for o in outcomes:
        row = table.setdefault(o.cell, Counter())
        row["runs"] += 1
        row[o.judgement] += 1
        if not o.allowed:
            row["wrong"] += 1
    return table


def render(outcomes: list[Outcome]) -> str:
    """The matrix as a text table, wrong cells marked, with one example summary per wrong cell."""
    table = tally(outcomes)
    width = max([len(c) for c in table] + [4])
    lines = [f"{'cell':<{width}}  " + "  ".join(f"{c:>12}" for c in COLUMNS)]
    for name in sorted(table):
        row = table[name]
        mark = "  <- WRONG" if row["wrong"] else ""
        lines.append(f"{name:<{width}}  " + "  ".join(f"{row[c]:>12}" for c in COLUMNS) + mark)
    total: Counter[str] = sum(table.values(), Counter())
    lines.append(f"{'TOTAL':<{width}}  " + "  ".join(f"{total[c]:>12}" for c in COLUMNS)
                 + f"   wrong: {total['wrong']} run(s) in {sum(1 for r in table.values() if r['wrong'])} cell(s)")
    examples = {o.cell: o for o in outcomes if not o.allowed}
    for name in sorted(examples):
        o = examples[name]
        lines.append(f"  {name}: truth {o.truth}, verifier said {o.verdict}: {o.summary[:200]}")
    dropped = sorted({f"{arg} ({o.cell.split('.')[0]})" for o in outcomes for arg in o.dropped})
    if dropped:
        lines.append("  arguments the cells give that this squall's verifiers do not take (left out): " + ", ".join(dropped))
    return "\n".join(lines)
