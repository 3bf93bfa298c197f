"""Network faults through any Toxiproxy HTTP API (squall's embedded proxy or toxiproxy-server).

The API address is the experiment configuration's `toxiproxy_url`, else
$TOXIPROXY_URL, else http://127.0.0.1:8474. Every fault is written to squall's
fault ledger before it is applied and struck off when removed, so rollbacks,
the squall control and `squall cleanup` can always take it away again.
Arguments are checked before anything is written or applied.
"""

import logging
import math
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any, Literal

import httpx

from squall import config
from squall.activity import activity
from squall.bounds import Bound, HostPort, bounded
from squall.errors import ExperimentInvalid, SquallError, ToxiproxyAPIError, ToxiproxyUnreachable
from squall.httpscope import scope_from_arguments
from squall.ledger import Entry, Ledger
from squall.toxiproxy_client import ToxiproxyClient, check_new_name, segment

__all__ = [
    "add_bandwidth",
    "add_http_error",
    "add_http_latency",
    "add_latency",
    "add_limit_data",
    "add_slicer",
    "add_slow_close",
    "add_timeout",
    "create_proxy",
    "heal",
    "partition",
    "remove_toxic",
    "reset_peer",
]

logger = logging.getLogger("squall.actions.toxiproxy")

Stream = Literal["upstream", "downstream"]
STREAMS = ("upstream", "downstream")


# -- argument checks -------------------------------------------------------
def _number(name: str, value: Any, minimum: float = 0, maximum: float = math.inf, whole: bool = False) -> float:
    kind = "a whole number" if whole else "a number"
    bound = f"from {minimum} to {maximum}" if maximum != math.inf else f">= {minimum}"
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not minimum <= value <= maximum:
        raise ExperimentInvalid(f"{name}={value!r} (expected {kind} {bound})")
    if whole and value != int(value):
        raise ExperimentInvalid(f"{name}={value!r} (expected {kind} {bound}; Toxiproxy attributes are integers)")
    return value


def _whole(name: str, value: Any, minimum: float = 0, maximum: float = math.inf) -> int:
    return int(_number(name, value, minimum, maximum, whole=True))


#: ranges shared by these actions (declared on each with @bounded; `squall validate` reads the same)
WHOLE = Bound(0, whole=True)
FRACTION = Bound(0, 1)


def _check_common(stream: str, toxicity: float) -> None:
    if stream not in STREAMS:
        raise ExperimentInvalid(f'unknown stream "{stream}" (expected one of: {", ".join(STREAMS)})')


def _client(configuration: Mapping[str, Any] | None) -> ToxiproxyClient:
    return ToxiproxyClient(config.toxiproxy_url(configuration), config.toxiproxy_timeout_s(configuration))


def _require_proxy(client: ToxiproxyClient, proxy: str) -> dict[str, Any]:
    if not isinstance(proxy, str) or not proxy:
        raise ExperimentInvalid(f"proxy={proxy!r} (expected the name of a proxy)")
    segment(proxy, "proxy")  # a name no URL can address safely fails here, before the ledger is written
    proxies = client.proxies()
    if proxy not in proxies:
        known = ", ".join(sorted(proxies)) or "none defined"
        raise ExperimentInvalid(f'unknown proxy "{proxy}" at {client.display_url} (expected one of: {known})')
    return proxies[proxy]


@contextmanager
def _recorded(ledger: Ledger, kind: str, target: dict[str, Any], undo: dict[str, Any], description: str) -> Iterator[Entry]:
    """Write the ledger entry first; strike it as failed-to-apply only when it surely was not applied.

    The server answered with an error, or the connection was never made: nothing
    is in place. Anything else (a timeout or an interrupt while the request was in
    flight) may have left the fault applied, so the entry stays open and the
    control's end-of-run cleanup or `squall cleanup` removes it (undo is idempotent).
    """
    entry = ledger.apply(kind, target, undo, description)
    try:
        yield entry
    except ToxiproxyAPIError:
        ledger.strike(entry.id, outcome="failed-to-apply")
        raise
    except ToxiproxyUnreachable as exc:
        if isinstance(exc.__cause__, httpx.ConnectError):
            ledger.strike(entry.id, outcome="failed-to-apply")
        raise


