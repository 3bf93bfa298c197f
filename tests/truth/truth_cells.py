"""The cells of the verdict-truth matrix: a frontend's mechanisms, the fault a user injects, the verifier and the truth.

Each cell states what is true of the frontend (does its retry policy retry, does
its breaker open and close, ...) independently of squall, and the verifier call
a user would write to check it. ``inconclusive_ok`` marks the cells where the
mechanism cannot be observed (time attribution with traffic the service makes
on its own), so "inconclusive" is an honest answer there and only there.
"""

from dataclasses import dataclass, field, replace
from typing import Any, Literal

from truth_service import Mechanisms, Trace

#: "unobservable": the fault never exercised the mechanism, so only "inconclusive" is an honest verdict
Truth = Literal["passed", "failed", "unobservable"]


@dataclass(frozen=True)
class Cell:
    """One row of the matrix."""

    name: str
    mechanisms: Mechanisms
    fault: str  # a squall.actions.toxiproxy function
    verifier: str  # a squall.verify function
    truth: Truth
    why: str  # the truth, in a sentence about the frontend
    fault_args: dict[str, Any] = field(default_factory=dict)
    arguments: dict[str, Any] = field(default_factory=dict)  # what a user writes, besides url and proxy
    inconclusive_ok: bool = False
    heal_first: bool = False  # recovery: hold the fault under load, heal, then verify
    hold_s: float = 0.0  # with heal_first: how long the fault stays in place under load
    settle_s: float = 0.0  # with heal_first: other activities between the heal and the verifier


HTTP_503 = ("add_http_error", {"status": 503})
RESET = ("reset_peer", {"timeout_ms": 0})
HANG = ("add_timeout", {"timeout_ms": 0})
SLOW = ("add_latency", {"latency_ms": 1500})
PARTITION = ("partition", {})
TRACES: tuple[Trace, ...] = ("none", "run_id", "traceparent")


def _cell(name: str, m: Mechanisms, fault: tuple[str, dict[str, Any]], verifier: str, truth: Truth, why: str,
          **kw: Any) -> Cell:
    return Cell(f"{name}/{m.trace}", m, fault[0], verifier, truth, why, fault_args=dict(fault[1]), **kw)


