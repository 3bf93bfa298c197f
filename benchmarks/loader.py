"""Benchmark squall.loader on a ~9 MB experiment against the parsers it is built on, in the same run.

    python benchmarks/loader.py [--mb 9]

Writes a valid experiment of about `--mb` megabytes as YAML and as JSON into a
temporary folder, then times (best of 3): libyaml's bare event stream (the floor
squall's YAML loader builds on), PyYAML's ``CSafeLoader`` full load,
``squall.loader.load`` on the YAML, ``json.loads`` and ``squall.loader.load`` on
the JSON; and how fast a 50 MB file is refused. Prints seconds and ratios.
"""

import argparse
import json
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import yaml

from squall.errors import FileInvalid
from squall.loader import load


def _best(fn: Callable[[], Any], runs: int = 3) -> float:
    best = float("inf")
    for _ in range(runs):
        start = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - start)
    return best


def _events(text: str) -> None:
    parser = yaml.CSafeLoader(text)
    try:
        while parser.get_event() is not None and parser.check_event():
            pass
    finally:
        parser.dispose()


def main() -> None:
    """Print the timings and ratios."""
    args = _args()
    per_step = 155  # bytes of YAML per step below, roughly
    steps = int(args.mb * 1_000_000 / per_step)
    doc = {"title": "big", "description": "a large experiment", "method": [
        {"type": "action", "name": f"step-{i}", "provider": {"type": "python", "module": "os.path", "func": "exists",
                                                             "arguments": {"path": f"/tmp/{i}", "n": i, "f": 1.5}}}
        for i in range(steps)]}
    with tempfile.TemporaryDirectory() as folder:
        yml, jsn, huge = Path(folder) / "big.yaml", Path(folder) / "big.json", Path(folder) / "huge.yaml"
        yml.write_text(yaml.safe_dump(doc))
        jsn.write_text(json.dumps(doc))
        with open(huge, "wb") as f:
            f.truncate(50 * 1024 * 1024)
        text, jtext = yml.read_text(), jsn.read_text()
        print(f"YAML {yml.stat().st_size / 1e6:.1f} MB, JSON {jsn.stat().st_size / 1e6:.1f} MB, {steps:,} activities")
        events = _best(lambda: _events(text))
        full = _best(lambda: yaml.load(text, Loader=yaml.CSafeLoader), runs=1)
        ours = _best(lambda: load(yml))
        jbase = _best(lambda: json.loads(jtext))
        jours = _best(lambda: load(jsn))

        def refuse() -> None:
            try:
                load(huge)
            except FileInvalid:
                return
            raise AssertionError("a 50 MB file was not refused")

        refused = _best(refuse)
    print(f"libyaml events only     {events:7.2f} s")
    print(f"PyYAML CSafeLoader load {full:7.2f} s")
    print(f"squall.loader YAML      {ours:7.2f} s  = {ours / events:.2f} x libyaml events, {ours / full:.2f} x CSafeLoader")
    print(f"json.loads              {jbase:7.2f} s")
    print(f"squall.loader JSON      {jours:7.2f} s  = {jours / jbase:.2f} x json.loads")
    print(f"50 MB file refused in   {refused * 1000:7.2f} ms")


def _args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description="Benchmark squall.loader")
    parser.add_argument("--mb", type=float, default=9.0, help="size of the YAML file in MB (default 9)")
    return parser.parse_args()


if __name__ == "__main__":
    main()
