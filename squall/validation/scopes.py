"""HTTP fault scopes in an experiment: checked before anything is injected, and shown by `squall validate`.

``add_http_error``, ``add_http_latency`` and the ``fault_scope`` verifier take
the scope arguments of ``squall.httpscope`` (method, path_prefix, path_regex,
header_name, header_value, baggage). A bad one (an unknown method, a regular
expression that does not compile, a header value without a header name) is a
problem here, with the same words the activity would fail with; a value still
``${...}`` after substitution is checked at run time instead.
"""

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from squall.httpscope import SCOPE_ATTRIBUTES, Scope, ScopeInvalid
from squall.validation.proxies import KeyPath, activities

__all__ = ["SCOPED", "scope_lines", "scope_lines_of", "scope_problems"]

#: (module, function) of the activities that take a request scope
SCOPED = {("squall.actions.toxiproxy", "add_http_error"), ("squall.actions.toxiproxy", "add_http_latency"),
          ("squall.verify", "fault_scope")}


def _scoped(doc: Any, configuration: Mapping[str, Any]) -> list[tuple[KeyPath, str, str, dict[str, Any]]]:
    """(key path of the arguments, activity name, function, substituted arguments) of each scoped activity."""
    if not isinstance(doc, Mapping):
        return []
    from chaoslib import substitute

    out = []
    for path, activity in activities(doc):
        provider = activity.get("provider")
        if not isinstance(provider, Mapping):
            continue
        module, func = provider.get("module"), provider.get("func")
        if not isinstance(module, str) or not isinstance(func, str) or (module, func) not in SCOPED:
            continue  # a module or func that is no string (a list, a mapping) is the shape checks' to report
        arguments = provider.get("arguments") or {}
        if not isinstance(arguments, Mapping):
            continue  # the shape checks report it
        try:
            given = substitute(dict(arguments), dict(configuration), {})
        except Exception:  # noqa: BLE001 - an odd value is the argument checks' business
            continue
        name = activity.get("name")
        out.append((path + ("provider", "arguments"), str(name) if name else str(provider.get("func")),
                    str(provider.get("func")), given if isinstance(given, dict) else {}))
    return out


def _scope(arguments: Mapping[str, Any]) -> Scope | ScopeInvalid | None:
    """The scope the arguments give; the problem with it; or None when it cannot be judged before the run."""
    given = {k: arguments.get(k) for k in SCOPE_ATTRIBUTES if arguments.get(k) is not None}
    if any(not isinstance(v, str) or "${" in v for v in given.values()):
        return None  # a wrong type is the argument checks' problem; ${...} is judged at run time
    try:
        return Scope(given)
    except ScopeInvalid as exc:
        return exc


def scope_problems(doc: Any, configuration: Mapping[str, Any]) -> list[tuple[KeyPath, str, str]]:
    """(key path, activity name, message) for each scoped activity whose scope the proxy would refuse."""
    out = []
    for path, name, _, arguments in _scoped(doc, configuration):
        scope = _scope(arguments)
        if isinstance(scope, ScopeInvalid):
            out.append((path + (scope.attribute,), name, f"argument {scope.attribute}: {scope.message}"))
    return out


def scope_lines(doc: Any, configuration: Mapping[str, Any]) -> list[str]:
    """What each scoped activity aims at, in words: ``"error storm": add_http_error on payments hits [POST /pay*]``."""
    out = []
    for _, name, func, arguments in _scoped(doc, configuration):
        scope = _scope(arguments)
        if isinstance(scope, ScopeInvalid):
            continue
        target = f"{func} on {arguments.get('proxy')}"
        if scope is None:
            what = "hits a scope known only at run time (${...})"
        elif func == "fault_scope":
            what = f"checks [{scope.text}]" if not scope.any else "checks each toxic's own scope"
        else:
            what = f"hits [{scope.text}]" if not scope.any else "hits every HTTP request (no scope)"
        out.append(f'"{name}": {target} {what}')
    return out


def scope_lines_of(path: Path | str) -> list[str]:
    """The scope lines of an experiment file; none for a file that does not load or is not an experiment."""
    from squall.validation.experiment import experiment_configuration, load_document  # (imports this module)

    try:
        doc, _ = load_document(Path(path))
    except Exception:  # noqa: BLE001 - a file that does not load has no scopes; validate reports why
        return []
    if not isinstance(doc, Mapping) or not isinstance(doc.get("method"), list):
        return []
    return scope_lines(doc, experiment_configuration(doc))
