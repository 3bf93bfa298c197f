"""The control's arguments (``controls[].provider.arguments``), validated before anything is injected."""

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal, get_args

from squall import config
from squall.errors import ExperimentInvalid
from squall.load.spec import LoadSpec
from squall.load.spec import parse as parse_load
from squall.telemetry.tracing_config import TracingSettings, parse_tracing

StopKind = Literal["success_rate_below", "burn_rate_above"]
STOP_KINDS: tuple[str, ...] = get_args(StopKind)

#: hard cap on timeline samples kept per run, whatever the arguments say
MAX_SAMPLES_CAP = 200_000
MIN_INTERVAL_S = 0.05
DEFAULT_TIMEOUT_S = config.SLI_TIMEOUT_S

_SLI_KEYS = {"name", "url", "method", "interval_s", "timeout_s", "expect_status", "headers"}
#: an SLI read from Prometheus (``source: prometheus``): PromQL instead of requests to the service
_PROMETHEUS_SLI_KEYS = {"name", "source", "url", "success_ratio", "latency_ms", "window_s", "objective", "interval_s",
                        "timeout_s"}
SliSource = Literal["http", "prometheus"]
_STOP_KEYS = {"name", "kind", "threshold", "for_s", "slo", "window_s", "target", "min_samples"}
_TOP_KEYS = {"sli", "stop_conditions", "report", "report_dir", "max_samples", "check_traffic", "load", "tracing"}


@dataclass(frozen=True)
class SliTarget:
    """One SLI sampled for the whole run."""

    name: str
    url: str
    method: str = "GET"
    interval_s: float = 1.0
    timeout_s: float = DEFAULT_TIMEOUT_S
    expect_status: int | tuple[int, ...] | None = None
    headers: Mapping[str, str] = field(default_factory=dict)
    source: SliSource = "http"
    #: prometheus: PromQL for the success ratio (0..1) and a latency in ms; ``{window}`` becomes ``window_s``
    success_ratio: str | None = None
    latency_ms: str | None = None
    window_s: float = 30.0
    objective: float = 0.99  # prometheus: a sample is ok when its success ratio is at least this

    def promql(self, expression: str, window_s: float | None = None) -> str:
        """``expression`` with ``{window}`` replaced by a PromQL duration (``window_s`` or the target's)."""
        ms = round((self.window_s if window_s is None else window_s) * 1000)
        return expression.replace("{window}", f"{ms // 1000}s" if ms % 1000 == 0 else f"{ms}ms")


@dataclass(frozen=True)
class StopCondition:
    """A condition on the timeline that aborts the method when it holds."""

    name: str
    kind: StopKind
    threshold: float
    window_s: float  # for_s of success_rate_below, window_s of burn_rate_above
    slo: float | None = None
    target: str | None = None  # None: every SLI target together
    min_samples: int = 3

    def describe(self) -> dict[str, Any]:
        """The condition as written into the journal."""
        out: dict[str, Any] = {"name": self.name, "kind": self.kind, "threshold": self.threshold}
        if self.kind == "success_rate_below":
            out["for_s"] = self.window_s
        else:
            out["slo"] = self.slo
            out["window_s"] = self.window_s
        if self.target:
            out["target"] = self.target
        return out


@dataclass(frozen=True)
class ControlSettings:
    """Everything the control was asked to do."""

    sli: tuple[SliTarget, ...] = ()
    stop_conditions: tuple[StopCondition, ...] = ()
    report: bool = True
    report_dir: str | None = None
    max_samples: int = 20_000
    check_traffic: bool = True
    load: LoadSpec | None = None  # Locust traffic for the whole method (squall.load)
    tracing: TracingSettings = field(default_factory=TracingSettings)  # OpenTelemetry spans (squall.telemetry)


def _number(where: str, key: str, value: Any, low: float, high: float | None = None) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value < low or (high is not None and value > high):
        bound = f"from {low:g} to {high:g}" if high is not None else f">= {low:g}"
        raise ExperimentInvalid(f"{where}: {key} {value!r} is not valid (expected a number {bound})")
    return float(value)


