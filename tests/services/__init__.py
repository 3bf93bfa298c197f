"""Small real HTTP services on 127.0.0.1 for squall's tests: a dependency, a resilient and a fragile client, a fake Prometheus."""
