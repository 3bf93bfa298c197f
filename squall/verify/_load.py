"""Verifiers under load: the experiment group against the control group, and retries per client request.

Both read the load that the ``squall.control`` control runs in this process
(``squall.load.registry``) over the fault window: from when this run's first
fault still in place was applied until now (``since_s`` overrides it: the last
`since_s` seconds). "No load running" is an **inconclusive** result, not an
error: the experiment may run without its control (``chaos run`` with
``--no-control``-style settings) and must then not pass on no evidence.

The comparison design is named in the evidence:

- ``groups`` (the strong one): the experiment group (``squall.group=experiment``
  in ``baggage``) and the control group ran at the same time through the same
  proxy; only the experiment group's requests were faulted;
- ``before-during`` (weaker): the service does not forward ``baggage`` (the
  proxy saw the load's dependency calls without a ``squall.group`` member), so
  the fault could not be aimed at a group: the requests before the fault are
  compared with the requests during it, and anything else that changed in
  between is confounded with the fault.
"""

import time
from collections.abc import Mapping, Sequence
from typing import Any

from squall import config
from squall.activity import activity
from squall.errors import ExperimentInvalid, SquallError
from squall.ledger import Ledger
from squall.load import CONTROL, EXPERIMENT, registry
from squall.load.collector import LoadSample
from squall.load.groups import GROUP_MEMBER, group_of
from squall.probes.proxy import fetch_stats
from squall.statistics import MIN_RATIO_REQUESTS, Sample, compare, minimum_requests
from squall.verify._common import check_seconds, result

__all__ = ["no_regression", "retry_amplification"]

#: the embedded proxy keeps this many request events per proxy (squall.proxy.stats.EVENT_RING)
EVENT_RING = 10_000
NO_LOAD = "no load is running in this process (add a `load` section to the squall control's arguments)"
WEAKER = ("before-during comparison: the service does not forward the squall.group baggage member, so the fault "
          "could not be aimed at the experiment group; requests before the fault are compared with requests during "
          "it (a weaker design: anything else that changed meanwhile is confounded with the fault)")


def _window(configuration: Mapping[str, Any] | None, since_s: float | None) -> tuple[float, float, str | None] | str:
    """(start, end, proxy of the fault) of the fault window, or why there is none."""
    now = time.time()
    if since_s is not None:
        return now - check_seconds("since_s", since_s, 3600), now, None
    entries = Ledger(config.ledger_path(configuration)).entries(config.run_id())
    if not entries:
        return "no fault of this run is in the fault ledger (inject one before this verifier, or pass since_s)"
    open_ = [e for e in entries if e.is_open]
    if open_:
        first = min(open_, key=lambda e: e.applied_at)
        return first.applied_at, now, first.target.get("proxy")
    last = max(entries, key=lambda e: e.applied_at)
    return last.applied_at, last.struck_at or now, last.target.get("proxy")


def _faults_beyond_the_group(configuration: Mapping[str, Any] | None, start: float, end: float) -> list[str]:
    """This run's faults in place during [start, end] that are not aimed at the experiment group alone.

    Only an ``http_error`` / ``http_latency`` toxic whose scope requires the
    baggage member ``squall.group=experiment`` spares the control group; any
    other fault (a latency toxic, a partition, a killed pod, an unscoped or
    otherwise scoped HTTP toxic) meets both groups, and comparing the groups
    would then measure nothing. Read from the ledger and the proxies' stats,
    whose HTTP toxic entries outlive the toxic.
    """
    beyond: list[str] = []
    stats: dict[tuple[str, str], list[dict[str, Any]] | None] = {}
    for entry in Ledger(config.ledger_path(configuration)).entries(config.run_id()):
        if entry.kind == "toxiproxy.proxy" or entry.applied_at > end or entry.outcome == "failed-to-apply":
            continue  # creating a proxy is no fault; a fault that was never applied neither
        if entry.struck_at is not None and entry.struck_at < start:
            continue
        if entry.kind == "toxiproxy.toxic":
            url = str(entry.undo.get("url") or config.toxiproxy_url(configuration))
            proxy, toxic = str(entry.target.get("proxy")), entry.target.get("toxic")
            if (url, proxy) not in stats:
                try:
                    http = fetch_stats(url, proxy, since=time.time()).get("http") or {}  # toxics: all kept
                    stats[(url, proxy)] = [t for t in http.get("toxics") or [] if isinstance(t, dict)]
                except SquallError:
                    stats[(url, proxy)] = None
            known = [t for t in stats[(url, proxy)] or [] if t.get("name") == toxic]
            if known and all(_aims_at_experiment(t.get("scope")) for t in known):
                continue
        beyond.append(entry.description)
    return beyond


def _aims_at_experiment(scope: object) -> bool:
    """True when a toxic's scope requires the baggage member squall.group=experiment."""
    if not isinstance(scope, Mapping):
        return False
    key, sep, value = str(scope.get("baggage") or "").partition("=")
    return bool(sep) and key.strip() == GROUP_MEMBER and value.strip() == EXPERIMENT


