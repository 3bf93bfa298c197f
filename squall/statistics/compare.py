"""compare(): is the experiment group no worse than the control group, within margins, at a confidence?"""

import math
import warnings
from collections.abc import Sequence

import numpy as np
from scipy import stats

from squall.statistics.model import Comparison, Effect, Sample, worst
from squall.statistics.quantiles import quantile_effect
from squall.statistics.ratio import ratio_effect
from squall.statistics.sentence import sentence

#: the power ``needed_per_group`` plans for: the share of repeated runs at that size that would settle
PLANNING_POWER = 0.8

_MAX_RESAMPLES = 1_000_000


def compare(control: Sample, experiment: Sample, *, max_drop: float | None = 0.01,
            max_increase_ms: float | None = 50.0, quantiles: Sequence[float] = (0.95, 0.99),
            confidence: float = 0.95, seed: int = 0, resamples: int = 2000) -> Comparison:
    """A non-inferiority comparison of the experiment group against the control group.

    Each figure (the success ratio, and each latency quantile when
    ``max_increase_ms`` is not None) gets the interval of its difference
    (experiment - control) at ``confidence`` and a verdict against its margin:
    **passed** when the whole interval is within the margin (success ratio: low
    >= -max_drop; latency: high <= max_increase_ms), **failed** when the whole
    interval is beyond it, **inconclusive** when the interval straddles it or a
    group has fewer requests than the figure's minimum. The comparison is failed
    if any figure failed, else inconclusive if any is, else passed.
    ``max_drop=None`` leaves out the success ratio. Deterministic given ``seed``.

    Raises ValueError naming the argument and what was expected for bad input.
    """
    ok_c, latency_c = _arrays("control", control)
    ok_e, latency_e = _arrays("experiment", experiment)
    _check_arguments(max_drop, max_increase_ms, quantiles, confidence, seed, resamples)
    confidence = float(confidence)
    effects: list[Effect] = []
    if max_drop is not None:
        effects.append(ratio_effect(ok_c, ok_e, max_drop=float(max_drop), confidence=confidence,
                                    power=PLANNING_POWER))
    if max_increase_ms is not None:
        rng = np.random.default_rng(seed)
        sorted_c, sorted_e = np.sort(latency_c), np.sort(latency_e)
        for q in quantiles:
            effects.append(quantile_effect(sorted_c, sorted_e, float(q), max_increase_ms=float(max_increase_ms),
                                           confidence=confidence, power=PLANNING_POWER, rng=rng,
                                           resamples=resamples))
    verdict = worst([effect.verdict for effect in effects])
    needed = _needed(effects) if verdict == "inconclusive" else None
    n_c, n_e = int(ok_c.size), int(ok_e.size)
    return Comparison(verdict=verdict, sentence=sentence(verdict, effects, n_c, n_e, confidence, needed),
                      effects=tuple(effects), n_control=n_c, n_experiment=n_e, confidence=confidence,
                      mann_whitney_p=_mann_whitney(latency_c, latency_e), needed_per_group=needed)


def _needed(effects: Sequence[Effect]) -> int | None:
    """Requests per group that would settle an inconclusive comparison.

    A figure that leans towards failing (its estimate is already beyond the
    margin) settles the whole comparison as soon as it fails, so the smallest
    such figure's number is enough; otherwise every inconclusive figure has to
    pass, so the largest number is needed. None when a figure that has to
    settle has no practical number.
    """
    open_ = [e for e in effects if e.verdict == "inconclusive"]
    leaning = [e for e in open_ if _beyond(e) and e.needed_per_group is not None]
    if leaning:
        return min(e.needed_per_group for e in leaning if e.needed_per_group is not None)
    numbers = [e.needed_per_group for e in open_]
    if any(number is None for number in numbers):
        return None
    return max(number for number in numbers if number is not None)


def _beyond(effect: Effect) -> bool:
    if effect.name == "success_ratio":
        return effect.difference < effect.limit
    return effect.difference > effect.limit


