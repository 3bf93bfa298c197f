"""The control's ``load`` argument: what traffic to send during a run, validated before anything starts."""

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from squall.errors import ExperimentInvalid

#: hard bounds: a load is a test's traffic on loopback or a staging service, never unbounded
MAX_USERS = 10_000
MAX_WORKERS = 64
MAX_DURATION_S = 3600.0
MAX_SAMPLES_CAP = 1_000_000

_KEYS = {"targets", "locustfile", "users", "spawn_rate", "before_s", "during_s", "after_s", "experiment_share",
         "workers", "wait_s", "max_samples", "seed"}
_TARGET_KEYS = {"url", "method", "weight", "expect_status", "name", "headers"}
_METHODS = {"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"}


@dataclass(frozen=True)
class LoadTarget:
    """One URL the load's users request, picked by weight."""

    url: str
    method: str = "GET"
    weight: float = 1.0
    expect_status: tuple[int, ...] | None = None  # None: 2xx/3xx succeed
    name: str = ""
    headers: tuple[tuple[str, str], ...] = ()

    def to_json(self) -> dict[str, Any]:
        """The target as handed to the Locust process (through its environment, never its command line)."""
        return {"url": self.url, "method": self.method, "weight": self.weight, "name": self.name or self.url,
                "expect_status": list(self.expect_status) if self.expect_status else None,
                "headers": dict(self.headers)}

    def describe(self) -> dict[str, Any]:
        """The target as written into the journal: header names only (their values may be credentials)."""
        out = self.to_json()
        out["headers"] = sorted(name for name, _ in self.headers)
        return out


@dataclass(frozen=True)
class LoadSpec:
    """The ``load`` section of the control's arguments."""

    targets: tuple[LoadTarget, ...] = ()
    locustfile: str | None = None
    users: int = 10
    spawn_rate: float = 10.0
    before_s: float = 2.0
    during_s: float = 120.0  # the longest the method (the faults' span) may take; bounds the load's run time
    after_s: float = 2.0
    experiment_share: float = 0.5
    workers: int = 0  # 0: one local Locust process; N: a master and N workers
    wait_s: float = 0.1  # each user's pause between requests
    max_samples: int = 200_000
    seed: int = 0

    @property
    def run_time_s(self) -> float:
        """The bound Locust is started with: it stops by itself after this even if squall is gone."""
        return self.before_s + self.during_s + self.after_s + 30.0

    def describe(self) -> dict[str, Any]:
        """The settings as written into the journal."""
        return {"targets": [t.describe() for t in self.targets], "locustfile": self.locustfile, "users": self.users,
                "spawn_rate": self.spawn_rate, "before_s": self.before_s, "during_s": self.during_s,
                "after_s": self.after_s, "experiment_share": self.experiment_share, "workers": self.workers,
                "wait_s": self.wait_s, "max_samples": self.max_samples}


def _number(key: str, value: Any, low: float, high: float, integer: bool = False) -> float:
    where = "squall control load"
    kind = "an integer" if integer else "a number"
    if (isinstance(value, bool) or not isinstance(value, (int, float)) or (integer and not isinstance(value, int))
            or value != value or not low <= value <= high):
        raise ExperimentInvalid(f"{where}: {key} {value!r} is not valid (expected {kind} from {low:g} to {high:g})")
    return float(value)


def _statuses(where: str, value: Any) -> tuple[int, ...] | None:
    if value is None:
        return None
    items = value if isinstance(value, list) else [value]
    if not items or not all(isinstance(s, int) and not isinstance(s, bool) and 100 <= s <= 599 for s in items):
        raise ExperimentInvalid(f"{where}: expect_status {value!r} is not valid (expected a status code or a list of them)")
    return tuple(items)


