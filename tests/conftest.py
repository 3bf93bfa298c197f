"""Shared fixtures: a private fault ledger and run id per test, so tests never touch a user's state."""

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import settings as hypothesis_settings

# Property tests try the same generated inputs on every run of a tree, so a red CI
# is reproducible and never luck; explore with fresh inputs in a long local run:
#   SQUALL_HYPOTHESIS_RANDOM=1 SQUALL_HYPOTHESIS_EXAMPLES=3000 python -m pytest -k prop -s
hypothesis_settings.register_profile(
    "squall", derandomize=not os.environ.get("SQUALL_HYPOTHESIS_RANDOM"), database=None, deadline=None)
hypothesis_settings.load_profile("squall")


@pytest.fixture(autouse=True)
def _isolated_squall_state(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setenv("SQUALL_LEDGER", str(tmp_path / "ledger.jsonl"))
    monkeypatch.delenv("SQUALL_RUN_ID", raising=False)
    monkeypatch.delenv("TOXIPROXY_URL", raising=False)
    for name in ("OTEL_EXPORTER_OTLP_ENDPOINT", "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "SQUALL_TRACEPARENT",
                 "SQUALL_TRACE_URL_TEMPLATE"):  # a developer's own collector never receives the tests' runs
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost,::1")
    os.environ.pop("GITHUB_STEP_SUMMARY", None)
    yield