def _retries() -> list[Cell]:
    args = {"requests": 3, "max_attempts_per_request": 4}
    backoff = {**args, "expect_backoff": True}
    out = []
    for trace in TRACES:
        exp = Mechanisms(retry="exponential", max_attempts=3, fallback="all_errors", trace=trace)
        # inconclusive allowed: on a busy host the service's own delay adds to both gaps (seen: 1.39×)
        out.append(_cell("retries.exponential.503", exp, HTTP_503, "retries", "passed",
                         "3 attempts per request, gaps ~50 ms then ~100 ms (±20 % jitter)", arguments=backoff,
                         inconclusive_ok=True))
        never = Mechanisms(retry="none", fallback="all_errors", trace=trace)
        out.append(_cell("retries.never.503", never, HTTP_503, "retries", "failed",
                         "one attempt per request: it never retries", arguments=args))
    for trace in ("none", "traceparent"):
        storm = Mechanisms(retry="storm", storm_attempts=10, fallback="all_errors", trace=trace)
        out.append(_cell("retries.storm.503", storm, HTTP_503, "retries", "failed",
                         "10 immediate attempts per request: a retry storm (> 4)", arguments=args))
    const = Mechanisms(retry="constant", max_attempts=4, backoff_s=0.1, fallback="all_errors", trace="run_id")
    out.append(_cell("retries.constant.503", const, HTTP_503, "retries", "failed",
                     "gaps are a constant 100 ms: no backoff", arguments=backoff))
    ra = {"requests": 2, "max_attempts_per_request": 3, "retry_after_s": 1}
    for trace in ("none", "run_id"):
        honours = Mechanisms(retry="exponential", max_attempts=2, honour_retry_after=True, fallback="all_errors",
                             trace=trace)
        out.append(_cell("retry_after.honoured", honours, ("add_http_error", {"status": 503, "retry_after_s": 1}),
                         "retries", "passed", "waits the 1 s Retry-After before its one retry", arguments=ra))
    out.append(_cell("retries.exponential.latency_50ms", replace(const, retry="exponential", max_attempts=3),
                     ("add_latency", {"latency_ms": 50}), "retries", "unobservable",
                     "it would retry, but a 50 ms delay fails no attempt: there is nothing to retry", arguments=args))
    out.append(_cell("retries.exponential.partition", replace(const, retry="exponential", max_attempts=3, backoff_s=0.05, trace="traceparent"), PARTITION, "retries", "passed",
                     "3 attempts per request, each refused; refused connections cannot be counted at a disabled proxy",
                     arguments=args, inconclusive_ok=True))
    ignores = Mechanisms(retry="exponential", max_attempts=2, fallback="all_errors", trace="run_id")
    out.append(_cell("retry_after.ignored", ignores, ("add_http_error", {"status": 503, "retry_after_s": 1}),
                     "retries", "failed", "retries ~50 ms after a Retry-After of 1 s", arguments=ra))
    exp_t = Mechanisms(timeout_s=0.3, retry="exponential", max_attempts=3, fallback="all_errors", trace="traceparent")
    out.append(_cell("retries.exponential.hang", exp_t, HANG, "retries", "passed",
                     "3 attempts per request, each abandoned after 300 ms", arguments=args))
    out.append(_cell("retries.never.hang", replace(exp_t, retry="none", trace="none"), HANG, "retries", "failed",
                     "one attempt per request, abandoned after 300 ms: it never retries", arguments=args))
    # aiohttp's client re-sends an idempotent GET once when the connection is reset (RFC 9112 9.3.1.1),
    # so at the dependency each of the service's 2 attempts is up to 2 requests.
    for trace in ("none", "traceparent"):
        out.append(_cell("retries.exponential.reset", replace(exp_t, timeout_s=0.5, max_attempts=2, trace=trace), RESET,
                         "retries", "passed",
                         "2 attempts per request, each re-sent once by aiohttp after the reset: 2-4 at the wire",
                         arguments=args))
    for trace, unobservable in (("none", True), ("traceparent", False)):
        busy = Mechanisms(retry="none", fallback="all_errors", refresh_every_s=0.05, trace=trace)
        out.append(_cell("retries.never.503+refresher", busy, HTTP_503, "retries", "failed",
                         "never retries; a background refresher calls the backend every 50 ms on its own",
                         arguments=args, inconclusive_ok=unobservable))
    return out


def _timeouts() -> list[Cell]:
    on = Mechanisms(timeout_s=0.3, fallback="all_errors", trace="run_id")
    off = replace(on, timeout_s=None)
    quick = {"budget_ms": 1000, "requests": 3}
    slow = {"budget_ms": 1000, "requests": 2, "give_up_s": 1.2}
    return [
        _cell("timeout.on.hang", on, HANG, "timeout", "passed", "gives up after 300 ms and falls back", arguments=quick),
        _cell("timeout.off.hang", off, HANG, "timeout", "failed", "waits for the hung backend forever", arguments=slow),
        _cell("timeout.on.latency", on, SLOW, "timeout", "passed", "gives up on a 1.5 s answer after 300 ms",
              arguments=quick),
        _cell("timeout.off.latency", off, SLOW, "timeout", "failed", "waits 1.5 s for each answer (> 1 s budget)",
              arguments=slow),
    ]