def _target(index: int, raw: Any) -> LoadTarget:
    where = f"squall control load.targets[{index}]"
    if isinstance(raw, str):
        raw = {"url": raw}
    if not isinstance(raw, Mapping):
        raise ExperimentInvalid(f"{where} is {type(raw).__name__} (expected a URL or a mapping with url, method, weight)")
    extra = sorted(set(raw) - _TARGET_KEYS)
    if extra:
        raise ExperimentInvalid(f'{where}: unknown key "{extra[0]}" (expected one of: {", ".join(sorted(_TARGET_KEYS))})')
    url = raw.get("url")
    if not isinstance(url, str) or not url.startswith(("http://", "https://")):
        raise ExperimentInvalid(f'{where}: url {url!r} is not an http(s) URL (expected e.g. "http://127.0.0.1:8080/checkout")')
    method = str(raw.get("method", "GET")).upper()
    if method not in _METHODS:
        raise ExperimentInvalid(f'{where}: method "{method}" is not valid (expected one of: {", ".join(sorted(_METHODS))})')
    weight = raw.get("weight", 1)
    if isinstance(weight, bool) or not isinstance(weight, (int, float)) or not 0 < weight <= 1000:
        raise ExperimentInvalid(f"{where}: weight {weight!r} is not valid (expected a number above 0, at most 1000)")
    headers = raw.get("headers") or {}
    if not isinstance(headers, Mapping):
        raise ExperimentInvalid(f"{where}: headers {headers!r} is not valid (expected a mapping of header names to values)")
    return LoadTarget(url=url, method=method, weight=float(weight), expect_status=_statuses(where, raw.get("expect_status")),
                      name=str(raw.get("name") or ""), headers=tuple((str(k), str(v)) for k, v in headers.items()))


def parse(raw: Any) -> LoadSpec:
    """Validate the control's ``load`` argument; raise ExperimentInvalid naming the bad value."""
    if not isinstance(raw, Mapping):
        raise ExperimentInvalid(f"squall control: load {raw!r} is not valid (expected a mapping with targets or a locustfile)")
    extra = sorted(set(raw) - _KEYS)
    if extra:
        raise ExperimentInvalid(f'squall control load: unknown key "{extra[0]}" (expected one of: {", ".join(sorted(_KEYS))})')
    raw_targets = raw.get("targets") or []
    if not isinstance(raw_targets, list):
        raw_targets = [raw_targets]
    targets = tuple(_target(i, t) for i, t in enumerate(raw_targets))
    locustfile = raw.get("locustfile")
    if locustfile is not None:
        if not isinstance(locustfile, str) or not locustfile.endswith(".py"):
            raise ExperimentInvalid(f"squall control load: locustfile {locustfile!r} is not valid (expected the path of a .py file)")
        if not Path(locustfile).is_file():
            raise ExperimentInvalid(f'squall control load: locustfile "{locustfile}" does not exist (expected the path of a .py file)')
    if not targets and locustfile is None:
        raise ExperimentInvalid("squall control load: no targets and no locustfile (expected targets: [URL, ...] or locustfile: path.py)")
    if targets and locustfile is not None:
        raise ExperimentInvalid("squall control load: both targets and a locustfile given (expected one of them)")
    return LoadSpec(
        targets=targets,
        locustfile=str(Path(locustfile).resolve()) if locustfile else None,
        users=int(_number("users", raw.get("users", 10), 1, MAX_USERS, integer=True)),
        spawn_rate=_number("spawn_rate", raw.get("spawn_rate", 10), 0.1, 10_000),
        before_s=_number("before_s", raw.get("before_s", 2), 0, MAX_DURATION_S),
        during_s=_number("during_s", raw.get("during_s", 120), 1, MAX_DURATION_S),
        after_s=_number("after_s", raw.get("after_s", 2), 0, MAX_DURATION_S),
        experiment_share=_number("experiment_share", raw.get("experiment_share", 0.5), 0, 1),
        workers=int(_number("workers", raw.get("workers", 0), 0, MAX_WORKERS, integer=True)),
        wait_s=_number("wait_s", raw.get("wait_s", 0.1), 0, 60),
        max_samples=int(_number("max_samples", raw.get("max_samples", 200_000), 1, MAX_SAMPLES_CAP, integer=True)),
        seed=int(_number("seed", raw.get("seed", 0), 0, 2**31, integer=True)),
    )
