"""Journal -> report model: the one place that reads Chaos Toolkit journals.

Works with a journal written with squall's control (``extensions`` holds the
``squall`` entry described in docs/internals.md), a plain Chaos Toolkit
journal, an older one, or one of a run that crashed halfway (entries without
status or end, keys missing): it never raises, it notes what it could not know.
Every string leaving this module is masked (see ``squall.reporting.masking``).
"""

import platform
from collections.abc import Iterable, Mapping
from dataclasses import replace
from importlib import metadata
from typing import Any

from squall import __version__
from squall.outcome import from_journal
from squall.reporting import formatting as fmt
from squall.reporting import timeline as tl
from squall.reporting.loadview import load_view
from squall.reporting.masking import MASK, Masker, from_experiment, is_secret_entry
from squall.reporting.model.activities import activities_of
from squall.reporting.model.checks import checks_of
from squall.reporting.model.kills import kill_windows
from squall.reporting.model.objectives import sampler_timeouts, slo_objectives, stop_objectives
from squall.reporting.model.reading import as_dict, as_list, bounded, extension, num, slug, ts
from squall.reporting.model.traces import link_traces, run_trace
from squall.reporting.records import (
    CheckKind,
    CleanupItem,
    FaultWindow,
    Phase,
    Report,
    StopEvent,
    Verdict,
)

__all__ = ["CheckKind", "Report", "Verdict", "build", "extension", "slug"]


def _sample(row: Any, masker: Masker) -> tl.Sample | None:
    """One timeline row ``[t, target, ok, status, latency_ms, error]`` read carefully, or None when unusable.

    A Prometheus row has a 7th field, its success ratio: the sample counts as that ratio.
    """
    if not isinstance(row, (list, tuple)) or len(row) < 3:
        return None
    t = num(row[0])
    if t is None:
        return None
    n = len(row)
    status = row[3] if n > 3 and type(row[3]) is int else None
    latency = num(row[4]) if n > 4 else None
    error = masker.text(str(row[5])) if n > 5 and row[5] not in (None, "") else None
    ratio = num(row[6]) if n > 6 else None
    ok: bool | float = min(1.0, max(0.0, ratio)) if ratio is not None else bool(row[2])
    return (t, masker.text(str(row[1])), ok, status, latency, error)


def _well_formed(row: Any) -> bool:
    return (type(row) is list and len(row) == 6 and type(row[0]) is float and type(row[1]) is str
            and (row[3] is None or type(row[3]) is int) and (row[4] is None or type(row[4]) is float)
            and (row[5] is None or type(row[5]) is str))


def _timeline(journal: Mapping[str, Any], ext: Mapping[str, Any], windows: list[FaultWindow],
              masker: Masker) -> tl.Timeline | None:
    data = as_dict(ext.get("timeline"))
    rows = as_list(data.get("samples"))
    # The control's rows are well formed: read them in one pass (a long run has 100,000), masking each
    # distinct target and error once; anything else goes through the careful reader.
    good = [r for r in rows if _well_formed(r)]
    texts = {v: masker.text(v) for v in {r[1] for r in good} | {r[5] for r in good if r[5]}}
    samples: list[tl.Sample] = [(r[0], texts[r[1]], bool(r[2]), r[3], r[4], texts[r[5]] if r[5] else None)
                                for r in good]
    if len(good) < len(rows):
        samples += [s for r in rows if not _well_formed(r) and (s := _sample(r, masker)) is not None]
    timeouts = {masker.text(k): v for k, v in sampler_timeouts(journal, ext).items()}
    built = tl.build(samples, [(w.start, w.end) for w in windows if w.start is not None],
                     interval_s=num(data.get("interval_s")), timeouts_s=timeouts)
    if built is not None:  # verifiers' holds on the sampling: [start, end, reason]
        built.pauses = _pauses(ext, masker)
    return built


