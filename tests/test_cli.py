"""The `squall` console script and the `chaos squall` plugin door, and `squall cleanup` on its own."""

import os
import subprocess
import sys
from pathlib import Path

from squall.ledger import Ledger

BIN = Path(sys.executable).parent


def run(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        list(args), capture_output=True, text=True, timeout=60, env={**os.environ, **(env or {})}
    )


def test_squall_help_lists_every_command() -> None:
    out = run(str(BIN / "squall"), "--help")
    assert out.returncode == 0
    for name in ("proxy", "validate", "cleanup", "report", "demo", "gameday", "gate", "history"):
        assert name in out.stdout


def test_chaos_plugin_is_the_same_command_tree() -> None:
    out = run(str(BIN / "chaos"), "squall", "--help")
    assert out.returncode == 0, out.stderr
    assert "cleanup" in out.stdout and "gate" in out.stdout


def test_cleanup_with_empty_ledger_says_so(tmp_path: Path) -> None:
    ledger = tmp_path / "ledger.jsonl"
    out = run(str(BIN / "squall"), "cleanup", "--ledger", str(ledger))
    assert out.returncode == 0
    assert "nothing to clean up" in out.stdout


def test_cleanup_reports_a_fault_it_cannot_remove_and_keeps_it(tmp_path: Path) -> None:
    ledger = Ledger(tmp_path / "ledger.jsonl")
    # An orphaned entry (its pid is not alive) of a kind nobody can undo.
    entry = ledger.apply("mystery.fault", {}, {}, "a fault of an unknown kind", run_id="r1")
    ledger._append({"op": "apply", **{**entry.__dict__, "id": "x1", "pid": 2**22 + 7}})
    out = run(str(BIN / "squall"), "cleanup", "--ledger", str(ledger.path), "--run-id", "r1")
    assert out.returncode == 5
    assert "FAILED to remove: a fault of an unknown kind" in out.stderr
    assert "unknown kind 'mystery.fault'" in out.stderr
    assert len(ledger.open_entries("r1")) == 2  # still listed, a later cleanup can retry


def test_cleanup_dry_run_changes_nothing(tmp_path: Path) -> None:
    ledger = Ledger(tmp_path / "ledger.jsonl")
    ledger.apply("mystery.fault", {}, {}, "left behind", run_id="r9")
    out = run(str(BIN / "squall"), "cleanup", "--ledger", str(ledger.path), "--all", "--dry-run")
    assert out.returncode == 0
    assert "would remove: left behind [run r9, mystery.fault]" in out.stdout
    assert len(ledger.open_entries()) == 1


def test_every_usage_error_exits_4_invalid_input_with_clicks_message(tmp_path: Path) -> None:
    """Click's own exit 2 would mean "aborted" to a CI gate; a usage error is invalid input (4) for every command."""
    cases = [
        (["gate", str(tmp_path)], f"'{tmp_path}' is a directory"),
        (["gate"], "Missing argument 'FILES...'"),
        (["gate", "--min-score", "101", "x.yaml"], "101.0 is not in the range"),
        (["gate", "--bogus", "x.yaml"], "No such option '--bogus'"),
        (["validate"], "Missing argument 'FILES...'"),
        (["report", str(tmp_path)], f"'{tmp_path}' is a directory"),
        (["gameday", "run", str(tmp_path)], f"'{tmp_path}' is a directory"),
        (["gameday", "schedule", str(tmp_path / "nope.yaml")], "does not exist"),
        (["history", "--limit", "0"], "0 is not in the range"),
        (["no-such-command"], "No such command 'no-such-command'"),
        (["--bogus"], "No such option '--bogus'"),
    ]
    for args, message in cases:
        out = run(str(BIN / "squall"), *args)
        assert out.returncode == 4, (args, out.returncode, out.stderr)
        assert message in out.stderr.replace("\n", " ").replace("  ", " "), (args, out.stderr)
        assert "Traceback" not in out.stderr
    out = run(str(BIN / "chaos"), "squall", "gate", str(tmp_path))  # the plugin door keeps the same rule
    assert out.returncode == 4 and "is a directory" in out.stderr, out.stderr
