"""Groups of requests drawn from known distributions, seeded, for the statistics tests."""

import numpy as np
from scipy import stats

from squall.statistics import Sample

#: request latencies of a healthy service: lognormal, median 100 ms, p95 about 228 ms
MEDIAN_MS = 100.0
SIGMA = 0.5
LATENCY = stats.lognorm(s=SIGMA, scale=MEDIAN_MS)


def group(rng: np.random.Generator, n: int, *, shift_ms: float = 0.0, success: float = 0.99) -> Sample:
    """``n`` requests: each succeeds with probability ``success``; latencies lognormal, shifted by ``shift_ms``."""
    return Sample(ok=rng.random(n) < success, latency_ms=rng.lognormal(np.log(MEDIAN_MS), SIGMA, n) + shift_ms)


def rng_for(seed: int, stream: int) -> np.random.Generator:
    """A generator per (test, seed), so two tests never share data by accident."""
    return np.random.default_rng([seed, stream])
