"""Parse and check a suite file into a Suite, collecting every problem (file, key, what was expected)."""

import os
import re
from dataclasses import replace
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from croniter import croniter

from squall.errors import FileInvalid
from squall.gameday.suite import (
    DEFAULT_EXPERIMENT_TIMEOUT_S,
    DEFAULT_SETTLE_S,
    EXPERIMENT_KEYS,
    GATE_KEYS,
    NOTIFY_KEYS,
    REPORTS_KEYS,
    SCHEDULE_KEYS,
    SUITE_KEYS,
    Schedule,
    Suite,
    SuiteExperiment,
    slugify,
    unique_names,
)
from squall.loader import load


class _Problems(list[str]):
    def __init__(self, path: Path) -> None:
        super().__init__()
        self.file = str(path)

    def add(self, key: str, message: str) -> None:
        self.append(f"{self.file}: {key}: {message}" if key else f"{self.file}: {message}")

    def unknown_keys(self, key: str, data: dict[str, Any], allowed: tuple[str, ...]) -> None:
        for k in data:
            if k not in allowed:
                where = f"{key}.{k}" if key else str(k)
                self.add(where, f'unknown key "{k}" (expected one of: {", ".join(allowed)})')


def check(path: Path) -> tuple[list[str], Suite | None]:
    p = _Problems(path)
    try:
        data = load(path, "a game-day suite file in YAML").doc
    except FileInvalid as exc:
        p.add(f"line {exc.line}" if exc.line else "", exc.message)
        return p, None
    if not isinstance(data, dict):
        p.add("", f"expected a mapping with keys {', '.join(SUITE_KEYS)}, got {type(data).__name__}")
        return p, None
    # Not resolve(): a suite reached through a symlinked folder keeps its paths relative to where it was named.
    base = _absolute(path).parent
    p.unknown_keys("", data, SUITE_KEYS)

    name = data.get("name")
    if not isinstance(name, str) or not name.strip():
        p.add("name", f"expected a non-empty string, got {name!r}")
        name = path.stem

    experiments = _check_experiments(p, data.get("experiments"), base)
    schedule = _check_schedule(p, data.get("schedule"))
    settle_s = _number(p, "settle_s", data.get("settle_s", DEFAULT_SETTLE_S), minimum=0)

    gate = _mapping(p, "gate", data.get("gate"), GATE_KEYS)
    min_score = gate.get("min_score")
    if min_score is not None:
        min_score = _number(p, "gate.min_score", min_score, minimum=0, maximum=100)
    experiments = _apply_required(p, gate.get("required", []), experiments, base)

    reports = _mapping(p, "reports", data.get("reports"), REPORTS_KEYS)
    reports_dir = reports.get("dir", f"reports/{slugify(name)}")
    if not isinstance(reports_dir, str) or not reports_dir:
        p.add("reports.dir", f"expected a folder path, got {reports_dir!r}")
        reports_dir = "reports"
    keep_days = reports.get("keep_days")
    if keep_days is not None and (not isinstance(keep_days, int) or isinstance(keep_days, bool) or keep_days < 1):
        p.add("reports.keep_days", f"expected a whole number of days >= 1, got {keep_days!r}")
        keep_days = None

    notify = _mapping(p, "notify", data.get("notify"), NOTIFY_KEYS)
    webhook = notify.get("webhook")
    if webhook is not None and (not isinstance(webhook, str) or not re.match(r"^https?://[^\s/]+", webhook)):
        p.add("notify.webhook", f"expected an http:// or https:// URL, got {webhook!r}")
        webhook = None
    timeout_s = _number(p, "notify.timeout_s", notify.get("timeout_s", 5.0), minimum=0.1, maximum=120)

    if p:
        return p, None
    return p, Suite(
        name=str(name),
        experiments=tuple(experiments),
        path=_absolute(path),
        schedule=schedule,
        settle_s=settle_s,
        min_score=min_score,
        reports_dir=_absolute(_reports_base(base) / reports_dir),
        keep_days=keep_days,
        webhook=webhook,
        webhook_timeout_s=timeout_s,
    )


def _reports_base(base: Path) -> Path:
    """Where a relative reports.dir starts: beside the suite file, or in the current directory for a suite
    that ships inside the installed squall package (the demo's), so reports never land in site-packages."""
    package = Path(__file__).resolve().parent.parent
    return Path.cwd() if base.resolve().is_relative_to(package) else base


def _absolute(path: Path) -> Path:
    """An absolute, normalised path (".." folded) without resolving symlinks."""
    return Path(os.path.normpath(os.path.abspath(path)))


def _mapping(p: _Problems, key: str, value: Any, allowed: tuple[str, ...]) -> dict[str, Any]:
    if value is None:
        return {}
    if not isinstance(value, dict):
        p.add(key, f"expected a mapping with keys {', '.join(allowed)}, got {value!r}")
        return {}
    p.unknown_keys(key, value, allowed)
    return value


