"""Verdicts with confidence: is the experiment group no worse than the control group?

Pure computation (no I/O, no network, nothing from the rest of squall): a
non-inferiority comparison of two groups of requests, the success ratio with
Newcombe's score interval and latency quantiles with a bootstrap interval, at a
chosen confidence, plus the sample-size rule that says how many requests would
settle an inconclusive comparison, and one group's interval (``ratio_interval``,
``quantile_interval``) for drawing bands. docs/statistics.md explains it in plain words.
"""

from squall.statistics.compare import PLANNING_POWER, compare
from squall.statistics.intervals import quantile_interval, ratio_interval
from squall.statistics.model import Comparison, Effect, Sample, Verdict
from squall.statistics.power import MAX_PER_GROUP, quantile_variance, ratio_variance, sample_size
from squall.statistics.quantiles import TAIL_REQUESTS, minimum_requests
from squall.statistics.ratio import MIN_RATIO_REQUESTS

__all__ = [
    "MAX_PER_GROUP",
    "MIN_RATIO_REQUESTS",
    "PLANNING_POWER",
    "TAIL_REQUESTS",
    "Comparison",
    "Effect",
    "Sample",
    "Verdict",
    "compare",
    "minimum_requests",
    "quantile_interval",
    "quantile_variance",
    "ratio_interval",
    "ratio_variance",
    "sample_size",
]