def _strike_matching(ledger: Ledger, url: str, proxy: str | None, kinds: tuple[str, ...], toxic: str | None = None) -> int:
    struck = 0
    for entry in ledger.open_entries():
        if entry.kind not in kinds or entry.undo.get("url") != url:
            continue
        if proxy is not None and entry.undo.get("proxy") != proxy:
            continue
        if toxic is not None and entry.undo.get("toxic") != toxic:
            continue
        ledger.strike(entry.id, outcome="removed")
        struck += 1
    return struck


def _toxic(
    configuration: Mapping[str, Any] | None,
    proxy: str,
    type_: str,
    attributes: dict[str, Any],
    stream: str,
    toxicity: float,
    name: str | None,
    description: str,
    embedded_only: bool = False,
    detail: str = "",
) -> dict[str, Any]:
    _check_common(stream, toxicity)
    if name is not None and (not isinstance(name, str) or not name):
        raise ExperimentInvalid(f"name={name!r} (expected a non-empty toxic name)")
    toxic_name = check_new_name(name or f"{type_}_{stream}")
    with _client(configuration) as client:
        if embedded_only and not client.is_embedded():
            raise ExperimentInvalid(
                f"the {type_} toxic needs squall's embedded proxy, but {client.display_url} is "
                f'"{client.version()}" (start `squall proxy serve` and point toxiproxy_url at it)'
            )
        _require_proxy(client, proxy)
        ledger = Ledger(config.ledger_path(configuration))
        text = f"{description} on {proxy} ({detail}{stream}{'' if toxicity >= 1 else f', toxicity {toxicity}'})"
        undo = {"url": client.url, "proxy": proxy, "toxic": toxic_name}
        with _recorded(ledger, "toxiproxy.toxic", {"proxy": proxy, "toxic": toxic_name}, undo, text) as entry:
            stored = client.add_toxic(proxy, type_, attributes, name=toxic_name, stream=stream, toxicity=toxicity)
    logger.info("applied %s", text)
    return {"proxy": proxy, "toxic": stored, "url": client.display_url, "ledger_id": entry.id, "description": text}


# -- activities -------------------------------------------------------------
@activity(role="inject")
@bounded(listen=HostPort(), upstream=HostPort(zero_ok=False))
def create_proxy(name: str, listen: str, upstream: str, configuration: dict | None = None) -> dict:
    """Create proxy `name` listening on `listen` (host:port, port 0 = any) forwarding to `upstream`.

    An existing proxy with the same upstream is reused (and not deleted on
    cleanup); one with a different upstream is an error. A proxy squall
    created is recorded in the ledger and deleted by cleanup.
    """
    for arg, value in (("name", name), ("listen", listen), ("upstream", upstream)):
        if not isinstance(value, str) or not value:
            raise ExperimentInvalid(f"{arg}={value!r} (expected a non-empty string)")
    check_new_name(name, "proxy")
    with _client(configuration) as client:
        existing = client.proxies().get(name)
        if existing is not None:
            if existing.get("upstream") != upstream:
                raise ExperimentInvalid(
                    f'proxy "{name}" already exists with upstream "{existing.get("upstream")}" '
                    f'(expected "{upstream}"); delete it or pick another name'
                )
            return {"proxy": existing, "created": False, "url": client.display_url}
        ledger = Ledger(config.ledger_path(configuration))
        undo = {"url": client.url, "proxy": name}
        text = f"proxy {name} -> {upstream}"
        with _recorded(ledger, "toxiproxy.proxy", {"proxy": name}, undo, text) as entry:
            created = client.create_proxy(name, listen, upstream)
    return {"proxy": created, "created": True, "url": client.display_url, "ledger_id": entry.id}


