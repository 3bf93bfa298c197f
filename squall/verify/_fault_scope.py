"""Verifier: an HTTP fault aimed at chosen requests hit only those, proven from the embedded proxy's stats.

The proxy counts, per ``http_error`` / ``http_latency`` toxic, the requests its
scope matched and did not match and those it faulted, and each request event
names the toxics that faulted it (``squall.proxy.stats``). This verifier
re-checks every faulted event against the scope with the proxy's own matcher
(``squall.httpscope``): the scope given here (what the experiment meant), or
else each toxic's own. The counts outlive the toxic, so it runs after the heal.
"""

from collections.abc import Mapping, Sequence
from typing import Any

from squall import config
from squall.activity import activity
from squall.errors import ExperimentInvalid
from squall.httpscope import Scope, scope_from_arguments
from squall.probes.proxy import fetch_stats
from squall.verify._common import result

__all__ = ["fault_scope"]

#: faulted requests outside the scope shown as evidence, at most
MAX_EXAMPLES = 5


def _in_scope(scope: Scope, event: Mapping[str, Any], kept: set[str]) -> bool | None:
    """Was the request of ``event`` in ``scope``? None when the proxy did not keep the header the scope names.

    ``kept``: the headers whose values the proxy recorded (those the toxics' own scopes name).
    """
    headers = event.get("headers")
    header = headers.get(scope.header_name) if scope.header_name and isinstance(headers, dict) else None
    if scope.header_name and header is None and scope.header_name not in kept:
        return None
    baggage = event.get("baggage")
    return scope.matches(str(event.get("method") or ""), str(event.get("path") or ""), header,
                         baggage if isinstance(baggage, dict) else {})


def _brief(event: Mapping[str, Any]) -> dict[str, Any]:
    return {k: event.get(k) for k in ("ts", "method", "path", "status", "faulted_by", "delayed_ms", "baggage")}


def _toxics(stats: Mapping[str, Any], toxic: str | None) -> list[dict[str, Any]]:
    http = stats.get("http")
    entries = [t for t in (http.get("toxics") if isinstance(http, dict) else None) or [] if isinstance(t, dict)]
    return [t for t in entries if toxic is None or t.get("name") == toxic]


@activity(role="verify")
def fault_scope(
    proxy: str,
    toxic: str | None = None,
    method: str | None = None,
    path_prefix: str | None = None,
    path_regex: str | None = None,
    header_name: str | None = None,
    header_value: str | None = None,
    baggage: str | None = None,
    configuration: dict | None = None,
) -> dict:
    """Prove from `proxy`'s stats that an HTTP fault hit only requests in its scope, and that the scope saw traffic.

    `toxic`: the http_error / http_latency toxic's name (default: every HTTP
    toxic counted on the proxy). The scope arguments (`method`, `path_prefix`,
    `path_regex`, `header_name`, `header_value`, `baggage`, as for
    add_http_error) say which requests the fault was meant for; without them
    each toxic's own scope is used. Failed: a request outside the scope was
    faulted. Inconclusive: no request matched the scope, none was faulted, or
    the proxy no longer holds every faulted request's event. Run it after the
    fault (also after the heal: the counts stay until the stats are cleared).
    """
    if toxic is not None and (not isinstance(toxic, str) or not toxic):
        raise ExperimentInvalid(f"toxic={toxic!r} (expected the name of an http_error or http_latency toxic)")
    given = {"method": method, "path_prefix": path_prefix, "path_regex": path_regex, "header_name": header_name,
             "header_value": header_value, "baggage": baggage}
    intended = scope_from_arguments(**given)
    stats = fetch_stats(config.toxiproxy_url(configuration), proxy)
    entries = _toxics(stats, toxic)
    if not entries:
        known = sorted({str(t.get("name")) for t in _toxics(stats, None)})
        what = f'no HTTP toxic named "{toxic}"' if toxic else "no http_error or http_latency toxic"
        return result("fault_scope", "inconclusive",
                      f"{what} was counted on proxy {proxy} since its stats were cleared "
                      f"(counted: {', '.join(known) or 'none'})", {"proxy": proxy, "toxic": toxic})
    return _judge(proxy, entries, intended, stats)


def _judge(proxy: str, entries: Sequence[dict[str, Any]], intended: Scope, stats: Mapping[str, Any]) -> dict:
    names = {str(t.get("name")) for t in entries}
    own = {str(t.get("name")): Scope(t.get("scope") or {}) for t in entries}  # the last entry of a name wins
    kept = {s.header_name for s in own.values() if s.header_name}  # the headers the proxy kept values of
    matched = sum(int(t.get("matched") or 0) for t in entries)
    unmatched = sum(int(t.get("unmatched") or 0) for t in entries)
    faulted = sum(int(t.get("faulted") or 0) for t in entries)
    events = stats.get("http", {}).get("events") or []
    inside, outside, unknown, seen = 0, [], 0, 0
    for event in events:
        hit = [n for n in event.get("faulted_by") or [] if n in names]
        if not hit:
            continue
        seen += len(hit)
        for name in hit:
            scope = intended if not intended.any else own[name]
            verdict = _in_scope(scope, event, kept)
            if verdict is None:
                unknown += 1
            elif verdict:
                inside += 1
            else:
                outside.append(_brief(event))
    shown = intended.text if not intended.any else "; ".join(sorted({s.text for s in own.values()}))
    evidence: dict[str, Any] = {
        "proxy": proxy, "scope": shown,
        "toxics": [{k: t.get(k) for k in ("name", "type", "scope_text", "matched", "unmatched", "faulted")}
                   for t in entries],
        "scope_given": not intended.any, "matched": matched, "unmatched": unmatched, "faulted": faulted,
        "faulted_in_scope": inside, "faulted_outside_scope": len(outside),
        "outside_examples": outside[:MAX_EXAMPLES], "events_checked": seen,
    }
    label = f"[{shown}]"
    if outside:
        e = outside[0]
        return result("fault_scope", False,
                      f"{len(outside)} of {inside + len(outside)} faulted request(s) were outside the scope {label}, "
                      f"e.g. {e.get('method')} {e.get('path')} (faulted by {', '.join(e.get('faulted_by') or [])})",
                      evidence)
    if unknown:
        return result("fault_scope", "inconclusive",
                      f"the proxy kept no value of header {intended.header_name!r} for {unknown} faulted request(s) "
                      f"(it keeps only the headers a toxic's scope names), so the scope {label} cannot be checked",
                      evidence)
    if matched == 0:
        return result("fault_scope", "inconclusive",
                      f"the scope never saw traffic: no request matched {label} "
                      f"({unmatched} request(s) outside it passed untouched)", evidence)
    if faulted == 0:
        return result("fault_scope", "inconclusive",
                      f"{matched} request(s) matched {label} but the fault hit none of them", evidence)
    if seen < faulted:
        return result("fault_scope", "inconclusive",
                      f"the proxy counted {faulted} faulted request(s) but holds the events of only {seen} "
                      "(older events left its ring, or its stats were read mid-request), so not every one can be checked",
                      evidence)
    return result("fault_scope", True,
                  f"all {inside} faulted request(s) were inside the scope {label}; {matched} matched it, "
                  f"{unmatched} outside it passed untouched", evidence)
