"""Bad input is refused with a ValueError naming the argument and what was expected."""

import math
from typing import Any

import pytest

from squall.statistics import Sample, compare, quantile_variance, sample_size

GOOD = Sample(ok=[True, False, True], latency_ms=[10.0, 20.0, 30.0])


@pytest.mark.parametrize(("kwargs", "named"), [
    ({"confidence": 1.0}, "confidence must be a number strictly between 0 and 1"),
    ({"confidence": 0}, "confidence must be"),
    ({"confidence": math.nan}, "confidence must be"),
    ({"confidence": True}, "confidence must be"),
    ({"max_drop": -0.01}, "max_drop must be a share"),
    ({"max_drop": 1.5}, "max_drop must be a share"),
    ({"max_increase_ms": -5.0}, "max_increase_ms must be a finite number of milliseconds >= 0"),
    ({"max_increase_ms": math.inf}, "max_increase_ms must be"),
    ({"max_drop": None, "max_increase_ms": None}, "nothing to compare"),
    ({"quantiles": ()}, "quantiles must be a non-empty sequence"),
    ({"quantiles": "0.95"}, "quantiles must be a non-empty sequence"),
    ({"quantiles": (95,)}, "quantiles must each be strictly between 0 and 1"),
    ({"quantiles": (0.95, 0.95)}, "quantiles must not repeat"),
    ({"seed": -1}, "seed must be a whole number >= 0"),
    ({"seed": 1.5}, "seed must be"),
    ({"resamples": 10}, "resamples must be a whole number from 100"),
])
def test_bad_arguments_are_named(kwargs: dict[str, Any], named: str) -> None:
    with pytest.raises(ValueError, match=named.replace("(", r"\(")):
        compare(GOOD, GOOD, **kwargs)


@pytest.mark.parametrize(("experiment", "named"), [
    (Sample(ok=[True, True], latency_ms=[1.0]), "experiment.latency_ms has 1 values but experiment.ok has 2"),
    (Sample(ok=[True], latency_ms=[math.nan]), r"experiment.latency_ms\[0\] is nan"),
    (Sample(ok=[True, True], latency_ms=[1.0, -3.0]), r"experiment.latency_ms\[1\] is -3.0"),
    (Sample(ok=[True], latency_ms=[math.inf]), r"experiment.latency_ms\[0\] is inf"),
    (Sample(ok=[1, 0], latency_ms=[1.0, 2.0]), "experiment.ok must hold True or False"),
    (Sample(ok=[True], latency_ms=["slow"]), "experiment.latency_ms must be a sequence of numbers"),
])
def test_bad_samples_name_the_group_and_the_field(experiment: Sample, named: str) -> None:
    with pytest.raises(ValueError, match=named):
        compare(GOOD, experiment)


def test_a_group_that_is_not_a_sample_is_named() -> None:
    with pytest.raises(ValueError, match="control must be a squall.statistics.Sample, got dict"):
        compare({"ok": [True]}, GOOD)  # type: ignore[arg-type]


@pytest.mark.parametrize(("kwargs", "named"), [
    ({"variance": -1.0}, "variance must be >= 0"),
    ({"difference": math.nan}, "difference must be a finite number"),
    ({"power": 1.0}, "power must be a number strictly between 0 and 1"),
    ({"confidence": 0.0}, "confidence must be"),
])
def test_sample_size_names_bad_arguments(kwargs: dict[str, Any], named: str) -> None:
    arguments: dict[str, Any] = {"difference": 20.0, "limit": 10.0, "variance": 100.0} | kwargs
    with pytest.raises(ValueError, match=named):
        sample_size(**arguments)


def test_quantile_variance_names_a_bad_density() -> None:
    with pytest.raises(ValueError, match="density must be a positive finite number"):
        quantile_variance(0.95, 0.0)
