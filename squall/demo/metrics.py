"""Checkout's counters, rendered in the Prometheus text exposition format (version 0.0.4) at ``/metrics``.

Hand-written rather than prometheus_client: the demo needs a handful of
counters, one gauge and one histogram, and the output below is the whole
format a scraper (or squall's Prometheus probe) reads.
"""

from collections import Counter
from collections.abc import Iterable

#: request duration histogram bucket bounds, seconds
BUCKETS_S = (0.025, 0.05, 0.1, 0.2, 0.3, 0.5, 1.0, 2.5, 5.0)

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"


class Metrics:
    """Counters the checkout service keeps; ``render()`` produces the Prometheus text."""

    def __init__(self) -> None:
        self.requests: Counter[str] = Counter()  # by outcome: ok, fallback, error
        self.attempts: Counter[tuple[str, str]] = Counter()  # (endpoint, result)
        self.retries: Counter[str] = Counter()  # by dependency
        self.fallbacks: Counter[str] = Counter()  # by kind: inventory-cache, payments-queued
        self.short_circuits: Counter[str] = Counter()  # calls refused by an open breaker
        self._buckets = [0] * len(BUCKETS_S)
        self._duration_sum = 0.0
        self._duration_count = 0

    def observe_request(self, outcome: str, duration_s: float) -> None:
        """Count one checkout request by outcome and record its duration."""
        self.requests[outcome] += 1
        self._duration_sum += duration_s
        self._duration_count += 1
        for i, bound in enumerate(BUCKETS_S):
            if duration_s <= bound:
                self._buckets[i] += 1

    def render(self, breaker_states: Iterable[tuple[str, int]], queued_payments: int) -> str:
        """The Prometheus text for every metric, breaker states and queue length given by the caller."""
        lines: list[str] = []

        def family(name: str, kind: str, help_: str, samples: Iterable[tuple[str, float]]) -> None:
            lines.append(f"# HELP {name} {help_}")
            lines.append(f"# TYPE {name} {kind}")
            lines.extend(f"{name}{labels} {_number(value)}" for labels, value in samples)

        family(
            "checkout_requests_total", "counter", "Checkout requests by outcome (ok, fallback, error).",
            ((_labels(outcome=o), float(self.requests[o])) for o in ("ok", "fallback", "error")),
        )
        family(
            "checkout_dependency_attempts_total", "counter",
            "Calls checkout made to each dependency endpoint, by result.",
            ((_labels(endpoint=e, result=r), float(n)) for (e, r), n in sorted(self.attempts.items())),
        )
        family(
            "checkout_retries_total", "counter", "Attempts after the first, by dependency.",
            ((_labels(dependency=d), float(n)) for d, n in sorted(self.retries.items())),
        )
        family(
            "checkout_short_circuits_total", "counter",
            "Calls not made because the endpoint's circuit breaker was open.",
            ((_labels(endpoint=e), float(n)) for e, n in sorted(self.short_circuits.items())),
        )
        family(
            "checkout_fallbacks_total", "counter", "Responses served by a fallback, by kind.",
            ((_labels(kind=k), float(n)) for k, n in sorted(self.fallbacks.items())),
        )
        family(
            "checkout_breaker_state", "gauge",
            "Circuit breaker state per dependency endpoint: 0 closed, 1 half-open, 2 open.",
            ((_labels(endpoint=e), float(s)) for e, s in breaker_states),
        )
        family(
            "checkout_payments_queued", "gauge", "Payments accepted but not yet captured.",
            [("", float(queued_payments))],
        )
        name = "checkout_request_duration_seconds"
        lines.append(f"# HELP {name} Checkout request duration.")
        lines.append(f"# TYPE {name} histogram")
        for bound, count in zip(BUCKETS_S, self._buckets, strict=True):
            lines.append(f'{name}_bucket{{le="{bound}"}} {count}')
        lines.append(f'{name}_bucket{{le="+Inf"}} {self._duration_count}')
        lines.append(f"{name}_sum {_number(self._duration_sum)}")
        lines.append(f"{name}_count {self._duration_count}")
        return "\n".join(lines) + "\n"


def _escape(value: str) -> str:
    """A label value escaped as the Prometheus text format wants it."""
    return value.replace("\\", r"\\").replace('"', r"\"").replace("\n", r"\n")


def _labels(**labels: str) -> str:
    return "{" + ",".join(f'{k}="{_escape(v)}"' for k, v in labels.items()) + "}"


def _number(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else repr(float(value))
