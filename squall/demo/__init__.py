"""The bundled demo system: a checkout service with real resilience mechanisms, its dependencies and the fault proxy.

``squall demo up`` runs it in the foreground; ``squall demo`` runs the bundled
experiments against it as a small game day. See docs/demo.md.
"""

from squall.demo.resilience import BreakerState, CircuitBreaker, Mechanisms, RetryPolicy
from squall.demo.topology import DemoOptions, DemoSystem, running

__all__ = ["BreakerState", "CircuitBreaker", "DemoOptions", "DemoSystem", "Mechanisms", "RetryPolicy", "running"]
