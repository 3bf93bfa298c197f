"""Fixtures for the report tests: `chaos run` in a subprocess, parsers for the three artifacts."""

import json
import os
import subprocess
import sys
import xml.etree.ElementTree as ET
from collections.abc import Callable
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest

HERE = Path(__file__).parent
BIN = Path(sys.executable).parent


class Page(HTMLParser):
    """report.html parsed: every tag with its attributes and the visible text."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.text_parts: list[str] = []
        self._skip = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))
        if tag in ("style", "script"):
            self._skip += 1

    def handle_endtag(self, tag: str) -> None:
        if tag in ("style", "script"):
            self._skip -= 1

    def handle_data(self, data: str) -> None:
        if not self._skip:
            self.text_parts.append(data)

    @property
    def text(self) -> str:
        return " ".join(" ".join(self.text_parts).split())

    def count(self, tag: str) -> int:
        return sum(1 for t, _ in self.tags if t == tag)

    def meta(self, name: str) -> str | None:
        return next((a.get("content") for t, a in self.tags if t == "meta" and a.get("name") == name), None)


def parse_html(path: Path) -> Page:
    page = Page()
    page.feed(path.read_text(encoding="utf-8"))
    page.close()
    return page


def parse_junit(path: Path) -> ET.Element:
    root = ET.parse(path).getroot()
    assert root.tag == "testsuites"
    return root


def cases(root: ET.Element) -> dict[str, ET.Element]:
    return {c.get("name", ""): c for c in root.iter("testcase")}


@pytest.fixture
def chaos_journal(tmp_path: Path) -> Callable[..., dict[str, Any]]:
    """Run `chaos run` on an experiment in a subprocess (bounded in time); return its journal."""
    counter = iter(range(1000))

    def run(experiment: dict[str, Any], env: dict[str, str] | None = None, timeout: float = 90) -> dict[str, Any]:
        n = next(counter)
        exp_path = tmp_path / f"experiment-{n}.json"
        exp_path.write_text(json.dumps(experiment))
        journal = tmp_path / f"journal-{n}.json"
        settings = tmp_path / "no-settings.yaml"
        full_env = {**os.environ, "PYTHONPATH": str(HERE), **(env or {})}
        out = subprocess.run(
            [str(BIN / "chaos"), "--no-log-file", "--no-version-check", "--settings", str(settings),
             "run", "--journal-path", str(journal), str(exp_path)],
            cwd=tmp_path, env=full_env, capture_output=True, text=True, timeout=timeout, check=False,
        )
        assert journal.exists(), out.stdout[-3000:] + out.stderr[-3000:]
        return json.loads(journal.read_text())

    return run
