"""Fixtures for game-day tests: small real experiments (plain python probes) and a suite writer."""

import json
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml


def probe(name: str, path: str, tolerance: bool = True) -> dict[str, Any]:
    """A steady-state probe that holds when `path` exists (os.path.exists, a real python activity)."""
    return {
        "type": "probe",
        "name": name,
        "tolerance": tolerance,
        "provider": {"type": "python", "module": "os.path", "func": "exists", "arguments": {"path": path}},
    }


def experiment(title: str, probes: list[dict[str, Any]], method: list[dict[str, Any]] | None = None,
               **extra: Any) -> dict[str, Any]:
    """A complete Chaos Toolkit experiment."""
    noop = {"type": "action", "name": "noop",
            "provider": {"type": "python", "module": "os.path", "func": "exists", "arguments": {"path": "/"}}}
    return {
        "title": title,
        "description": f"{title} (squall game-day test)",
        "steady-state-hypothesis": {"title": "files are where they should be", "probes": probes},
        "method": method or [noop],
        **extra,
    }


@pytest.fixture
def write_experiment(tmp_path: Path) -> Callable[..., Path]:
    """Write an experiment YAML next to the suite and return its path."""

    def write(name: str, doc: dict[str, Any]) -> Path:
        path = tmp_path / name
        path.write_text(yaml.safe_dump(doc, sort_keys=False))
        return path

    return write


@pytest.fixture
def passing(write_experiment: Callable[..., Path], tmp_path: Path) -> Path:
    """An experiment whose two checks hold."""
    return write_experiment("passing.yaml", experiment(
        "everything holds", [probe("tmp-exists", str(tmp_path)), probe("root-exists", "/")]))


@pytest.fixture
def failing(write_experiment: Callable[..., Path], tmp_path: Path) -> Path:
    """An experiment with one check of four failing (before the method)."""
    return write_experiment("failing.yaml", experiment(
        "one check fails",
        [probe("tmp-exists", str(tmp_path)), probe("root-exists", "/"), probe("etc-exists", "/etc"),
         probe("missing-file", str(tmp_path / "no-such-file"))],
    ))


@pytest.fixture
def write_suite(tmp_path: Path) -> Callable[..., Path]:
    """Write a suite YAML in tmp_path (experiment paths relative to it) and return its path."""

    def write(doc: dict[str, Any], name: str = "suite.yaml") -> Path:
        doc.setdefault("settle_s", 0)
        doc.setdefault("reports", {"dir": "reports"})
        path = tmp_path / name
        path.write_text(yaml.safe_dump(doc, sort_keys=False))
        return path

    return write


def squall(*args: str, cwd: Path, env: dict[str, str] | None = None, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    """Run the real `squall` command line in a subprocess."""
    return subprocess.run(
        [sys.executable, "-c", "from squall.cli import main; main()", *args],
        cwd=cwd, env={**os.environ, **(env or {})}, capture_output=True, text=True, timeout=timeout, check=False,
    )


def load_json(path: Path) -> Any:
    return json.loads(path.read_text())
