"""Resilience verifiers: did retries, timeouts, circuit breakers and fallbacks work, and did the service recover?

Each returns ``{"verifier", "ok", "summary", "evidence"}`` and never raises for
a failed check (only for bad arguments). Put them in the experiment's method,
after the action that injects the fault; the ``squall.control`` control turns
``ok: false`` into a failed run (Chaos Toolkit itself checks no tolerance on
method probes).
"""

from squall.verify._breaker import circuit_breaker
from squall.verify._fallback import fallback
from squall.verify._recovery import recovery
from squall.verify._retries import retries
from squall.verify._timeout import timeout

__all__ = ["circuit_breaker", "fallback", "recovery", "retries", "timeout"]
