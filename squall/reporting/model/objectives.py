"""What a run's SLIs are judged against, read from the journal: SLO targets, stop thresholds, sampler timeouts."""

from collections.abc import Iterator, Mapping
from typing import Any

from squall.config import SLI_TIMEOUT_S as DEFAULT_TIMEOUT_S
from squall.reporting import formatting as fmt
from squall.reporting.model.reading import as_dict, as_list, num
from squall.reporting.records import Objective

#: squall's SLO probes and their objective arguments (with the functions' defaults, see squall.probes.sli)
SLO_FUNCS = {"meets_slo", "slo_report"}
SLO_DEFAULTS: Mapping[str, float | None] = {"min_success_rate": 0.99, "max_p95_ms": 300.0, "max_p99_ms": None}


def _slo_probes(journal: Mapping[str, Any]) -> Iterator[Mapping[str, Any]]:
    """The arguments of every squall SLO probe of the steady-state hypothesis (as declared and as run)."""
    experiment = as_dict(journal.get("experiment"))
    declared = as_list(as_dict(experiment.get("steady-state-hypothesis")).get("probes"))
    steady = as_dict(journal.get("steady_states"))
    ran = [as_dict(p).get("activity") for key in ("before", "after")
           for p in as_list(as_dict(steady.get(key)).get("probes"))]
    for activity in [*declared, *ran]:
        provider = as_dict(as_dict(activity).get("provider"))
        if str(provider.get("module")) == "squall.probes.sli" and str(provider.get("func")) in SLO_FUNCS:
            yield as_dict(provider.get("arguments"))


def slo_objectives(journal: Mapping[str, Any]) -> list[Objective]:
    """The SLO targets the steady-state hypothesis checks (success rate, p95/p99 latency), once each."""
    out: dict[tuple[str, float, str], Objective] = {}
    for args in _slo_probes(journal):
        values = {k: num(args[k]) if k in args else d for k, d in SLO_DEFAULTS.items()}
        rate, p95, p99 = values["min_success_rate"], values["max_p95_ms"], values["max_p99_ms"]
        if rate is not None and 0 < rate <= 1:
            out.setdefault(("success_rate", rate, ""), Objective("success_rate", rate, f"SLO ≥ {fmt.percent(rate)}", "slo"))
        for name, limit in (("p95", p95), ("p99", p99)):
            if limit is not None and limit > 0:
                label = f"SLO {name} ≤ {fmt.number(limit)} ms"
                out.setdefault(("latency_ms", limit, name), Objective("latency_ms", limit, label, "slo"))
    return list(out.values())


def stop_objectives(ext: Mapping[str, Any]) -> list[Objective]:
    """Stop conditions as success-rate floors: below the line, the control aborts the run."""
    out = []
    for cond in map(as_dict, as_list(ext.get("stop_conditions"))):
        name = str(cond.get("name") or cond.get("kind") or "stop")
        threshold, slo = num(cond.get("threshold")), num(cond.get("slo"))
        where = f" on {cond['target']}" if cond.get("target") else ""
        if cond.get("kind") == "success_rate_below" and threshold is not None and 0 <= threshold <= 1:
            out.append(Objective("success_rate", threshold, f"stop: {name}{where} < {fmt.percent(threshold)}", "stop"))
        elif cond.get("kind") == "burn_rate_above" and threshold is not None and slo is not None and slo < 1:
            floor = 1.0 - threshold * (1.0 - slo)  # burning the error budget N× faster = errors above N × (1 - SLO)
            if 0 <= floor <= 1:
                label = f"stop: {name}{where} burn > {fmt.number(threshold)}× ({fmt.percent(floor)})"
                out.append(Objective("success_rate", floor, label, "stop"))
    return out


def sampler_timeouts(journal: Mapping[str, Any], ext: Mapping[str, Any]) -> dict[str, float]:
    """Per SLI target, the sampler's request timeout in seconds, from the journal or the declared control."""
    found: dict[str, float] = {}
    for target in map(as_dict, as_list(as_dict(ext.get("timeline")).get("targets"))):
        timeout = num(target.get("timeout_s"))
        if timeout is not None and target.get("name"):
            found[str(target["name"])] = timeout
    for control in map(as_dict, as_list(as_dict(journal.get("experiment")).get("controls"))):
        provider = as_dict(control.get("provider"))
        if provider.get("module") != "squall.control":
            continue
        sli = as_dict(provider.get("arguments")).get("sli")
        for i, raw in enumerate(as_list(sli) if not isinstance(sli, Mapping) else [sli]):
            target = as_dict(raw)
            name = str(target.get("name") or f"sli-{i}")
            timeout = num(target.get("timeout_s", DEFAULT_TIMEOUT_S))
            if timeout is not None:
                found.setdefault(name, timeout)
    return found