@activity(role="inject")
@bounded(latency_ms=WHOLE, jitter_ms=WHOLE, toxicity=FRACTION)
def add_latency(
    proxy: str, latency_ms: int, jitter_ms: int = 0, stream: Stream = "downstream",
    toxicity: float = 1.0, name: str | None = None, configuration: dict | None = None,
) -> dict:
    """Delay data through `proxy` by `latency_ms` (± `jitter_ms`) milliseconds."""
    latency_ms, jitter_ms = int(latency_ms), int(jitter_ms)
    text = f"latency {latency_ms}{f'±{jitter_ms}' if jitter_ms else ''} ms"
    return _toxic(configuration, proxy, "latency", {"latency": latency_ms, "jitter": jitter_ms}, stream, toxicity, name, text)


@activity(role="inject")
@bounded(rate_kbps=WHOLE, toxicity=FRACTION)
def add_bandwidth(
    proxy: str, rate_kbps: int, stream: Stream = "downstream",
    toxicity: float = 1.0, name: str | None = None, configuration: dict | None = None,
) -> dict:
    """Limit `proxy` to `rate_kbps` kilobytes per second."""
    rate_kbps = int(rate_kbps)
    return _toxic(configuration, proxy, "bandwidth", {"rate": rate_kbps}, stream, toxicity, name, f"bandwidth {rate_kbps} KB/s")


@activity(role="inject")
@bounded(timeout_ms=WHOLE, toxicity=FRACTION)
def add_timeout(
    proxy: str, timeout_ms: int = 0, stream: Stream = "downstream",
    toxicity: float = 1.0, name: str | None = None, configuration: dict | None = None,
) -> dict:
    """Hang `proxy`: stop all data, and close the connection after `timeout_ms` (0 = hang until removed)."""
    timeout_ms = int(timeout_ms)
    text = "hang" + (f" then close after {timeout_ms} ms" if timeout_ms else " (until removed)")
    return _toxic(configuration, proxy, "timeout", {"timeout": timeout_ms}, stream, toxicity, name, text)


@activity(role="inject")
@bounded(timeout_ms=WHOLE, toxicity=FRACTION)
def reset_peer(
    proxy: str, timeout_ms: int = 0, stream: Stream = "downstream",
    toxicity: float = 1.0, name: str | None = None, configuration: dict | None = None,
) -> dict:
    """Reset connections through `proxy` (TCP RST) after `timeout_ms` milliseconds (0 = at once)."""
    timeout_ms = int(timeout_ms)
    return _toxic(configuration, proxy, "reset_peer", {"timeout": timeout_ms}, stream, toxicity, name, f"reset peer after {timeout_ms} ms")


@activity(role="inject")
@bounded(delay_ms=WHOLE, toxicity=FRACTION)
def add_slow_close(
    proxy: str, delay_ms: int, stream: Stream = "downstream",
    toxicity: float = 1.0, name: str | None = None, configuration: dict | None = None,
) -> dict:
    """Delay closing connections through `proxy` by `delay_ms` milliseconds."""
    delay_ms = int(delay_ms)
    return _toxic(configuration, proxy, "slow_close", {"delay": delay_ms}, stream, toxicity, name, f"slow close {delay_ms} ms")


@activity(role="inject")
@bounded(average_size=Bound(1, whole=True), size_variation=WHOLE, delay_us=WHOLE, toxicity=FRACTION)
def add_slicer(
    proxy: str, average_size: int, size_variation: int = 0, delay_us: int = 0,
    stream: Stream = "downstream", toxicity: float = 1.0, name: str | None = None,
    configuration: dict | None = None,
) -> dict:
    """Slice data through `proxy` into packets of `average_size` (± `size_variation`) bytes, `delay_us` µs apart."""
    average_size, delay_us = int(average_size), int(delay_us)
    size_variation = _whole("size_variation", size_variation, 0, average_size)  # a bound that depends on another argument
    attrs = {"average_size": average_size, "size_variation": size_variation, "delay": delay_us}
    return _toxic(configuration, proxy, "slicer", attrs, stream, toxicity, name, f"slicer {average_size} B")


@activity(role="inject")
@bounded(bytes=WHOLE, toxicity=FRACTION)
def add_limit_data(
    proxy: str, bytes: int, stream: Stream = "downstream",
    toxicity: float = 1.0, name: str | None = None, configuration: dict | None = None,
) -> dict:
    """Close connections through `proxy` once `bytes` bytes have passed."""
    bytes = int(bytes)
    return _toxic(configuration, proxy, "limit_data", {"bytes": bytes}, stream, toxicity, name, f"limit data {bytes} B")


