"""Steady-state and SLI probes: HTTP SLI sampler, Prometheus queries, proxy traffic stats."""