def _unknown(where: str, given: Mapping[str, Any], allowed: set[str]) -> None:
    extra = sorted(set(given) - allowed)
    if extra:
        raise ExperimentInvalid(f'{where}: unknown key "{extra[0]}" (expected one of: {", ".join(sorted(allowed))})')


def _sli(index: int, raw: Any) -> SliTarget:
    where = f"squall control sli[{index}]"
    if not isinstance(raw, Mapping):
        raise ExperimentInvalid(f"{where} is {type(raw).__name__} (expected a mapping with name and url)")
    if raw.get("source", "http") == "prometheus":
        return _prometheus_sli(where, index, raw)
    if raw.get("source", "http") != "http":
        raise ExperimentInvalid(f'{where}: source "{raw.get("source")}" is not valid (expected http or prometheus)')
    _unknown(where, raw, _SLI_KEYS | {"source"})
    url = raw.get("url")
    if not isinstance(url, str) or not url.startswith(("http://", "https://")):
        raise ExperimentInvalid(f'{where}: url "{url}" is not an http(s) URL (expected e.g. "http://127.0.0.1:8080/health")')
    name = str(raw.get("name") or f"sli-{index}")
    interval = _number(where, "interval_s", raw.get("interval_s", 1.0), MIN_INTERVAL_S, 3600)
    # one request in flight per target, ticks missed while it hangs are skipped: a timeout
    # longer than the interval slows sampling down, it never piles requests up
    timeout = _number(where, "timeout_s", raw.get("timeout_s", DEFAULT_TIMEOUT_S), 0.01, 60)
    expect = raw.get("expect_status")
    if isinstance(expect, list):
        expect = tuple(expect)
    if expect is not None and not (
        isinstance(expect, int) or (isinstance(expect, tuple) and all(isinstance(s, int) for s in expect))
    ):
        raise ExperimentInvalid(f"{where}: expect_status {expect!r} is not valid (expected a status code or a list of them)")
    headers = raw.get("headers") or {}
    if not isinstance(headers, Mapping):
        raise ExperimentInvalid(f"{where}: headers {headers!r} is not valid (expected a mapping of header names to values)")
    return SliTarget(
        name=name,
        url=url,
        method=str(raw.get("method", "GET")).upper(),
        interval_s=interval,
        timeout_s=timeout,
        expect_status=expect,
        headers={str(k): str(v) for k, v in headers.items()},
    )


def _prometheus_sli(where: str, index: int, raw: Mapping[str, Any]) -> SliTarget:
    """``{name, source: prometheus, url, success_ratio, latency_ms, window_s, objective, interval_s, timeout_s}``."""
    _unknown(where, raw, _PROMETHEUS_SLI_KEYS)
    url = raw.get("url")
    if not isinstance(url, str) or not url.startswith(("http://", "https://")):
        raise ExperimentInvalid(f'{where}: url "{url}" is not an http(s) URL (expected the Prometheus server, '
                                f'e.g. "http://127.0.0.1:9090")')
    queries = {}
    for key in ("success_ratio", "latency_ms"):
        value = raw.get(key)
        if value is not None and (not isinstance(value, str) or not value.strip()):
            raise ExperimentInvalid(f"{where}: {key} {value!r} is not valid (expected a PromQL expression)")
        queries[key] = value
    if queries["success_ratio"] is None:
        raise ExperimentInvalid(f"{where}: a prometheus SLI needs success_ratio (expected a PromQL expression giving "
                                f"0..1, e.g. sum(rate(http_requests_total{{code!~\"5..\"}}[{{window}}])) / "
                                f"sum(rate(http_requests_total[{{window}}])))")
    interval = _number(where, "interval_s", raw.get("interval_s", 1.0), MIN_INTERVAL_S, 3600)
    return SliTarget(
        name=str(raw.get("name") or f"sli-{index}"),
        url=url.rstrip("/"),
        interval_s=interval,
        timeout_s=_number(where, "timeout_s", raw.get("timeout_s", DEFAULT_TIMEOUT_S), 0.01, 60),
        source="prometheus",
        success_ratio=queries["success_ratio"],
        latency_ms=queries["latency_ms"],
        window_s=_number(where, "window_s", raw.get("window_s", 30.0), 0.001, 86400),
        objective=_number(where, "objective", raw.get("objective", 0.99), 0.0, 1.0),
    )


