"""Every Toxiproxy proxy an experiment names must exist where it will run, or be made earlier by `create_proxy`.

Activities run in this order: the steady-state probes, the method, the
rollbacks. A proxy counts as there for an activity if the Toxiproxy API lists
it or a ``create_proxy`` before that activity makes it. A name that is still
``${...}`` after substitution is not checked.
"""

import difflib
from collections.abc import Iterable, Iterator, Mapping
from typing import Any

from squall import config

__all__ = ["PROXY_MODULES", "activities", "missing_proxies", "proxy_references", "toxiproxy_problems"]

#: modules whose activities talk to the Toxiproxy API and name a proxy in their `proxy` argument
PROXY_MODULES = ("squall.actions.toxiproxy", "squall.probes.proxy", "squall.verify")

KeyPath = tuple[str | int, ...]


def activities(doc: Mapping[str, Any]) -> Iterator[tuple[KeyPath, Mapping[str, Any]]]:
    """(key path, activity) of every activity: steady-state probes, method, rollbacks, in run order."""
    hypothesis = doc.get("steady-state-hypothesis")
    probes = hypothesis.get("probes") if isinstance(hypothesis, Mapping) else None
    sections: list[tuple[KeyPath, Any]] = [(("steady-state-hypothesis", "probes"), probes),
                                           (("method",), doc.get("method")), (("rollbacks",), doc.get("rollbacks"))]
    for base, items in sections:
        if isinstance(items, list):
            for i, item in enumerate(items):
                if isinstance(item, Mapping):
                    yield base + (i,), item


def proxy_references(doc: Any, configuration: Mapping[str, Any]) -> list[tuple[KeyPath, str, bool, str | None]]:
    """(key path of the argument, proxy name, True if it creates the proxy, activity name) in run order."""
    if not isinstance(doc, Mapping):
        return []
    from chaoslib import substitute

    refs = []
    for path, activity in activities(doc):
        provider = activity.get("provider")
        if not isinstance(provider, Mapping) or provider.get("type") != "python":
            continue
        module, func, arguments = provider.get("module"), provider.get("func"), provider.get("arguments")
        if not isinstance(module, str) or not module.startswith(PROXY_MODULES) or not isinstance(arguments, Mapping):
            continue
        creates = module == "squall.actions.toxiproxy" and func == "create_proxy"
        key = "name" if creates else "proxy"
        try:
            name = substitute(arguments.get(key), dict(configuration), {})
        except Exception:  # noqa: BLE001 - an odd value is the argument checks' business, not this one's
            continue
        if isinstance(name, str) and name and "${" not in name:
            activity_name = activity.get("name")
            refs.append((path + ("provider", "arguments", key), name, creates,
                         activity_name if isinstance(activity_name, str) else None))
    return refs


def _expected(name: str, existing: Iterable[str]) -> str:
    names = sorted(set(existing))
    close = difflib.get_close_matches(name, names, n=len(names), cutoff=0.0)
    return ", ".join(close) if close else "none defined"


def missing_proxies(doc: Any, configuration: Mapping[str, Any], existing: Iterable[str],
                    url: str) -> list[tuple[KeyPath, str | None, str]]:
    """(key path, activity name, message) for each proxy an activity names that will not be there when it runs."""
    existing = set(existing)
    created: set[str] = set()
    out = []
    refs = proxy_references(doc, configuration)
    for path, name, creates, activity in refs:
        if creates:
            created.add(name)
            continue
        if name in existing or name in created:
            continue
        later = any(c and n == name for _, n, c, _ in refs)
        hint = " (create_proxy makes it only later in the experiment)" if later else ""
        out.append((path, activity, f'unknown proxy "{name}" at {config.redact_url(url)}{hint} (expected one of: '
                          f"{_expected(name, existing | created)}, or a proxy made earlier by create_proxy)"))
    return out


def toxiproxy_problems(doc: Any, configuration: Mapping[str, Any]) -> list[tuple[KeyPath, str | None, str]]:
    """Ask the experiment's Toxiproxy: does it answer, and does it have every proxy the experiment names?"""
    from squall.errors import SquallError
    from squall.toxiproxy_client import ToxiproxyClient
    from squall.validation.values import url_problem

    url = config.toxiproxy_url(configuration)
    bad = url_problem(url, "the Toxiproxy URL (from $TOXIPROXY_URL)")
    if bad is not None:
        return [(("configuration", "toxiproxy_url"), None, bad)]
    try:
        with ToxiproxyClient(url, timeout_s=3.0) as client:
            client.version()
            names = client.proxies()
    except SquallError as exc:
        return [(("configuration", "toxiproxy_url"), None, f"toxiproxy_url does not answer: {exc} (or use --offline)")]
    return missing_proxies(doc, configuration, names, client.display_url)
