"""Fixtures for the load tests (see load_harness)."""

from load_harness import proxied  # noqa: F401  (fixture)