def _proxy_events(proxy: str | None, start: float, configuration: Mapping[str, Any] | None) -> tuple[list[dict[str, Any]] | None, str | None]:
    """The proxy's HTTP events since `start` (None when they cannot be read, with why)."""
    if not proxy:
        return None, "no proxy named (pass proxy=...)"
    try:
        stats = fetch_stats(config.toxiproxy_url(configuration), proxy, since=start)
    except SquallError as exc:
        return None, f"the proxy's stats could not be read ({exc})"
    events = stats.get("http", {}).get("events") or []
    return [e for e in events if isinstance(e, dict)], None


def _marker_forwarded(events: list[dict[str, Any]] | None) -> bool | None:
    """True when the dependency's requests carry the experiment marker, False when they arrive without it, None if unknown."""
    if not events:
        return None
    return any(group_of(e.get("baggage") or {}) == EXPERIMENT for e in events)


def _wait_for_requests(load: Any, start: float, end: float, quantiles: Sequence[float], wait_s: float) -> float:
    """Wait (bounded by `wait_s`, only while the window is still open) until each group has what every figure needs."""
    if wait_s <= 0 or end < time.time() - 1.0:  # the fault is gone: its window will not grow
        return 0.0
    needed = max([MIN_RATIO_REQUESTS, *(minimum_requests(q) for q in quantiles)])
    began = time.monotonic()
    while time.monotonic() - began < wait_s:
        now = time.time()
        if all(len(load.samples(start, now, g)) >= needed for g in (CONTROL, EXPERIMENT)):
            break
        time.sleep(0.2)
    return time.monotonic() - began


def _group_counts(samples: Sequence[LoadSample], events: Sequence[Mapping[str, Any]], group: str) -> tuple[int, int, str]:
    """(dependency attempts, client requests, how they were tied) of one group over the window.

    By trace id when the service forwards ``traceparent`` too: exactly the
    attempts made for the group's finished requests (none for requests still in
    flight); else every request through the proxy carrying the group's marker.
    """
    traced = {s.trace_id for s in samples if s.trace_id}
    if traced and any(e.get("trace_id") in traced for e in events):
        attempts = sum(1 for e in events if e.get("trace_id") in traced)
        return attempts, sum(1 for s in samples if s.trace_id), "trace"
    return sum(1 for e in events if group_of(e.get("baggage") or {}) == group), len(samples), "group marker"


def _sample(samples: Sequence[LoadSample]) -> Sample:
    return Sample(ok=[s.ok for s in samples], latency_ms=[s.latency_ms for s in samples])


@activity(role="verify")
def no_regression(
    max_drop: float = 0.01,
    max_increase_ms: float | None = 50.0,
    confidence: float = 0.95,
    quantiles: list | None = None,
    since_s: float | None = None,
    proxy: str | None = None,
    seed: int = 0,
    wait_s: float = 0,
    configuration: dict | None = None,
) -> dict:
    """Check that the experiment group did no worse than the control group while the fault was in place.

    A non-inferiority test (squall.statistics.compare) over the requests of
    the load the squall control runs: the success ratio may drop at most
    `max_drop` (0.01 = one point) and each of p95/p99 (`quantiles`) may grow
    at most `max_increase_ms`, at `confidence`. Inconclusive when the
    intervals are too wide (the evidence says about how many requests per
    group would settle it), when no load runs, or when a group is empty.
    `proxy` (default: the fault's proxy) is read to check that the service
    forwards the group marker; if it does not, squall compares before/during.
    `wait_s`: while the fault is still in place, wait up to this many seconds
    until each group has the requests every figure needs (e.g. 200 for a p95),
    so a slow machine gets a verdict instead of an inconclusive.
    """
    qs = tuple(quantiles) if quantiles is not None else (0.95, 0.99)
    if isinstance(wait_s, bool) or not isinstance(wait_s, (int, float)) or not 0 <= wait_s <= 600:
        raise ExperimentInvalid(f"wait_s={wait_s!r} (expected a number of seconds from 0 to 600)")
    load = registry.current()
    if load is None:
        return result("no_regression", "inconclusive", NO_LOAD, {"design": None})
    window = _window(configuration, since_s)
    if isinstance(window, str):
        return result("no_regression", "inconclusive", window, {"design": None})
    start, end, fault_proxy = window
    waited = _wait_for_requests(load, start, end, qs if max_increase_ms is not None else (), float(wait_s))
    if waited:
        end = time.time()
    events, why = _proxy_events(proxy or fault_proxy, start, configuration)
    forwarded = _marker_forwarded(events)
    beyond = _faults_beyond_the_group(configuration, start, end)
    evidence: dict[str, Any] = {"window": [round(start, 3), round(end, 3)], "proxy": proxy or fault_proxy,
                                "waited_s": round(waited, 3)}
    if forwarded is False or beyond:
        length = end - start
        control = load.samples(start - length, start - 1e-6)
        experiment = load.samples(start, end)
        evidence["design"] = "before-during"
        evidence["design_note"] = WEAKER if forwarded is False else (
            f"before-during comparison: the fault {beyond[0]!r} is not aimed at the experiment group alone (scope "
            f"it with baggage {GROUP_MEMBER}={EXPERIMENT}), so it met the control group too and comparing the groups "
            "would measure nothing; requests before the fault are compared with requests during it (a weaker "
            "design: anything else that changed meanwhile is confounded with the fault)")
        if beyond:
            evidence["faults_beyond_the_group"] = beyond
    else:
        control = load.samples(start, end, CONTROL)
        experiment = load.samples(start, end, EXPERIMENT)
        evidence["design"] = "groups"
        if forwarded is None:
            evidence["design_note"] = ("the group marker's forwarding could not be checked: "
                                       + (why or "the proxy saw no request in the window"))
    try:
        comparison = compare(_sample(control), _sample(experiment), max_drop=max_drop, max_increase_ms=max_increase_ms,
                             quantiles=qs, confidence=confidence, seed=seed)
    except ValueError as exc:
        raise ExperimentInvalid(f"no_regression: {exc}") from exc
    evidence.update(comparison.to_json())
    summary = comparison.sentence
    if forwarded is False:
        summary = f"{summary} (before/during comparison: the service does not forward the group marker)"
    elif beyond:
        summary = f"{summary} (before/during comparison: the fault is not aimed at the experiment group alone)"
    if comparison.verdict == "inconclusive" and comparison.needed_per_group and "would settle" not in summary:
        summary = f"{summary}; about {comparison.needed_per_group} requests per group would settle it"
    return result("no_regression", comparison.verdict, summary, evidence)  # type: ignore[arg-type]