def _number(p: _Problems, key: str, value: Any, *, minimum: float, maximum: float | None = None) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        p.add(key, f"expected a number, got {value!r}")
        return minimum
    if value < minimum or (maximum is not None and value > maximum):
        bounds = f">= {minimum:g}" if maximum is None else f"between {minimum:g} and {maximum:g}"
        p.add(key, f"expected a number {bounds}, got {value!r}")
        return minimum
    return float(value)


def _check_experiments(p: _Problems, value: Any, base: Path) -> list[SuiteExperiment]:
    if not isinstance(value, list) or not value:
        p.add("experiments", f"expected a non-empty list of experiments (each {{path: FILE}}), got {value!r}")
        return []
    out = []
    for i, item in enumerate(value):
        key = f"experiments[{i}]"
        if isinstance(item, str):
            item = {"path": item}
        if not isinstance(item, dict):
            p.add(key, f"expected a mapping with keys {', '.join(EXPERIMENT_KEYS)} or a file path, got {item!r}")
            continue
        p.unknown_keys(key, item, EXPERIMENT_KEYS)
        rel = item.get("path")
        if not isinstance(rel, str) or not rel:
            p.add(f"{key}.path", f"expected an experiment file path, got {rel!r}")
            continue
        exp_path = _absolute(base / rel)
        if not exp_path.is_file():
            p.add(f"{key}.path", f'experiment file "{rel}" not found (looked for {exp_path})')
        weight = _number(p, f"{key}.weight", item.get("weight", 1), minimum=0)
        required = item.get("required", False)
        if not isinstance(required, bool):
            p.add(f"{key}.required", f"expected true or false, got {required!r}")
            required = False
        raw_vars = item.get("vars") or {}
        if not isinstance(raw_vars, dict):
            p.add(f"{key}.vars", f"expected a mapping of configuration names to values, got {raw_vars!r}")
            raw_vars = {}
        bad = [k for k, v in raw_vars.items() if isinstance(v, (dict, list)) or v is None]
        for k in bad:
            p.add(f"{key}.vars.{k}", f"expected a string or number, got {raw_vars[k]!r}")
        name = item.get("name", Path(rel).stem)
        if not isinstance(name, str) or not name:
            p.add(f"{key}.name", f"expected a non-empty string, got {name!r}")
            name = Path(rel).stem
        vars_ = {str(k): _var_text(v) for k, v in raw_vars.items() if k not in bad}
        timeout_s = _number(p, f"{key}.timeout_s", item.get("timeout_s", DEFAULT_EXPERIMENT_TIMEOUT_S),
                            minimum=1, maximum=86400)
        out.append(SuiteExperiment(exp_path, slugify(name), weight, required, vars_, timeout_s))
    return unique_names(out)


def _var_text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _check_schedule(p: _Problems, value: Any) -> Schedule | None:
    if value is None:
        return None
    if isinstance(value, str):
        value = {"cron": value}
    sched = _mapping(p, "schedule", value, SCHEDULE_KEYS)
    if not sched:
        return None
    cron = sched.get("cron")
    tz = sched.get("timezone", "UTC")
    ok = True
    if not isinstance(cron, str) or not croniter.is_valid(cron):
        p.add("schedule.cron", f'expected a cron expression such as "0 10 * * TUE" (5 fields, or 6 with seconds last), got {cron!r}')
        ok = False
    if not isinstance(tz, str):
        p.add("schedule.timezone", f"expected an IANA time zone name such as Europe/Berlin, got {tz!r}")
        ok = False
    else:
        try:
            ZoneInfo(tz)
        except (ZoneInfoNotFoundError, ValueError):
            p.add("schedule.timezone", f'unknown time zone "{tz}" (expected an IANA name such as Europe/Berlin or UTC)')
            ok = False
    return Schedule(cron=str(cron), timezone=str(tz)) if ok else None


def _apply_required(p: _Problems, refs: Any, experiments: list[SuiteExperiment], base: Path) -> list[SuiteExperiment]:
    """Mark the experiments `gate.required` names (by name or path) as required."""
    if not isinstance(refs, list) or not all(isinstance(x, str) for x in refs):
        p.add("gate.required", f"expected a list of experiment names or paths, got {refs!r}")
        return experiments
    chosen: set[int] = set()
    for i, ref in enumerate(refs):
        hits = [n for n, e in enumerate(experiments) if ref == e.name or _absolute(base / ref) == e.path]
        if not hits:
            names = ", ".join(sorted(e.name for e in experiments))
            p.add(f"gate.required[{i}]", f'"{ref}" is not an experiment of this suite (expected one of: {names})')
        chosen.update(hits)
    return [replace(e, required=True) if n in chosen else e for n, e in enumerate(experiments)]
