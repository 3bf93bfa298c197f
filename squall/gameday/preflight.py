"""Check every experiment of a suite before anything runs: nothing is injected if one is invalid.

Uses ``squall.validate.validate_experiment`` when it is installed; otherwise
(and in any case for reachability) a minimal check of its own: the file
parses, Chaos Toolkit's own validation passes (which imports every python
activity's module and checks the function and its arguments), and the
Toxiproxy API answers if the experiment uses Toxiproxy activities.
"""

import importlib
import json
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml

from squall import config
from squall.errors import ToxiproxyError
from squall.gameday.suite import Suite, SuiteExperiment

#: activity modules that talk to the Toxiproxy API
TOXIPROXY_MODULES = ("squall.actions.toxiproxy", "squall.probes.proxy", "squall.verify")


def check_suite_experiments(suite: Suite, env: Mapping[str, str] | None = None) -> list[str]:
    """Every problem of every experiment of a suite (empty = safe to run); `env` is what the runs will get."""
    problems: list[str] = []
    reachable: dict[str, str | None] = {}  # one probe per Toxiproxy address
    for exp in suite.experiments:
        problems.extend(check_experiment(exp, env, reachable))
    return problems


def check_experiment(
    exp: SuiteExperiment, env: Mapping[str, str] | None = None, reachable: dict[str, str | None] | None = None
) -> list[str]:
    """Problems of one experiment file, each naming the file (reachability of Toxiproxy included)."""
    problems = static_problems(exp.path)
    if problems:
        return problems
    data, problems = _load(exp.path)
    if data is None:
        return problems
    return _reachability_problems(exp, data, {**os.environ, **(env or {})}, {} if reachable is None else reachable)


def static_problems(path: Path) -> list[str]:
    """Problems of one experiment file that need no network: parse, modules, functions, arguments."""
    external = _external_validator()
    if external is not None:
        # offline: reachability is checked separately, with the suite's `vars` and `env` applied
        return [str(p) for p in external(path, offline=True)]
    data, problems = _load(path)
    if data is None:
        return problems
    return _chaoslib_problems(path, data)


def _external_validator() -> Any:
    try:
        module = importlib.import_module("squall.validate")
    except ImportError:
        return None
    return getattr(module, "validate_experiment", None)


def _load(path: Path) -> tuple[dict[str, Any] | None, list[str]]:
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        return None, [f"{path}: cannot read experiment file: {exc.strerror or exc}"]
    try:
        data = json.loads(text) if path.suffix == ".json" else yaml.safe_load(text)
    except (ValueError, yaml.YAMLError) as exc:
        return None, [f"{path}: not valid {'JSON' if path.suffix == '.json' else 'YAML'}: {exc}"]
    if not isinstance(data, dict):
        return None, [f"{path}: expected an experiment (a mapping with title, description, method), got {type(data).__name__}"]
    return data, []


def _chaoslib_problems(path: Path, data: dict[str, Any]) -> list[str]:
    from chaoslib.exceptions import ChaosException
    from chaoslib.experiment import ensure_experiment_is_valid

    try:
        ensure_experiment_is_valid(data)
    except ChaosException as exc:
        return [f"{path}: {exc}"]
    except Exception as exc:  # noqa: BLE001 - chaoslib lets some import errors through unwrapped
        return [f"{path}: {type(exc).__name__}: {exc}"]
    return []


def _activities(data: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    acts: list[Mapping[str, Any]] = []
    acts.extend((data.get("steady-state-hypothesis") or {}).get("probes") or [])
    acts.extend(data.get("method") or [])
    acts.extend(data.get("rollbacks") or [])
    return [a for a in acts if isinstance(a, Mapping)]


def _reachability_problems(
    exp: SuiteExperiment, data: Mapping[str, Any], env: Mapping[str, str], reachable: dict[str, str | None]
) -> list[str]:
    uses_toxiproxy = "toxiproxy_url" in (data.get("configuration") or {}) or any(
        str((a.get("provider") or {}).get("module", "")).startswith(TOXIPROXY_MODULES) for a in _activities(data)
    )
    if not uses_toxiproxy:
        return []
    url = toxiproxy_url_of(data, exp.vars, env)
    if url not in reachable:
        from squall.toxiproxy_client import ToxiproxyClient

        try:
            with ToxiproxyClient(url, timeout_s=3.0) as client:
                client.version()
            reachable[url] = None
        except ToxiproxyError as exc:
            reachable[url] = str(exc)
    why = reachable[url]
    return [] if why is None else [f"{exp.path}: Toxiproxy API is not reachable: {why}"]


def toxiproxy_url_of(data: Mapping[str, Any], vars_: Mapping[str, str], env: Mapping[str, str]) -> str:
    """The Toxiproxy address an experiment will use: its `--var`, its configuration, $TOXIPROXY_URL, the default."""
    value: Any = vars_.get("toxiproxy_url") or (data.get("configuration") or {}).get("toxiproxy_url")
    if isinstance(value, Mapping) and value.get("type") == "env":
        value = env.get(str(value.get("key")), value.get("default"))
    if not isinstance(value, str) or not value:
        value = env.get("TOXIPROXY_URL") or config.DEFAULT_TOXIPROXY_URL
    return config.toxiproxy_url({"toxiproxy_url": value})