@activity(role="inject")
@bounded(status=Bound(100, 599, whole=True), rate=FRACTION, retry_after_s=WHOLE, first_n=Bound(1, whole=True))
def add_http_error(
    proxy: str, status: int = 503, rate: float = 1.0, retry_after_s: int | None = None,
    first_n: int | None = None, body: str | None = None, name: str | None = None,
    method: str | None = None, path_prefix: str | None = None, path_regex: str | None = None,
    header_name: str | None = None, header_value: str | None = None, baggage: str | None = None,
    configuration: dict | None = None,
) -> dict:
    """Answer HTTP requests through `proxy` with `status` (rate 0..1, or only the `first_n`), optionally with Retry-After.

    Scope (all optional, every one given must hold; other requests pass untouched):
    `method` ("POST" or "POST,PUT"), `path_prefix` (the request target starts
    with it, query included), `path_regex` (Python re.search on the target),
    `header_name` (+ `header_value`: the value or one of its comma-separated
    items), `baggage` ("key=value" or "key": a W3C baggage member, e.g.
    "squall.group=experiment"). `first_n` and `rate` count requests in scope.
    `squall.verify.fault_scope` proves afterwards that nothing outside it was hit.
    Needs squall's embedded proxy (`squall proxy serve`); against
    toxiproxy-server it fails before anything is applied.
    """
    status, first_n = int(status), None if first_n is None else int(first_n)
    if retry_after_s is not None:
        retry_after_s = int(retry_after_s)
    if body is not None and not isinstance(body, str):
        raise ExperimentInvalid(f"body={body!r} (expected a string)")
    scope = scope_from_arguments(method=method, path_prefix=path_prefix, path_regex=path_regex, header_name=header_name,
                          header_value=header_value, baggage=baggage)
    attrs = {"status": status, "rate": rate, "first_n": first_n or 0,
             "retry_after": int(retry_after_s or 0), "body": body or "", **scope.attributes}
    share = f"first {first_n} requests" if first_n else f"{rate:.0%} of requests"
    retry = f"Retry-After {retry_after_s}s" if retry_after_s else ""
    if scope.any:
        text = f"HTTP {status} for {share}" + (f" with {retry}" if retry else "")
        out = _toxic(configuration, proxy, "http_error", attrs, "upstream", 1.0, name, text, embedded_only=True)
    else:  # the scope right after what the fault is, so the report's chart label keeps it
        detail = ", ".join(p for p in (share, retry) if p) + ", "
        out = _toxic(configuration, proxy, "http_error", attrs, "upstream", 1.0, name, f"HTTP {status} [{scope.text}]",
                     embedded_only=True, detail=detail)
    return {**out, "scope": scope.text}


@activity(role="inject")
@bounded(latency_ms=WHOLE, jitter_ms=WHOLE, rate=FRACTION)
def add_http_latency(
    proxy: str, latency_ms: int, jitter_ms: int = 0, rate: float = 1.0, name: str | None = None,
    method: str | None = None, path_prefix: str | None = None, path_regex: str | None = None,
    header_name: str | None = None, header_value: str | None = None, baggage: str | None = None,
    configuration: dict | None = None,
) -> dict:
    """Hold HTTP requests through `proxy` for `latency_ms` (± `jitter_ms`) ms before forwarding them (a `rate` share).

    Per request, not per byte: the whole request waits, requests behind it on
    the same connection keep their order, responses are not delayed. Scope
    arguments as for add_http_error (`method`, `path_prefix`, `path_regex`,
    `header_name`, `header_value`, `baggage`); requests outside the scope pass
    untouched. Needs squall's embedded proxy (`squall proxy serve`).
    """
    latency_ms, jitter_ms = int(latency_ms), int(jitter_ms)
    scope = scope_from_arguments(method=method, path_prefix=path_prefix, path_regex=path_regex, header_name=header_name,
                          header_value=header_value, baggage=baggage)
    attrs = {"latency": latency_ms, "jitter": jitter_ms, "rate": rate, **scope.attributes}
    delay = f"{latency_ms}{f'±{jitter_ms}' if jitter_ms else ''} ms"
    share = f"{rate:.0%} of requests"
    if scope.any:
        out = _toxic(configuration, proxy, "http_latency", attrs, "upstream", 1.0, name,
                     f"HTTP latency {delay} for {share}", embedded_only=True)
    else:
        out = _toxic(configuration, proxy, "http_latency", attrs, "upstream", 1.0, name,
                     f"HTTP latency {delay} [{scope.text}]", embedded_only=True, detail=f"{share}, ")
    return {**out, "scope": scope.text}