def _mann_whitney(latency_c: np.ndarray, latency_e: np.ndarray) -> float | None:
    if latency_c.size == 0 or latency_e.size == 0:
        return None
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        result = stats.mannwhitneyu(latency_e, latency_c, alternative="two-sided")
    p = float(result.pvalue)
    return p if math.isfinite(p) else None


def _arrays(group: str, sample: Sample) -> tuple[np.ndarray, np.ndarray]:
    if not isinstance(sample, Sample):
        raise ValueError(f"{group} must be a squall.statistics.Sample, got {type(sample).__name__}")
    try:
        ok = np.asarray(sample.ok)
        latency = np.asarray(sample.latency_ms, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"{group}.latency_ms must be a sequence of numbers (milliseconds): {exc}") from None
    if ok.ndim != 1 or latency.ndim != 1:
        raise ValueError(f"{group}.ok and {group}.latency_ms must be flat sequences, one value per request")
    if ok.size and ok.dtype != np.bool_:
        raise ValueError(f"{group}.ok must hold True or False per request, got values of type {ok.dtype}")
    ok = ok.astype(np.bool_, copy=False)
    if ok.size != latency.size:
        raise ValueError(f"{group}.latency_ms has {latency.size} values but {group}.ok has {ok.size} "
                         "(expected one latency per request, successes and failures alike)")
    bad = np.flatnonzero(~np.isfinite(latency) | (latency < 0))
    if bad.size:
        raise ValueError(f"{group}.latency_ms[{int(bad[0])}] is {float(latency[bad[0]])!r} "
                         "(expected a finite number of milliseconds >= 0)")
    return ok, latency


def _check_arguments(max_drop: float | None, max_increase_ms: float | None, quantiles: Sequence[float],
                     confidence: float, seed: int, resamples: int) -> None:
    if not _number(confidence) or not 0 < confidence < 1:
        raise ValueError(f"confidence must be a number strictly between 0 and 1 (e.g. 0.95), got {confidence!r}")
    if max_drop is not None and (not _number(max_drop) or not 0 <= max_drop < 1):
        raise ValueError(f"max_drop must be a share of requests from 0 up to (not including) 1 (e.g. 0.01), "
                         f"got {max_drop!r}")
    if max_increase_ms is not None and (not _number(max_increase_ms) or not 0 <= max_increase_ms < math.inf):
        raise ValueError(f"max_increase_ms must be a finite number of milliseconds >= 0 (or None), "
                         f"got {max_increase_ms!r}")
    if max_drop is None and max_increase_ms is None:
        raise ValueError("max_drop and max_increase_ms are both None: nothing to compare (give at least one margin)")
    if max_increase_ms is not None:
        if isinstance(quantiles, str | bytes) or not isinstance(quantiles, Sequence) or not quantiles:
            raise ValueError(f"quantiles must be a non-empty sequence of shares such as (0.95, 0.99), "
                             f"got {quantiles!r}")
        for q in quantiles:
            if not _number(q) or not 0 < q < 1:
                raise ValueError(f"quantiles must each be strictly between 0 and 1 (0.95 for p95), got {q!r}")
        if len(set(quantiles)) != len(quantiles):
            raise ValueError(f"quantiles must not repeat a value, got {list(quantiles)!r}")
    if not isinstance(seed, int | np.integer) or isinstance(seed, bool) or seed < 0:
        raise ValueError(f"seed must be a whole number >= 0, got {seed!r}")
    if not isinstance(resamples, int | np.integer) or isinstance(resamples, bool) \
            or not 100 <= resamples <= _MAX_RESAMPLES:
        raise ValueError(f"resamples must be a whole number from 100 to {_MAX_RESAMPLES:,}, got {resamples!r}")


def _number(value: object) -> bool:
    return isinstance(value, int | float | np.integer | np.floating) and not isinstance(value, bool) \
        and math.isfinite(float(value))
