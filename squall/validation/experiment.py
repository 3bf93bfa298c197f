"""Check a Chaos Toolkit experiment before anything runs (the heart of `squall validate`).

The checks are plain functions returning ``Problem`` objects, so every command
(validate, game-day suites, the CI gate) reuses them: ``validate_experiment(path)``.
Checked: the experiment's shape (title, description, method), every activity's
shape, squall python providers (module, function in ``__all__``, required and
unknown arguments, argument types where annotated), other python providers
(importable), tolerance shapes, and that ``toxiproxy_url`` answers when the
experiment uses Toxiproxy (skip with ``--offline``).
"""

import importlib
import importlib.util
import inspect
import json
import os
import re
import types
import typing
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from squall import loader
from squall.errors import ExperimentInvalid, FileInvalid
from squall.validation.proxies import PROXY_MODULES, toxiproxy_problems
from squall.validation.scopes import scope_problems
from squall.validation.values import argument_problems, process_problem, url_problem

__all__ = ["Problem", "check_experiment", "load_document", "validate_experiment"]

ACTIVITY_TYPES = ("action", "probe")
PROVIDER_TYPES = ("python", "http", "process")
TOLERANCE_TYPES = ("probe", "regex", "jsonpath", "range")
INJECTED = ("configuration", "secrets")

Path_ = tuple[str | int, ...]

@dataclass(frozen=True)
class Problem:
    """One thing wrong with a file: where it is and what was expected."""

    file: str
    message: str
    activity: str | None = None
    line: int | None = None

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}" if self.line else self.file
        what = f' activity "{self.activity}":' if self.activity else ""
        return f"{where}:{what} {self.message}"


# -- loading -------------------------------------------------------------------
def load_document(path: Path) -> tuple[Any, dict[Path_, int]]:
    """Parse a YAML or JSON file safely (``squall.loader``); return the document and the line of each key path (YAML)."""
    loaded = loader.load(path, "an experiment or suite file in YAML or JSON")
    return loaded.doc, loaded.lines


# -- types ---------------------------------------------------------------------
def _type_ok(value: Any, annotation: Any) -> bool:
    if annotation is inspect.Parameter.empty or annotation is Any or annotation is object:
        return True
    if isinstance(value, str) and "${" in value:
        return True  # substituted from configuration at run time
    origin = typing.get_origin(annotation)
    if origin in (typing.Union, types.UnionType):
        return any(_type_ok(value, a) for a in typing.get_args(annotation))
    if origin is typing.Literal:
        return value in typing.get_args(annotation)
    if annotation is None or annotation is type(None):
        return value is None
    target = origin or annotation
    if target is bool:
        return isinstance(value, bool)
    if target is int:
        return isinstance(value, int) and not isinstance(value, bool)
    if target is float:
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    if isinstance(target, type):
        return isinstance(value, target)
    return True


def _type_name(annotation: Any) -> str:
    origin = typing.get_origin(annotation)
    if origin is typing.Literal:
        return "one of: " + ", ".join(json.dumps(a) for a in typing.get_args(annotation))
    if origin in (typing.Union, types.UnionType):
        return " or ".join(_type_name(a) for a in typing.get_args(annotation))
    names = {bool: "a boolean", int: "an integer", float: "a number", str: "a string",
             dict: "a mapping", list: "a list", type(None): "null"}
    return names.get(origin or annotation, getattr(annotation, "__name__", str(annotation)))


# -- checks --------------------------------------------------------------------
def _check_python(provider: Mapping[str, Any], emit: Any) -> None:
    module_name, func_name = provider.get("module"), provider.get("func")
    if not isinstance(module_name, str) or not isinstance(func_name, str):
        emit("a python provider needs string keys module and func")
        return
    try:
        module = importlib.import_module(module_name)
    except Exception as exc:  # noqa: BLE001 - importing a user's module may raise anything; report it
        emit(f'module "{module_name}" cannot be imported ({type(exc).__name__}: {exc})', ("provider", "module"))
        return
    exported = getattr(module, "__all__", None)
    if module_name.startswith("squall") and (exported is None or func_name not in exported):
        known = ", ".join(exported or []) or "none"
        emit(f'unknown squall function "{module_name}.{func_name}" (expected one of: {known})', ("provider", "func"))
        return
    func = getattr(module, func_name, None)
    if not callable(func):
        emit(f'module "{module_name}" has no function "{func_name}"', ("provider", "func"))
        return
    arguments = provider.get("arguments") or {}
    if not isinstance(arguments, Mapping):
        emit(f"arguments must be a mapping of name to value (got {type(arguments).__name__})")
        return
    params = inspect.signature(func).parameters
    takes_kwargs = any(p.kind is p.VAR_KEYWORD for p in params.values())
    named = [n for n, p in params.items() if n not in INJECTED and p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)]
    for name in arguments:
        if name in INJECTED:
            emit(f'argument "{name}" is passed by Chaos Toolkit itself; remove it from arguments', ("provider", "arguments", name))
        elif name not in params and not takes_kwargs:
            emit(f'unknown argument "{name}" for {module_name}.{func_name} (expected one of: {", ".join(named)})',
                 ("provider", "arguments", name))
    for name in named:
        p = params[name]
        if p.default is p.empty and name not in arguments:
            emit(f'missing required argument "{name}" for {module_name}.{func_name}')
        elif name in arguments and not _type_ok(arguments[name], p.annotation):
            emit(f"argument {name}={arguments[name]!r} (expected {_type_name(p.annotation)})", ("provider", "arguments", name))
    for name, message in argument_problems(func, arguments):  # the ranges the function declares (squall.bounds)
        if name in params and _type_ok(arguments[name], params[name].annotation):
            emit(f"argument {message}", ("provider", "arguments", name))


