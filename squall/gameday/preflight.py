"""Check every experiment of a suite before anything runs: nothing is injected if one is invalid.

Each experiment gets the same checks as ``squall validate`` (squall.validation),
offline; then, with the suite's ``vars`` and the runs' environment applied, the
Toxiproxy API it names must answer and hold every proxy it uses, and every
Prometheus its control reads SLIs from (``source: prometheus``) must answer its PromQL.
"""

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from squall import config
from squall.errors import FileInvalid, ToxiproxyError
from squall.gameday.suite import Suite, SuiteExperiment
from squall.loader import Loaded, load
from squall.validation import check_experiment as validate_doc
from squall.validation.proxies import PROXY_MODULES, activities, missing_proxies
from squall.validation.values import url_problem


def check_suite_experiments(suite: Suite, env: Mapping[str, str] | None = None) -> list[str]:
    """Every problem of every experiment of a suite (empty = safe to run); `env` is what the runs will get."""
    problems: list[str] = []
    reachable: dict[str, str | set[str]] = {}  # one probe per Toxiproxy address
    for exp in suite.experiments:
        problems.extend(check_experiment(exp, env, reachable))
    return problems


def check_experiment(
    exp: SuiteExperiment, env: Mapping[str, str] | None = None, reachable: dict[str, str | set[str]] | None = None
) -> list[str]:
    """Problems of one experiment file, each naming the file (Toxiproxy answers and has every proxy named)."""
    try:
        loaded = load(exp.path, "an experiment file in YAML or JSON")
    except FileInvalid as exc:
        return [str(exc)]
    problems = _static(exp.path, loaded)
    if problems or not isinstance(loaded.doc, dict):
        return problems
    run_env = {**os.environ, **(env or {})}
    return (_reachability_problems(exp, loaded.doc, run_env, {} if reachable is None else reachable)
            + _prometheus_problems(exp, loaded.doc, run_env))


def _prometheus_problems(exp: SuiteExperiment, data: Mapping[str, Any], env: Mapping[str, str]) -> list[str]:
    """The squall control's Prometheus SLI targets must answer their PromQL (as the control checks before a run)."""
    controls = [c for c in data.get("controls") or [] if isinstance(c, Mapping)
                and isinstance(c.get("provider"), Mapping) and c["provider"].get("module") == "squall.control"]
    if not any("prometheus" in str(c["provider"].get("arguments")) for c in controls):
        return []
    from chaoslib import substitute

    from squall.control.promsli import preflight
    from squall.control.settings import parse
    from squall.errors import ExperimentInvalid

    configuration = data.get("configuration")
    resolved = {k: _env_value(v, env) for k, v in configuration.items()} if isinstance(configuration, Mapping) else {}
    resolved.update(exp.vars)
    problems = []
    for control in controls:
        try:
            settings = parse(substitute(dict(control["provider"].get("arguments") or {}), resolved, {}))
        except ExperimentInvalid:
            continue  # the static checks said it already
        problem = preflight(settings.sli)
        if problem:
            problems.append(f"{exp.path}: {problem}")
    return problems


def static_problems(path: Path) -> list[str]:
    """Problems of one experiment file that need no network: parse, modules, functions, arguments."""
    try:
        loaded = load(path, "an experiment file in YAML or JSON")
    except FileInvalid as exc:
        return [str(exc)]
    return _static(path, loaded)


def _static(path: Path, loaded: Loaded) -> list[str]:
    # offline: reachability is checked separately, with the suite's `vars` and `env` applied
    return [str(p) for p in validate_doc(loaded.doc, str(path), loaded.lines, offline=True)]


def _reachability_problems(
    exp: SuiteExperiment, data: Mapping[str, Any], env: Mapping[str, str], reachable: dict[str, str | set[str]]
) -> list[str]:
    configuration = data.get("configuration")
    uses_toxiproxy = (isinstance(configuration, Mapping) and "toxiproxy_url" in configuration) or any(
        isinstance(a.get("provider"), Mapping) and str(a["provider"].get("module", "")).startswith(PROXY_MODULES)
        for _, a in activities(data)
    )
    if not uses_toxiproxy:
        return []
    url = toxiproxy_url_of(data, exp.vars, env)
    bad = url_problem(url, "the Toxiproxy URL")
    if bad is not None:
        return [f"{exp.path}: {bad}"]
    if url not in reachable:  # the proxies it lists, or why it could not be asked
        from squall.toxiproxy_client import ToxiproxyClient

        try:
            with ToxiproxyClient(url, timeout_s=3.0) as client:
                client.version()
                reachable[url] = set(client.proxies())
        except ToxiproxyError as exc:
            reachable[url] = str(exc)
    found = reachable[url]
    if isinstance(found, str):
        return [f"{exp.path}: Toxiproxy API is not reachable: {found}"]
    # what the run will see: its configuration with the suite's `vars` on top
    resolved = {k: _env_value(v, env) for k, v in configuration.items()} if isinstance(configuration, Mapping) else {}
    resolved.update(exp.vars)
    return [f'{exp.path}: activity "{activity}": {message}' if activity else f"{exp.path}: {message}"
            for _, activity, message in missing_proxies(data, resolved, found, url)]


def _env_value(value: Any, env: Mapping[str, str]) -> Any:
    if isinstance(value, Mapping) and value.get("type") == "env":
        return env.get(str(value.get("key")), value.get("default"))
    return value


def toxiproxy_url_of(data: Mapping[str, Any], vars_: Mapping[str, str], env: Mapping[str, str]) -> str:
    """The Toxiproxy address an experiment will use: its `--var`, its configuration, $TOXIPROXY_URL, the default."""
    value: Any = vars_.get("toxiproxy_url") or (data.get("configuration") or {}).get("toxiproxy_url")
    if isinstance(value, Mapping) and value.get("type") == "env":
        value = env.get(str(value.get("key")), value.get("default"))
    if not isinstance(value, str) or not value:
        value = env.get("TOXIPROXY_URL") or config.DEFAULT_TOXIPROXY_URL
    return config.toxiproxy_url({"toxiproxy_url": value})
