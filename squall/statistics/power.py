"""How many requests per group settle a comparison: the sample-size rule behind ``needed_per_group``.

A figure's interval settles when it lies wholly on one side of the margin. With
``n`` requests in each group, an estimated difference has a standard error of
about ``sqrt(variance / n)``, where ``variance`` is the *per-request* variance
of the figure, both groups summed (for a success ratio ``p_c(1-p_c) +
p_e(1-p_e)``; for a quantile ``q(1-q)/f(x_q)^2`` per group, ``f`` the latency
density at the quantile). The interval at ``confidence`` reaches ``z_c``
standard errors either side (``z_c = norm.ppf((1 + confidence) / 2)``); for it
to clear the margin in a share ``power`` of repeated runs when the true
difference is ``difference``, the distance to the margin must be ``z_c + z_p``
standard errors (``z_p = norm.ppf(power)``)::

    n = ceil((z_c + z_p)^2 * variance / (difference - limit)^2)

This is the usual normal-approximation rule for non-inferiority designs. It is
a plan, not a promise: it takes the difference and variance measured so far as
the truth, so a small pilot gives a rough figure that improves as requests grow.
"""

import math

from scipy import stats

#: beyond this many requests per group, no practical run settles the figure (``sample_size`` returns None)
MAX_PER_GROUP = 10_000_000


def sample_size(difference: float, limit: float, variance: float, *, confidence: float = 0.95,
                power: float = 0.8) -> int | None:
    """Requests per group for the interval of ``difference`` to fall wholly on one side of ``limit``.

    ``variance`` is the per-request variance of the figure with both groups summed
    (see the module docstring, ``ratio_variance`` and ``quantile_variance``).
    Returns None when the difference sits on the margin (no sample size separates
    them) or more than ``MAX_PER_GROUP`` requests would be needed; at least 1.
    """
    for name, value in (("difference", difference), ("limit", limit), ("variance", variance)):
        if not math.isfinite(value):
            raise ValueError(f"sample_size: {name} must be a finite number, got {value!r}")
    if variance < 0:
        raise ValueError(f"sample_size: variance must be >= 0, got {variance!r}")
    _check_share("confidence", confidence)
    _check_share("power", power)
    distance = abs(difference - limit)
    if variance == 0:
        return 1
    if distance == 0:
        return None
    z = float(stats.norm.ppf((1 + confidence) / 2) + stats.norm.ppf(power))
    # as a ratio of standard deviations first: the square of a tiny distance underflows to 0
    ratio = z * math.sqrt(variance) / distance
    if not ratio * ratio <= MAX_PER_GROUP:
        return None
    return max(1, math.ceil(ratio * ratio))


def ratio_variance(successes_control: int, n_control: int, successes_experiment: int, n_experiment: int) -> float:
    """Per-request variance of a success-ratio difference, for planning.

    Each group's ratio is taken as ``(successes + 1) / (n + 2)`` (Agresti and
    Caffo's one success and one failure added), so a group with all successes or
    all failures still plans for some variance instead of none.
    """
    total = 0.0
    for successes, n in ((successes_control, n_control), (successes_experiment, n_experiment)):
        ratio = (successes + 1) / (n + 2)
        total += ratio * (1 - ratio)
    return total


def quantile_variance(q: float, density: float) -> float:
    """Per-request variance of one group's sample quantile ``q`` where the latency density there is ``density``.

    The asymptotic variance of a sample quantile is ``q(1-q) / (n f(x_q)^2)``;
    this returns it times ``n``. Sum the two groups' values for ``sample_size``.
    """
    _check_share("q", q)
    if not (math.isfinite(density) and density > 0):
        raise ValueError(f"quantile_variance: density must be a positive finite number, got {density!r}")
    return q * (1 - q) / (density * density)


def _check_share(name: str, value: float) -> None:
    if not (isinstance(value, int | float) and 0 < value < 1):
        raise ValueError(f"{name} must be a number strictly between 0 and 1, got {value!r}")