def _check_tolerance(tolerance: Any, emit: Any) -> None:
    if isinstance(tolerance, (bool, int, str)):
        return
    if isinstance(tolerance, list):
        if not tolerance:
            emit("tolerance is an empty list (expected a [low, high] pair or a list of accepted values)")
        return
    if not isinstance(tolerance, dict):
        emit(f"tolerance {tolerance!r} (expected a boolean, integer, string, list or mapping)")
        return
    kind = tolerance.get("type")
    if kind not in TOLERANCE_TYPES:
        emit(f'unknown tolerance type "{kind}" (expected one of: {", ".join(TOLERANCE_TYPES)})')
    elif kind == "regex":
        try:
            re.compile(str(tolerance.get("pattern")) if tolerance.get("pattern") is not None else None)  # type: ignore[type-var]
        except (TypeError, ValueError, OverflowError, RecursionError, re.error) as exc:
            emit(f"tolerance pattern {tolerance.get('pattern')!r} is not a valid regex ({exc})")
    elif kind == "jsonpath":
        if not isinstance(tolerance.get("path"), str):
            emit('a jsonpath tolerance needs a "path" such as "$.ok"')
        if importlib.util.find_spec("jsonpath2") is None:
            emit("a jsonpath tolerance needs the jsonpath2 package, which is not installed "
                 "(expected `pip install chaostoolkit-lib[jsonpath]`, or use a boolean probe such as meets_slo)")
    elif kind == "range":
        bounds = tolerance.get("range")
        if not (isinstance(bounds, list) and len(bounds) == 2 and all(isinstance(b, (int, float)) for b in bounds)):
            emit(f'a range tolerance needs "range": [low, high] (got {bounds!r})')
        if not isinstance(tolerance.get("target"), str):
            emit('a range tolerance needs a "target" such as "body" or "status"')
    elif kind == "probe":
        _check_activity(tolerance, emit, in_tolerance=True)


def _check_activity(activity: Any, emit: Any, in_tolerance: bool = False) -> None:
    if not isinstance(activity, dict):
        emit(f"an activity must be a mapping (got {type(activity).__name__})")
        return
    if "ref" in activity:
        return
    if not in_tolerance and activity.get("type") not in ACTIVITY_TYPES:
        emit(f'activity type "{activity.get("type")}" (expected one of: {", ".join(ACTIVITY_TYPES)})')
    if not activity.get("name"):
        emit("an activity needs a name")
    provider = activity.get("provider")
    if not isinstance(provider, dict):
        emit("an activity needs a provider mapping")
        return
    if provider.get("type") not in PROVIDER_TYPES:
        emit(f'provider type "{provider.get("type")}" (expected one of: {", ".join(PROVIDER_TYPES)})')
    elif provider["type"] == "python":
        _check_python(provider, emit)
    elif provider["type"] == "process" and (missing := process_problem(provider)) is not None:
        emit(missing, ("provider", "path"))


def _resolve(value: Any) -> Any:
    if isinstance(value, dict) and value.get("type") == "env":
        return os.environ.get(str(value.get("key")), value.get("default"))
    return value


