"""Fixtures of the control tests; the helpers live in chaos_harness.py (a unique module name)."""

from chaos_harness import proxied, start_chaos, upstream  # noqa: F401  (fixtures)
