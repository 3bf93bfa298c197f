"""The one percentile definition squall uses, so a report's p95 equals the probe's p95."""

import math
from collections.abc import Sequence


def nearest_rank(sorted_values: Sequence[float], q: float) -> float | None:
    """The q-th percentile (0..100) of already sorted values by nearest rank; None for no values."""
    if not sorted_values:
        return None
    rank = max(1, math.ceil(q / 100.0 * len(sorted_values)))
    return sorted_values[min(rank, len(sorted_values)) - 1]
