"""Resilience verifiers: did retries, timeouts, circuit breakers and fallbacks work, and did the service recover?

Each returns ``{"verifier", "ok", "verdict", "summary", "evidence"}`` where
``verdict`` is ``passed``, ``failed`` or ``inconclusive`` (the mechanism could
not be observed, or the traffic could not be attributed: never a guess) and
``ok`` is true only for ``passed``. They never raise for a failed check (only
for bad arguments). Put them in the experiment's method, after the action that
injects the fault; the ``squall.control`` control turns a failed verifier into
a failed run and an inconclusive one into an inconclusive run (Chaos Toolkit
itself checks no tolerance on method probes). How dependency calls are
attributed (trace, header, time) is in ``squall.verify._observe``.
"""

from squall.verify._breaker import circuit_breaker
from squall.verify._fallback import fallback
from squall.verify._fault_scope import fault_scope
from squall.verify._load import no_regression, retry_amplification
from squall.verify._recovery import recovery
from squall.verify._retries import retries
from squall.verify._timeout import timeout

__all__ = ["circuit_breaker", "fallback", "fault_scope", "no_regression", "recovery", "retries", "retry_amplification", "timeout"]
