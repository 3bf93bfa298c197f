"""SLIs read from Prometheus (``source: prometheus``): the preflight before anything is injected, and burn rates.

The sampling itself is in ``sampling`` (one thread per target, like every SLI);
this module holds what the run needs besides: ``preflight`` asks each target's
Prometheus its PromQL once before the experiment starts (an unreachable server or
a query it refuses stops the run before any fault), and ``BurnRates`` computes a
stop condition's success ratio over its window with PromQL, at most once per
target interval.
"""

import threading
import time
from collections.abc import Callable, Sequence

import httpx

from squall.control.settings import SliTarget, StopCondition
from squall.errors import SquallError
from squall.probes import prometheus


def preflight(targets: Sequence[SliTarget]) -> str | None:
    """None when every Prometheus target answers its PromQL now; else why not, naming the target and server."""
    for target in (t for t in targets if t.source == "prometheus"):
        for key, expression in (("success_ratio", target.success_ratio), ("latency_ms", target.latency_ms)):
            if not expression:
                continue
            try:  # no data yet is fine (the window may not be filled); unreachable or refused is not
                prometheus.single_value(target.url, target.promql(expression), target.timeout_s)
            except SquallError as exc:
                return f'sli "{target.name}": Prometheus at {target.url} cannot answer {key}: {exc}'
    return None


class BurnRates:
    """Success ratios over a stop condition's window from PromQL, for conditions on a Prometheus target."""

    def __init__(self, targets: Sequence[SliTarget]) -> None:
        self._targets = {t.name: t for t in targets if t.source == "prometheus"}
        self._last: dict[str, tuple[float, float | None]] = {}  # condition -> (monotonic time, ratio)
        self._lock = threading.Lock()
        self._client: httpx.Client | None = None  # made on the first query: most runs have no Prometheus target

    def for_condition(self, condition: StopCondition) -> Callable[[float], float | None] | None:
        """The ``ratio_over`` of ``stopconditions.evaluate`` for ``condition``; None when its target is not Prometheus."""
        target = self._targets.get(condition.target or "")
        if target is None or condition.kind != "burn_rate_above":
            return None

        def ratio_over(window_s: float) -> float | None:
            with self._lock:  # sampling threads call this; one query per target interval at most
                now = time.monotonic()
                last = self._last.get(condition.name)
                if last is not None and now - last[0] < target.interval_s:
                    return last[1]
                assert target.success_ratio is not None
                if self._client is None:
                    self._client = httpx.Client(trust_env=False)
                try:
                    ratio = prometheus.single_value(target.url, target.promql(target.success_ratio, window_s),
                                                    target.timeout_s, self._client)
                except SquallError:
                    ratio = None  # no value: the condition cannot fire on it (the sampler records the gap)
                self._last[condition.name] = (now, ratio)
                return ratio

        return ratio_over

    def close(self) -> None:
        """Close the HTTP client."""
        with self._lock:
            if self._client is not None:
                self._client.close()
                self._client = None