def _pauses(ext: Mapping[str, Any], masker: Masker) -> list[tuple[float, float, str]]:
    """Verifiers' holds on the SLI sampling, ``[start, end, reason]`` in the journal."""
    data = as_dict(ext.get("timeline"))
    return [(a, b, masker.text(str(p[2]) if len(p) > 2 else "paused"))
            for p in as_list(data.get("pauses"))[:1000] if isinstance(p, list) and len(p) >= 2
            and (a := num(p[0])) is not None and (b := num(p[1])) is not None and b >= a]


def _version(dist: str) -> str:
    try:
        return metadata.version(dist)
    except metadata.PackageNotFoundError:
        return "not installed"


def _environment(journal: Mapping[str, Any], ext: Mapping[str, Any]) -> list[tuple[str, str]]:
    now = " (at report time; not recorded in the journal)"
    env = [
        ("squall", str(ext.get("squall_version") or f"{__version__}{now}")),
        ("chaostoolkit", str(ext.get("chaostoolkit_version") or f"{_version('chaostoolkit')}{now}")),
        ("chaostoolkit-lib", str(journal.get("chaoslib-version") or ext.get("chaostoolkit_lib_version")
                                 or "not recorded")),
        ("python", str(ext.get("python_version") or f"{platform.python_version()}{now}")),
    ]
    for key, label in (("platform", "platform"), ("node", "node")):
        if journal.get(key):
            env.append((label, str(journal[key])))
    return env


def _settings(experiment: Mapping[str, Any], masker: Masker,
              used: Mapping[str, Any]) -> tuple[list[tuple[str, str]], list[tuple[str, str]]]:
    """Configuration rows (the value used where the control recorded it; a secret never, nor its env default)."""
    config = []
    for key, value in as_dict(experiment.get("configuration")).items():
        secret = is_secret_entry(key, value)
        if isinstance(value, Mapping) and value.get("type") == "env":
            origin = f"(from environment variable {masker.text(str(value.get('key')))})"
            if secret:
                text = f"{MASK} {origin}"
            elif key in used:
                text = f"{fmt.compact(masker.value(used[key], key), 400)} {origin}"
            else:
                text = f"from environment variable {masker.text(str(value.get('key')))}"
                if "default" in value:
                    text += f" (default {fmt.compact(masker.value(value['default']))}; the value used is not recorded)"
        else:
            text = MASK if secret else fmt.compact(masker.value(used.get(key, value), key), 400)
        config.append((str(key), text))
    secrets = []
    for scope, values in as_dict(experiment.get("secrets")).items():
        for key, value in as_dict(values).items():
            source = as_dict(value)
            where = f" (from {source.get('type')} {source.get('key') or source.get('path') or ''})".rstrip() \
                if source.get("type") in ("env", "vault") else ""
            secrets.append((f"{scope}.{key}", f"[masked]{masker.text(where)}"))
    return config, secrets


def build(journal: Any, extra_patterns: Iterable[str] = ()) -> Report:
    """Read a journal (any shape) into a masked, formatted report model; never raises."""
    try:
        return _build(journal, extra_patterns)
    except RecursionError:
        # A journal in memory may nest deeper than Python can show (a file is held to squall.loader's depth
        # limit): read a copy cut at MAX_DEPTH levels; a check for depth on every journal would slow every report.
        return _build(bounded(journal), extra_patterns)