@activity(role="inject")
def partition(proxy: str, configuration: dict | None = None) -> dict:
    """Cut `proxy` off: disable it so connections are refused and open ones are closed."""
    with _client(configuration) as client:
        _require_proxy(client, proxy)
        ledger = Ledger(config.ledger_path(configuration))
        undo = {"url": client.url, "proxy": proxy}
        with _recorded(ledger, "toxiproxy.disabled", {"proxy": proxy}, undo, f"partition {proxy} (disabled)") as entry:
            state = client.update_proxy(proxy, enabled=False)
    return {"proxy": proxy, "enabled": state.get("enabled", False), "url": client.display_url, "ledger_id": entry.id}


@activity(role="heal")
def remove_toxic(proxy: str, toxic: str, configuration: dict | None = None) -> dict:
    """Remove toxic `toxic` from `proxy` (already gone counts as removed)."""
    with _client(configuration) as client:
        _require_proxy(client, proxy)
        existed = _delete_toxic(client, proxy, toxic)
        struck = _strike_matching(Ledger(config.ledger_path(configuration)), client.url, proxy, ("toxiproxy.toxic",), toxic)
    return {"proxy": proxy, "toxic": toxic, "removed": existed, "ledger_struck": struck, "url": client.display_url}


@activity(role="heal")
def heal(proxy: str | None = None, configuration: dict | None = None) -> dict:
    """Remove every toxic from `proxy` and re-enable it — or from every proxy when `proxy` is not given."""
    with _client(configuration) as client:
        proxies = client.proxies()
        if proxy is not None:
            _require_proxy(client, proxy)
            names = [proxy]
        else:
            names = sorted(proxies)
        healed = []
        for name in names:
            removed = [t["name"] for t in client.toxics(name)]
            for toxic_name in removed:
                _delete_toxic(client, name, toxic_name)
            was_disabled = not proxies[name].get("enabled", True)
            if was_disabled:
                client.update_proxy(name, enabled=True)
            healed.append({"proxy": name, "toxics_removed": removed, "re_enabled": was_disabled})
        struck = _strike_matching(Ledger(config.ledger_path(configuration)), client.url, proxy,
                                  ("toxiproxy.toxic", "toxiproxy.disabled"))
    return {"healed": healed, "ledger_struck": struck, "url": client.display_url}


# -- cleanup -----------------------------------------------------------------
def _delete_toxic(client: ToxiproxyClient, proxy: str, toxic: str) -> bool:
    # False only when the server says the toxic (or its proxy) is not found; any other 404 raises
    return client.remove_toxic(proxy, toxic)


def undo_entry(entry: Entry) -> str:
    """Undo one ledger entry of a toxiproxy.* kind; a fault that is already gone counts as removed."""
    undo = entry.undo
    with ToxiproxyClient(str(undo["url"])) as client:
        if entry.kind == "toxiproxy.toxic":
            gone = not _delete_toxic(client, undo["proxy"], undo["toxic"])
            return f"toxic {undo['toxic']} on {undo['proxy']} " + ("was already gone" if gone else "removed")
        if entry.kind == "toxiproxy.disabled":
            gone = not client.enable_proxy(undo["proxy"])
            return f"proxy {undo['proxy']} " + ("was already gone" if gone else "re-enabled")
        if entry.kind == "toxiproxy.proxy":
            gone = not client.delete_proxy(undo["proxy"])
            return f"proxy {undo['proxy']} " + ("was already gone" if gone else "deleted")
    raise SquallError(f"ledger entry {entry.id} has unknown kind {entry.kind!r} for squall.actions.toxiproxy")
