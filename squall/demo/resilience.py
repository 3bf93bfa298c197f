"""The resilience mechanisms of the demo's checkout client, small enough to read in one sitting.

Each mechanism is a few lines of plain Python so that you can read it as an
example and compare it with what your own service does:

- ``RetryPolicy``: how many attempts, and how long to wait between them
  (exponential backoff with "equal jitter", never less than a ``Retry-After``
  the dependency asked for).
- ``CircuitBreaker``: stop calling an endpoint that keeps failing
  (closed -> open), try one call after a cool-down (half-open), and close
  again when it answers.
- ``Mechanisms``: which of them are switched on. ``squall demo --fragile``
  switches them all off so you can see what the same faults do without them.

Why not tenacity / pybreaker: tenacity would cover the retry loop, but the
demo's loop also picks a replica, consults each replica's breaker and waits
out ``Retry-After`` within a budget, which reads more plainly as one loop than
as tenacity callbacks; pybreaker's async support needs Tornado. Everything here
is standard library only.
"""

import enum
import random
import time
from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True)
class Mechanisms:
    """Which resilience mechanisms the checkout client uses (all on by default)."""

    timeouts: bool = True
    retries: bool = True
    breaker: bool = True
    fallback: bool = True

    @classmethod
    def fragile(cls) -> "Mechanisms":
        """Every mechanism off: the client a service starts with before it meets its first outage."""
        return cls(timeouts=False, retries=False, breaker=False, fallback=False)

    def switched_off(self) -> list[str]:
        """Names of the mechanisms that are off (empty when all are on)."""
        return [name for name in ("timeouts", "retries", "breaker", "fallback") if not getattr(self, name)]


@dataclass(frozen=True)
class RetryPolicy:
    """Up to ``attempts`` tries; the wait before try n+1 is in [d/2, d] with d = base * 2**n, capped."""

    attempts: int = 3
    base_s: float = 0.025
    cap_s: float = 0.5

    def backoff_s(self, failed_attempts: int, retry_after_s: float = 0.0) -> float:
        """Seconds to wait after ``failed_attempts`` failures; at least what ``Retry-After`` asked for.

        "Equal jitter": half of the exponential delay is fixed and half is random,
        so waits grow from one attempt to the next while clients that failed at
        the same moment do not all come back at the same moment.
        """
        delay = min(self.cap_s, self.base_s * 2 ** max(0, failed_attempts - 1))
        jittered = delay / 2 + random.uniform(0, delay / 2)
        return float(max(jittered, retry_after_s))


class BreakerState(enum.Enum):
    """The three states of a circuit breaker; the value is what ``/metrics`` reports."""

    CLOSED = 0  # calls flow; consecutive failures are counted
    HALF_OPEN = 1  # the cool-down is over: one trial call is let through
    OPEN = 2  # calls are refused without touching the endpoint


class CircuitBreaker:
    """Opens after ``failure_threshold`` consecutive failures; lets one trial through after ``reset_timeout_s``."""

    def __init__(
        self,
        name: str,
        failure_threshold: int = 3,
        reset_timeout_s: float = 1.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.name = name
        self.failure_threshold = failure_threshold
        self.reset_timeout_s = reset_timeout_s
        self._clock = clock
        self._state = BreakerState.CLOSED
        self._failures = 0
        self._opened_at = 0.0
        self._trial_in_flight = False
        self.transitions: list[tuple[float, BreakerState]] = []  # (unix time, new state), for /metrics and tests

    @property
    def state(self) -> BreakerState:
        """The current state; an open breaker becomes half-open once its cool-down has passed."""
        if self._state is BreakerState.OPEN and self._clock() - self._opened_at >= self.reset_timeout_s:
            self._move(BreakerState.HALF_OPEN)
        return self._state

    def allow(self) -> bool:
        """May a call go to this endpoint now? In half-open, only one trial call at a time."""
        state = self.state
        if state is BreakerState.CLOSED:
            return True
        if state is BreakerState.HALF_OPEN and not self._trial_in_flight:
            self._trial_in_flight = True
            return True
        return False

    def record_success(self) -> None:
        """The call worked: close the breaker and forget past failures."""
        self._failures = 0
        self._trial_in_flight = False
        if self._state is not BreakerState.CLOSED:
            self._move(BreakerState.CLOSED)

    def record_failure(self) -> None:
        """The call failed: a failed trial re-opens at once; otherwise open at the threshold."""
        self._failures += 1
        self._trial_in_flight = False
        if self._state is BreakerState.HALF_OPEN or self._failures >= self.failure_threshold:
            self._opened_at = self._clock()
            if self._state is not BreakerState.OPEN:
                self._move(BreakerState.OPEN)

    def _move(self, state: BreakerState) -> None:
        self._state = state
        self.transitions.append((time.time(), state))
        del self.transitions[:-100]  # keep the last hundred