def _build(journal: Any, extra_patterns: Iterable[str]) -> Report:
    journal = as_dict(journal)
    ext = extension(journal)
    experiment = as_dict(journal.get("experiment"))
    masked_names = [str(n) for n in as_list(ext.get("secrets_masked"))]
    masked_names += [n.rsplit(".", 1)[-1] for n in masked_names]  # the control writes scope.key
    masker = from_experiment(experiment, masked_names, extra_patterns)
    notes: list[str] = []
    title = masker.text(str(experiment.get("title") or "Untitled experiment"))
    started = num(ext.get("started")) or ts(journal.get("start"))
    ended = num(ext.get("ended")) or ts(journal.get("end"))
    windows = [
        FaultWindow(
            description=masker.text(str(w.get("description") or w.get("kind") or "fault")),
            kind=str(w.get("kind") or ""),
            start=num(w.get("start")),
            end=num(w.get("end")),
            outcome=masker.text(str(w.get("outcome") or ("still active" if w.get("end") is None else ""))),
        )
        for w in map(as_dict, as_list(ext.get("fault_windows")))
    ]
    windows += kill_windows(journal, masker, windows) if ext else []
    report = Report(
        title=title,
        slug=slug(title),
        description=masker.text(str(experiment.get("description") or "")),
        verdict=Verdict.INCONCLUSIVE,
        reason="",
        source="squall control" if ext else "Chaos Toolkit journal (without squall's control)",
        score=num(ext.get("score")),
        run_id=masker.text(str(ext.get("run_id") or "")),
        started=started,
        ended=ended,
        checks=checks_of(journal, ext, masker, started),
        activities=activities_of(journal, masker),
        fault_windows=windows,
        stop_conditions=[masker.text(fmt.stop_condition(c)) for c in as_list(ext.get("stop_conditions"))],
        stop_events=[
            StopEvent(num(e.get("t")), masker.text(str(e.get("condition") or "")), masker.text(str(e.get("reason") or "")))
            for e in map(as_dict, as_list(ext.get("stop_events")))
        ],
        cleanup=[
            CleanupItem(masker.text(str(c.get("description") or "")), bool(c.get("removed")),
                        masker.text(str(c.get("message") or "")))
            for c in map(as_dict, as_list(ext.get("cleanup")))
        ],
        phases=[Phase(str(p.get("name") or ""), num(p.get("start")), num(p.get("end")))
                for p in map(as_dict, as_list(ext.get("phases")))],
        faults_observed=[
            (masker.text(str(f.get("fault") or "")), "yes" if f.get("injected") else "no",
             fmt.scalar(f.get("observed_traffic")) if f.get("observed_traffic") is not None else "not measurable")
            for f in map(as_dict, as_list(ext.get("faults_observed")))
        ],
        environment=_environment(journal, ext),
        notes=notes,
    )
    report.configuration, report.secrets = _settings(experiment, masker, as_dict(ext.get("configuration")))
    report.pauses = _pauses(ext, masker)  # shown even when a hold left no sample at all
    report.timeline = _timeline(journal, ext, windows, masker)
    report.load = load_view(ext, [as_dict(c) for c in as_list(ext.get("checks"))], masker.text)
    report.objectives = [replace(o, label=masker.text(o.label))
                         for o in [*slo_objectives(journal), *stop_objectives(ext)]]
    report.fragile = ext.get("fragile") is True
    report.trace_id, report.trace_url, template = run_trace(ext)  # tracing on: the run's trace, viewer links
    report.checks = link_traces(report.checks, template)
    if not ext:
        notes.append("This journal has no squall control data: no SLI timeline, fault windows or "
                     "cleanup record. Add the squall.control control to the experiment to record them.")
    if not journal.get("status") or not journal.get("end"):
        notes.append("The journal has no final status or end time: the run stopped halfway "
                     "(crashed or was killed); what is shown is what it recorded before stopping.")
    declared = len(as_list(experiment.get("method")))
    ran = len(as_list(journal.get("run")))
    if experiment and ran < declared and not journal.get("end"):
        notes.append(f"{declared - ran} of {declared} method activities never ran.")
    record = from_journal(journal)  # the one reader and verdict every consumer shares
    report.verdict, report.score = record.verdict, record.score
    report.reason = masker.text(record.reason)
    report.warnings = list(masker.slow.values())  # every text is masked by now: the list is complete
    notes.extend(report.warnings)
    return report
