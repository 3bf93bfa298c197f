"""Bounded reads of a real Prometheus's HTTP API for the tests."""

import json
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest


def prometheus_binary() -> str:
    """The prometheus binary, or skip the test where there is none."""
    found = shutil.which("prometheus")
    if found is None:
        pytest.skip("the prometheus binary is not on PATH (apt-get install prometheus)")
    return found


CHAOS = str(Path(sys.executable).parent / "chaos")


def instant(url: str, promql: str) -> list[dict[str, Any]]:
    """The result vector of an instant query."""
    with httpx.Client(trust_env=False, timeout=5.0) as client:
        body = client.get(url + "/api/v1/query", params={"query": promql}).json()
    assert body["status"] == "success", body
    return list(body["data"]["result"])


def wait_value(url: str, promql: str, want: Callable[[float], bool], timeout_s: float = 30.0) -> float:
    """Poll an instant query until its single value satisfies ``want`` (bounded); return the last value."""
    deadline = time.monotonic() + timeout_s
    last: float = float("nan")
    while time.monotonic() < deadline:
        result = instant(url, promql)
        if len(result) == 1:
            last = float(result[0]["value"][1])
            if want(last):
                return last
        time.sleep(0.25)
    return last


CHECKOUT_OK = ('sum(rate(checkout_requests_total{outcome!="error"}[{window}])) '
               '/ sum(rate(checkout_requests_total[{window}]))')
CHECKOUT_P95_MS = 'histogram_quantile(0.95, sum by (le) (rate(checkout_request_duration_seconds_bucket[{window}]))) * 1000'


def chaos_run(tmp: Path, experiment: dict[str, Any], timeout_s: float = 120.0) -> tuple[int, dict[str, Any], str]:
    """`chaos run` the experiment as a subprocess (bounded); return (exit code, journal, output)."""
    path, journal, log = tmp / "experiment.json", tmp / "journal.json", tmp / "chaos.log"
    path.write_text(json.dumps(experiment))
    settings = tmp / "settings.yaml"
    settings.write_text("{}")
    env = {**os.environ, "SQUALL_REPORT_DIR": str(tmp / "report")}
    with log.open("w") as out:
        proc = subprocess.run([CHAOS, "--no-log-file", "--no-version-check", "--settings", str(settings), "run",
                               "--journal-path", str(journal), str(path)],
                              cwd=tmp, env=env, stdout=out, stderr=subprocess.STDOUT, timeout=timeout_s, check=False)
    return proc.returncode, json.loads(journal.read_text()), log.read_text(errors="replace")


def squall_of(journal: dict[str, Any]) -> dict[str, Any]:
    """The squall entry of a journal's extensions."""
    return next(e for e in journal.get("extensions", []) if e.get("name") == "squall")