def _stop(index: int, raw: Any, targets: Sequence[str]) -> StopCondition:
    where = f"squall control stop_conditions[{index}]"
    if not isinstance(raw, Mapping):
        raise ExperimentInvalid(f"{where} is {type(raw).__name__} (expected a mapping with name, kind and threshold)")
    _unknown(where, raw, _STOP_KEYS)
    kind = raw.get("kind")
    if kind not in STOP_KINDS:
        raise ExperimentInvalid(f'{where}: unknown kind "{kind}" (expected one of: {", ".join(STOP_KINDS)})')
    name = str(raw.get("name") or f"{kind}-{index}")
    target = raw.get("target")
    if target is not None and target not in targets:
        raise ExperimentInvalid(f'{where}: target "{target}" is not an SLI of this control (expected one of: {", ".join(targets) or "none declared"})')
    if not targets:
        raise ExperimentInvalid(f"{where}: a stop condition needs at least one sli target to watch")
    min_samples = int(_number(where, "min_samples", raw.get("min_samples", 3), 1))
    if kind == "success_rate_below":
        return StopCondition(
            name=name,
            kind="success_rate_below",
            threshold=_number(where, "threshold", raw.get("threshold"), 0.0, 1.0),
            window_s=_number(where, "for_s", raw.get("for_s", 10.0), 0.0),
            target=target,
            min_samples=min_samples,
        )
    slo = _number(where, "slo", raw.get("slo"), 0.0, 1.0)
    if slo >= 1.0:
        raise ExperimentInvalid(f"{where}: slo {slo!r} leaves no error budget (expected a number below 1, e.g. 0.99)")
    return StopCondition(
        name=name,
        kind="burn_rate_above",
        threshold=_number(where, "threshold", raw.get("threshold"), 0.0),
        window_s=_number(where, "window_s", raw.get("window_s", 30.0), 0.0),
        slo=slo,
        target=target,
        min_samples=min_samples,
    )


def parse(arguments: Mapping[str, Any]) -> ControlSettings:
    """Validate the control's arguments; raise ExperimentInvalid naming the bad value."""
    _unknown("squall control arguments", arguments, _TOP_KEYS)
    raw_sli = arguments.get("sli") or []
    if isinstance(raw_sli, Mapping):
        raw_sli = [raw_sli]
    if not isinstance(raw_sli, list):
        raise ExperimentInvalid(f"squall control: sli {raw_sli!r} is not valid (expected a list of targets)")
    sli = tuple(_sli(i, raw) for i, raw in enumerate(raw_sli))
    names = [t.name for t in sli]
    if len(set(names)) != len(names):
        raise ExperimentInvalid(f"squall control: sli names {names} are not unique (expected one name per target)")
    raw_stop = arguments.get("stop_conditions") or []
    if not isinstance(raw_stop, list):
        raise ExperimentInvalid(f"squall control: stop_conditions {raw_stop!r} is not valid (expected a list)")
    stops = tuple(_stop(i, raw, names) for i, raw in enumerate(raw_stop))
    report = arguments.get("report", True)
    if not isinstance(report, bool):
        raise ExperimentInvalid(f"squall control: report {report!r} is not valid (expected true or false)")
    max_samples = int(_number("squall control", "max_samples", arguments.get("max_samples", 20_000), 1, MAX_SAMPLES_CAP))
    report_dir = arguments.get("report_dir")
    return ControlSettings(
        sli=sli,
        stop_conditions=stops,
        report=report,
        report_dir=str(report_dir) if report_dir else None,
        max_samples=max_samples,
        check_traffic=bool(arguments.get("check_traffic", True)),
        load=parse_load(arguments["load"]) if arguments.get("load") is not None else None,
        tracing=parse_tracing(arguments.get("tracing")),
    )
