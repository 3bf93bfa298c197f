"""The statistics tests: the long form of the error-rate checks runs only when asked for (``-m stats_long``)."""

import pytest


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Skip ``stats_long`` tests unless the marker expression names them."""
    if "stats_long" in (config.option.markexpr or ""):
        return
    skip = pytest.mark.skip(reason="the long form runs with -m stats_long")
    for item in items:
        if item.get_closest_marker("stats_long") is not None:
            item.add_marker(skip)