@activity(role="verify")
def retry_amplification(
    proxy: str,
    max_ratio: float = 1.5,
    since_s: float | None = None,
    configuration: dict | None = None,
) -> dict:
    """Check that the service sends at most `max_ratio` dependency attempts per client request while the dependency fails.

    Counts the requests the embedded proxy `proxy` saw (its stats) against the
    load's requests over the fault window. With the group marker forwarded,
    only the experiment group's attempts and requests are counted (and the
    control group's ratio is shown beside it); otherwise every request through
    the proxy against every load request.
    """
    if isinstance(max_ratio, bool) or not isinstance(max_ratio, (int, float)) or not 1 <= max_ratio <= 1000:
        raise ExperimentInvalid(f"max_ratio={max_ratio!r} (expected a number from 1 to 1000)")
    if not isinstance(proxy, str) or not proxy:
        raise ExperimentInvalid(f"proxy={proxy!r} (expected the name of a proxy)")
    load = registry.current()
    if load is None:
        return result("retry_amplification", "inconclusive", NO_LOAD, {"max_ratio": max_ratio})
    window = _window(configuration, since_s)
    if isinstance(window, str):
        return result("retry_amplification", "inconclusive", window, {"max_ratio": max_ratio})
    start, end = window[0], window[1]
    events, why = _proxy_events(proxy, start, configuration)
    if events is None:
        raise ExperimentInvalid(f"retry_amplification: {why}")
    events = [e for e in events if isinstance(e.get("ts"), (int, float)) and start <= e["ts"] <= end]
    evidence: dict[str, Any] = {"proxy": proxy, "max_ratio": max_ratio, "window": [round(start, 3), round(end, 3)]}
    if len(events) >= EVENT_RING - 1:
        return result("retry_amplification", "inconclusive", f"the proxy's event ring ({EVENT_RING:,} requests) "
                      "overflowed in the window: pass a shorter since_s", evidence)
    forwarded = _marker_forwarded(events)
    if forwarded:
        attempts, requests, attribution = _group_counts(load.samples(start, end, EXPERIMENT), events, EXPERIMENT)
        control_attempts, control_requests, _ = _group_counts(load.samples(start, end, CONTROL), events, CONTROL)
        evidence["design"] = "experiment group"
        evidence["attribution"] = attribution
        evidence["control_group"] = {
            "attempts": control_attempts, "client_requests": control_requests,
            "ratio": round(control_attempts / control_requests, 3) if control_requests else None}
    else:
        attempts, requests = len(events), len(load.samples(start, end))
        evidence["design"] = "all traffic (the group marker is not forwarded: every request through the proxy counts)"
    evidence.update(attempts=attempts, client_requests=requests)
    if requests == 0:
        return result("retry_amplification", "inconclusive", "the load sent no request in the fault window", evidence)
    ratio = attempts / requests
    evidence["ratio"] = round(ratio, 3)
    if ratio > max_ratio:
        return result("retry_amplification", False, f"{ratio:.2f} dependency attempts per client request "
                      f"({attempts} for {requests}) > budget {max_ratio:g}", evidence)
    return result("retry_amplification", True, f"{ratio:.2f} dependency attempts per client request "
                  f"({attempts} for {requests}) within budget {max_ratio:g}", evidence)
