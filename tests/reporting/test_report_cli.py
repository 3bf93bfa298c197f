"""`squall report` and `squall reports prune` as a user runs them (real subprocesses)."""

import json
import os
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

import report_journals as J
from report_parsing import parse_html

SQUALL = str(Path(sys.executable).parent / "squall")
DAY = 86400.0


def squall(*args: str, cwd: Path, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([SQUALL, *args], cwd=cwd, capture_output=True, text=True, timeout=60, check=False,
                          env={**os.environ, **(env or {})})


def test_report_writes_into_the_default_folder_and_prints_the_paths(tmp_path: Path) -> None:
    (tmp_path / "journal.json").write_text(json.dumps(J.failed_verifier_run()))
    out = squall("report", "journal.json", cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    folder = tmp_path / "reports" / "checkout-survives-slow-payments-20251128T032000Z"
    printed = out.stdout.split()
    assert printed == [str(Path("reports") / folder.name / n) for n in ("report.html", "junit.xml", "summary.md")]
    assert parse_html(folder / "report.html").meta("squall-verdict") == "failed"


def test_report_with_output_dir_mask_and_step_summary(tmp_path: Path) -> None:
    journal = J.passed_run()
    journal["run"][0]["output"] = {"note": "ticket CHG-123456 approved"}
    (tmp_path / "journal.json").write_text(json.dumps(journal))
    summary = tmp_path / "step-summary.md"
    summary.write_text("earlier step\n")
    env = {"GITHUB_STEP_SUMMARY": str(summary)}
    out = squall("report", "journal.json", "-o", "out", "--mask", r"CHG-\d+", cwd=tmp_path, env=env)
    assert out.returncode == 0, out.stderr
    html = (tmp_path / "out" / "report.html").read_text()
    assert "CHG-123456" not in html and "ticket [masked] approved" in html
    text = summary.read_text()
    assert text.startswith("earlier step\n### ✅ PASSED: Checkout survives slow payments")
    squall("report", "journal.json", "-o", "out2", cwd=tmp_path, env=env)
    assert summary.read_text().count("### ✅ PASSED") == 2  # appended, never overwritten


def test_report_refuses_missing_or_malformed_journals_with_exit_4(tmp_path: Path) -> None:
    out = squall("report", "nope.json", cwd=tmp_path)
    assert out.returncode == 4
    assert 'journal "nope.json": does not exist' in out.stderr
    (tmp_path / "broken.json").write_text('{"title": ')
    out = squall("report", "broken.json", cwd=tmp_path)
    assert out.returncode == 4 and "not valid JSON" in out.stderr and "line 1" in out.stderr
    (tmp_path / "list.json").write_text("[1, 2]")
    out = squall("report", "list.json", cwd=tmp_path)
    assert out.returncode == 4 and "holds a JSON list, not an object" in out.stderr
    out = squall("report", "list.json", "--mask", "(", cwd=tmp_path)
    assert out.returncode == 4 and '--mask "("' in out.stderr
    assert not (tmp_path / "reports").exists()  # nothing written on bad input


def test_report_into_an_unwritable_place_is_a_squall_error_exit_5(tmp_path: Path) -> None:
    (tmp_path / "journal.json").write_text(json.dumps(J.passed_run()))
    (tmp_path / "taken").write_text("a file where the folder should go")
    out = squall("report", "journal.json", "-o", "taken/report", cwd=tmp_path)
    assert out.returncode == 5
    assert 'cannot write the report into "taken/report"' in out.stderr


def _report_folder(root: Path, name: str, run_age_days: float | None, mtime_age_days: float = 0.0) -> Path:
    folder = root / name
    folder.mkdir(parents=True)
    started = ""
    if run_age_days is not None:
        started = datetime.fromtimestamp(time.time() - run_age_days * DAY, UTC).isoformat()
    (folder / "report.html").write_text(
        f'<!doctype html><html><head><meta name="squall-run-started" content="{started}"></head></html>')
    (folder / "junit.xml").write_text("<testsuites/>")
    stamp = time.time() - mtime_age_days * DAY
    for path in (folder / "report.html", folder / "junit.xml", folder):
        os.utime(path, (stamp, stamp))
    return folder


def test_prune_removes_old_report_folders_and_says_so(tmp_path: Path) -> None:
    root = tmp_path / "reports"
    old = _report_folder(root, "old-run", 90)
    recent = _report_folder(root, "recent-run", 5)
    copied = _report_folder(root, "copied-yesterday", 120, mtime_age_days=1)  # run time wins over mtime
    legacy = _report_folder(root, "no-run-time", None, mtime_age_days=70)  # mtime stands in
    stranger = root / "not-a-report"
    stranger.mkdir()
    os.utime(stranger, (time.time() - 400 * DAY,) * 2)

    dry = squall("reports", "prune", "--older-than", "60d", "--dry-run", cwd=tmp_path)
    assert dry.returncode == 0, dry.stderr
    assert "would remove 3 report folders, kept 1 in reports" in dry.stdout
    assert all(p.exists() for p in (old, recent, copied, legacy))

    out = squall("reports", "prune", "--older-than", "60d", cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    assert f"removed: {Path('reports') / 'old-run'} (run 90 days ago)" in out.stdout
    assert f"removed: {Path('reports') / 'no-run-time'} (modified 70 days ago)" in out.stdout
    assert "removed 3 report folders, kept 1 in reports" in out.stdout
    assert not old.exists() and not copied.exists() and not legacy.exists()
    assert recent.exists() and stranger.exists()


def test_prune_keeps_the_newest_n_whatever_their_age(tmp_path: Path) -> None:
    root = tmp_path / "archive"
    folders = [_report_folder(root, f"run-{age}", age) for age in (100, 200, 300, 400)]
    out = squall("reports", "prune", "--older-than", "2w", "--keep", "2", str(root), cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    assert [f.exists() for f in folders] == [True, True, False, False]
    assert "removed 2 report folders, kept 2" in out.stdout


def test_prune_rejects_a_bad_age_or_missing_folder(tmp_path: Path) -> None:
    out = squall("reports", "prune", "--older-than", "sixty", cwd=tmp_path)
    assert out.returncode == 4 and 'age "sixty" is not valid' in out.stderr
    out = squall("reports", "prune", "--older-than", "60d", "nowhere", cwd=tmp_path)
    assert out.returncode == 4 and 'report folder "nowhere" does not exist' in out.stderr


def test_a_real_journal_with_nan_or_past_the_experiment_size_limit_still_renders(tmp_path: Path) -> None:
    """Chaos Toolkit writes NaN where a probe returned it, and long runs are big: journals have their own limit."""
    journal = J.passed_run()
    journal["run"][0]["output"] = {"p95_ms": float("nan"), "max_ms": float("inf")}
    path = tmp_path / "journal.json"
    path.write_text(json.dumps(journal), encoding="utf-8")  # json writes NaN / Infinity, as chaos run does
    size = path.stat().st_size
    env = {**os.environ, "SQUALL_MAX_FILE_BYTES": str(size // 2)}  # experiments' limit: not a journal's
    proc = subprocess.run([sys.executable, "-m", "squall", "report", str(path), "--output", str(tmp_path / "out")],
                          capture_output=True, text=True, env=env, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert (tmp_path / "out" / "report.html").exists()
    env["SQUALL_MAX_JOURNAL_BYTES"] = str(size // 2)
    proc = subprocess.run([sys.executable, "-m", "squall", "report", str(path), "--output", str(tmp_path / "out2")],
                          capture_output=True, text=True, env=env, timeout=120)
    assert proc.returncode == 4 and "SQUALL_MAX_JOURNAL_BYTES" in proc.stderr
