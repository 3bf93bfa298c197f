"""Property tests: compare never raises on valid input, and its verdicts keep their order."""

import json
import os

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from squall.statistics import Comparison, Effect, Sample, compare

#: more examples in a long local run: SQUALL_HYPOTHESIS_RANDOM=1 SQUALL_HYPOTHESIS_EXAMPLES=3000
EXAMPLES = int(os.environ.get("SQUALL_HYPOTHESIS_EXAMPLES", "100"))
_SEVERITY = {"passed": 0, "inconclusive": 1, "failed": 2}

latencies = st.one_of(
    st.floats(min_value=0.0, max_value=60_000.0, allow_nan=False, allow_infinity=False),
    st.sampled_from([0.0, 1.0, 5.0, 100.0]),  # ties, as rounded timers give
)
requests = st.lists(st.tuples(st.booleans(), latencies), max_size=250)
margins = st.one_of(st.none(), st.floats(min_value=0.0, max_value=0.99))
increases = st.one_of(st.none(), st.floats(min_value=0.0, max_value=10_000.0))
quantile_sets = st.lists(st.sampled_from([0.5, 0.9, 0.95, 0.99, 0.999]), min_size=1, max_size=3, unique=True)
confidences = st.floats(min_value=0.5, max_value=0.999)


def _sample(pairs: list[tuple[bool, float]]) -> Sample:
    return Sample(ok=[ok for ok, _ in pairs], latency_ms=[latency for _, latency in pairs])


def _consistent(effect: Effect) -> None:
    assert effect.verdict in _SEVERITY
    assert effect.low <= effect.high
    latency = effect.name != "success_ratio"
    if effect.verdict == "passed":
        assert (effect.high <= effect.limit) if latency else (effect.low >= effect.limit)
    elif effect.verdict == "failed":
        assert (effect.low > effect.limit) if latency else (effect.high < effect.limit)
    if effect.verdict != "inconclusive":
        assert effect.needed_per_group is None


def _check(result: Comparison) -> None:
    worst = max((_SEVERITY[e.verdict] for e in result.effects), default=0)
    assert _SEVERITY[result.verdict] == worst
    for effect in result.effects:
        _consistent(effect)
    if result.verdict != "inconclusive":
        assert result.needed_per_group is None
    elif result.needed_per_group is not None:
        assert result.needed_per_group > min(result.n_control, result.n_experiment)
    assert result.sentence.startswith(result.verdict.capitalize())
    json.dumps(result.to_json(), allow_nan=False)


@settings(max_examples=EXAMPLES, suppress_health_check=[HealthCheck.too_slow])
@given(control=requests, experiment=requests, max_drop=margins, max_increase_ms=increases,
       quantiles=quantile_sets, confidence=confidences, seed=st.integers(min_value=0, max_value=2**32))
def test_prop_compare_never_raises_on_valid_input_and_its_verdict_is_the_worst_figure(
        control: list[tuple[bool, float]], experiment: list[tuple[bool, float]], max_drop: float | None,
        max_increase_ms: float | None, quantiles: list[float], confidence: float, seed: int) -> None:
    if max_drop is None and max_increase_ms is None:
        max_drop = 0.01
    result = compare(_sample(control), _sample(experiment), max_drop=max_drop, max_increase_ms=max_increase_ms,
                     quantiles=quantiles, confidence=confidence, seed=seed, resamples=200)
    _check(result)
    assert (result.n_control, result.n_experiment) == (len(control), len(experiment))


@settings(max_examples=EXAMPLES, suppress_health_check=[HealthCheck.too_slow])
@given(control=requests, experiment=requests, max_drop=st.floats(min_value=0.0, max_value=0.5),
       max_increase_ms=st.floats(min_value=0.0, max_value=500.0), looser=st.floats(min_value=0.0, max_value=0.49),
       more_ms=st.floats(min_value=0.0, max_value=500.0), seed=st.integers(min_value=0, max_value=1000))
def test_prop_a_looser_margin_never_makes_a_verdict_worse(
        control: list[tuple[bool, float]], experiment: list[tuple[bool, float]], max_drop: float,
        max_increase_ms: float, looser: float, more_ms: float, seed: int) -> None:
    strict = compare(_sample(control), _sample(experiment), max_drop=max_drop, max_increase_ms=max_increase_ms,
                     seed=seed, resamples=200)
    loose = compare(_sample(control), _sample(experiment), max_drop=max_drop + looser,
                    max_increase_ms=max_increase_ms + more_ms, seed=seed, resamples=200)
    assert _SEVERITY[loose.verdict] <= _SEVERITY[strict.verdict]
    for a, b in zip(strict.effects, loose.effects, strict=True):
        assert _SEVERITY[b.verdict] <= _SEVERITY[a.verdict]


@settings(max_examples=EXAMPLES, suppress_health_check=[HealthCheck.too_slow])
@given(control=requests, experiment=requests, delay=st.floats(min_value=1.0, max_value=1000.0),
       seed=st.integers(min_value=0, max_value=1000))
def test_prop_a_slower_experiment_group_never_gets_a_better_latency_verdict(
        control: list[tuple[bool, float]], experiment: list[tuple[bool, float]], delay: float, seed: int) -> None:
    slower = [(ok, latency + delay) for ok, latency in experiment]
    before = compare(_sample(control), _sample(experiment), max_drop=None, max_increase_ms=20.0, seed=seed,
                     resamples=200)
    after = compare(_sample(control), _sample(slower), max_drop=None, max_increase_ms=20.0, seed=seed,
                    resamples=200)
    for a, b in zip(before.effects, after.effects, strict=True):
        assert _SEVERITY[b.verdict] >= _SEVERITY[a.verdict]