def _breakers() -> list[Cell]:
    base = Mechanisms(timeout_s=0.5, breaker="normal", breaker_threshold=3, breaker_cooldown_s=1.5,
                      fallback="all_errors", trace="traceparent")
    args = {"max_dependency_calls": 3, "requests": 15, "heal": True, "resume_within_s": 4, "cooldown_s": 1.5}
    # under a reset, aiohttp re-sends each failed GET once: the 3 failed calls that open the breaker are 6 requests
    reset_args = {**args, "max_dependency_calls": 6}
    return [
        _cell("breaker.normal.reset", base, RESET, "circuit_breaker", "passed",
              "opens after 3 failed calls (6 requests at the wire), half-opens after 1.5 s, closes on success",
              arguments=reset_args),
        _cell("breaker.none.reset", replace(base, breaker="none"), RESET, "circuit_breaker", "failed",
              "no breaker: every request calls the backend", arguments=reset_args),
        _cell("breaker.none.reset", replace(base, breaker="none", trace="none"), RESET, "circuit_breaker", "failed",
              "no breaker: every request calls the backend", arguments=reset_args),
        _cell("breaker.never_closes.503", replace(base, breaker="never_closes", trace="run_id"), HTTP_503,
              "circuit_breaker", "failed", "opens, but never lets a call through again", arguments=args),
        _cell("breaker.normal.503", replace(base, trace="none"), HTTP_503, "circuit_breaker", "passed",
              "opens after 3 failures, half-opens after 1.5 s, closes on success", arguments=args),
        # a disabled proxy does not listen: the kernel refuses the calls, so nobody can count them
        _cell("breaker.normal.partition", base, PARTITION, "circuit_breaker", "passed",
              "opens after 3 refused calls, half-opens after 1.5 s, closes on success", arguments=args,
              inconclusive_ok=True),
        _cell("breaker.none.partition", replace(base, breaker="none"), PARTITION, "circuit_breaker", "failed",
              "no breaker: every request tries to connect", arguments=args, inconclusive_ok=True),
    ]


def _fallbacks() -> list[Cell]:
    args = {"header": "X-Fallback", "header_value": "true", "requests": 8, "timeout_s": 1.5}
    m = Mechanisms(timeout_s=0.5, fallback="all_errors", trace="run_id")
    return [
        _cell("fallback.all.reset", m, RESET, "fallback", "passed", "falls back on a reset", arguments=args),
        _cell("fallback.http_only.reset", replace(m, fallback="http_errors"), RESET, "fallback", "failed",
              "answers 502 on a reset (falls back only on HTTP errors)", arguments=args),
        _cell("fallback.http_only.503", replace(m, fallback="http_errors"), HTTP_503, "fallback", "passed",
              "falls back on the backend's 503", arguments=args),
        _cell("fallback.none.partition", replace(m, fallback="none"), PARTITION, "fallback", "failed",
              "answers 502 when the backend is unreachable", arguments=args),
        _cell("fallback.all.partition", m, PARTITION, "fallback", "passed", "falls back when the backend is unreachable",
              arguments=args),
        _cell("fallback.all.hang.no_timeout", replace(m, timeout_s=None), HANG, "fallback", "failed",
              "never falls back: with no timeout it waits for the hung backend",
              arguments={**args, "requests": 2, "timeout_s": 1.0}),
    ]


def _recoveries() -> list[Cell]:
    m = Mechanisms(timeout_s=0.5, eject_after=2, readmit_after_s=1.0, trace="run_id")
    hold = {"heal_first": True, "hold_s": 1.0}
    return [
        _cell("recovery.readmit_1s", m, HTTP_503, "recovery", "passed",
              "back ~1.2 s after the heal (re-admits after 1 s healthy)",
              arguments={"within_s": 4, "window": 5}, **hold),
        _cell("recovery.readmit_3s", replace(m, readmit_after_s=3.0), HTTP_503, "recovery", "failed",
              "back ~3.2 s after the heal (> 1.5 s objective)", arguments={"within_s": 1.5, "window": 5}, **hold),
        _cell("recovery.readmit_3s.checked_late", replace(m, readmit_after_s=3.0), HTTP_503, "recovery", "failed",
              "back ~3.2 s after the heal (> 1.5 s objective); the check starts 2 s after the heal",
              arguments={"within_s": 1.5, "window": 5}, settle_s=2.0, **hold),
        _cell("recovery.immediate", replace(m, readmit_after_s=0.0), HTTP_503, "recovery", "passed",
              "back within ~0.2 s of the heal", arguments={"within_s": 3, "window": 5}, **hold),
        _cell("recovery.never_hurt", replace(m, fallback="all_errors"), HTTP_503, "recovery", "unobservable",
              "its fallback kept every answer a 200 during the fault (2 s, 4 samples): there was nothing to recover from",
              arguments={"within_s": 3, "window": 5}, **{**hold, "hold_s": 2.0}),
    ]


CELLS: tuple[Cell, ...] = (*_retries(), *_timeouts(), *_breakers(), *_fallbacks(), *_recoveries())
BY_NAME: dict[str, Cell] = {c.name: c for c in CELLS}
assert len(BY_NAME) == len(CELLS), "cell names must be unique"