def check_experiment(doc: Any, file: str, lines: Mapping[Path_, int] | None = None, offline: bool = False) -> list[Problem]:
    """Every problem of an already-loaded experiment document."""
    lines = lines or {}
    problems: list[Problem] = []

    def emitter(path: Path_, activity: str | None = None) -> Any:
        def emit(message: str, at: Path_ = ()) -> None:
            line = lines.get(path + at) or lines.get(path)
            problems.append(Problem(file, message, activity, line))
        return emit

    top = emitter(())
    if not isinstance(doc, dict):
        top(f"an experiment must be a mapping (got {type(doc).__name__})")
        return problems
    for key in ("title", "description"):
        if not doc.get(key):
            top(f'missing "{key}" (expected a non-empty string)')
    if not isinstance(doc.get("method"), list):
        top('missing "method" (expected a list of activities, which may be empty)')
    hypothesis = doc.get("steady-state-hypothesis")
    blocks: list[tuple[Path_, Any]] = []
    if hypothesis is not None:
        probes = hypothesis.get("probes", []) if isinstance(hypothesis, dict) else None
        if not isinstance(probes, list):
            emitter(("steady-state-hypothesis",))('"steady-state-hypothesis" needs a list of "probes"')
        else:
            for i, probe in enumerate(probes):
                path: Path_ = ("steady-state-hypothesis", "probes", i)
                name = probe.get("name") if isinstance(probe, dict) else None
                blocks.append((path, probe))
                if isinstance(probe, dict):
                    if "tolerance" not in probe:
                        emitter(path, name)("a steady-state probe needs a tolerance")
                    else:
                        _check_tolerance(probe["tolerance"], emitter(path + ("tolerance",), name))
    for section in ("method", "rollbacks"):
        items = doc.get(section)
        if isinstance(items, list):
            blocks.extend(((section, i), a) for i, a in enumerate(items))
        elif items is not None:
            emitter((section,))(f'"{section}" must be a list of activities')
    uses_toxiproxy = False
    for path, activity in blocks:
        name = activity.get("name") if isinstance(activity, dict) else None
        _check_activity(activity, emitter(path, name))
        provider = activity.get("provider") if isinstance(activity, dict) else None
        module = provider.get("module") if isinstance(provider, dict) else None
        uses_toxiproxy = uses_toxiproxy or str(module).startswith(PROXY_MODULES)
    controls = doc.get("controls")
    if controls is not None and not isinstance(controls, list):
        emitter(("controls",))(f'"controls" must be a list of controls (got {type(controls).__name__})')
    for i, control in enumerate(controls if isinstance(controls, list) else []):
        provider = control.get("provider") if isinstance(control, dict) else None
        if isinstance(provider, dict) and provider.get("type") == "python":
            try:
                importlib.import_module(str(provider.get("module")))
            except Exception as exc:  # noqa: BLE001 - as for providers: report, don't crash
                emitter(("controls", i))(f'control module "{provider.get("module")}" cannot be imported ({exc})')
                continue
            if provider.get("module") == "squall.control":
                _check_control_arguments(doc, provider.get("arguments") or {}, emitter(("controls", i)))
    if not isinstance(doc.get("configuration") or {}, dict):
        emitter(("configuration",))(f'"configuration" must be a mapping (got {type(doc["configuration"]).__name__})')
    configuration = _configuration(doc)
    for at, activity_name, message in scope_problems(doc, configuration):
        emitter(at, activity_name)(message)
    bad_url = url_problem(configuration.get("toxiproxy_url"))
    if bad_url is not None:
        emitter(("configuration", "toxiproxy_url"))(bad_url)
    elif uses_toxiproxy and not offline:
        for at, activity, message in toxiproxy_problems(doc, configuration):
            emitter(at, activity)(message)
    return problems


def _configuration(doc: Mapping[str, Any]) -> dict[str, Any]:
    """The experiment's configuration with ``{type: env}`` entries resolved ({} if it is not a mapping)."""
    configuration = doc.get("configuration")
    return {k: _resolve(v) for k, v in configuration.items()} if isinstance(configuration, dict) else {}


experiment_configuration = _configuration


def _check_control_arguments(doc: dict[str, Any], arguments: Any, emit: Callable[[str], None]) -> None:
    """The squall control's own arguments (SLI targets, stop conditions), with ${...} from the configuration."""
    from chaoslib import substitute

    from squall.control.settings import parse

    if not isinstance(arguments, dict):
        emit(f"squall control arguments {arguments!r} (expected a mapping)")
        return
    try:
        parse(substitute(arguments, _configuration(doc), {}))
    except ExperimentInvalid as exc:
        emit(str(exc))


def validate_experiment(path: Path | str, offline: bool = False) -> list[Problem]:
    """Load and check one experiment file; an unreadable file is a problem, not an exception."""
    file = Path(path)
    try:
        doc, lines = load_document(file)
    except FileInvalid as exc:
        return [Problem(str(file), exc.message, line=exc.line)]
    return check_experiment(doc, str(file), lines, offline)
