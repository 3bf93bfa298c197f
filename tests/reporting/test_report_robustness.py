"""Reports of odd journals never crash and never hang: mutated real journals, hostile text, hostile mask patterns."""

import json
import os
import subprocess
import sys
import time
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import pytest
import report_journals as J
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from report_mutations import WEIRD_TEXT, Recipe, apply, nested
from report_parsing import cases, parse_html, parse_junit

from squall.reporting import render
from squall.reporting.cli import load_journal
from squall.reporting.masking import MASK, Masker, from_experiment

SQUALL = str(Path(sys.executable).parent / "squall")
EXAMPLES = int(os.environ.get("SQUALL_HYPOTHESIS_EXAMPLES", "100"))
RENDER_BOUND_S = 30.0  # generous: one render of a small journal takes milliseconds; a hang takes forever
PROPS = settings(max_examples=EXAMPLES, deadline=None, database=None,
                 suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])


def squall(*args: str, cwd: Path, timeout: float = 90) -> subprocess.CompletedProcess[str]:
    return subprocess.run([SQUALL, *args], cwd=cwd, capture_output=True, text=True, timeout=timeout, check=False)


def assert_renders(journal: dict[str, Any], out: Path) -> dict[str, Path]:
    """All three artifacts written, well formed, within a generous bound."""
    started = time.monotonic()
    paths = render(journal, out)
    assert time.monotonic() - started < RENDER_BOUND_S
    ET.parse(paths["junit"])  # well-formed XML
    page = parse_html(paths["html"])  # valid UTF-8, parses
    assert page.meta("squall-verdict") in ("passed", "failed", "aborted", "inconclusive")
    assert page.count("script") == 0  # journal text is escaped: "<script>" from a journal stays text
    assert page.text.count("squall") >= 1
    paths["markdown"].read_text(encoding="utf-8")
    return paths


@PROPS
@given(recipe=Recipe)
def test_mutated_journals_render_all_three_artifacts(recipe: Any, tmp_path_factory: pytest.TempPathFactory) -> None:
    assert_renders(apply(recipe), tmp_path_factory.mktemp("mutated"))


_TEXT_EDITS = st.sampled_from([
    ("surrogate", lambda s: s.replace('"Checkout', '"\\ud800Checkout', 1).replace('"latency', '"x\\udfff', 1)),
    ("deep", lambda s: s[:-1] + ', "deep": ' + "[" * 5_000 + "]" * 5_000 + "}"),
    ("huge int", lambda s: s[:-1] + ', "n": ' + "9" * 5_000 + "}"),
    ("int beyond float", lambda s: s.replace('"started": 1764300000.0', '"started": 1' + "0" * 400)),
    ("nan", lambda s: s.replace('"duration": 42.0', '"duration": NaN').replace("1.234", "Infinity")),
    ("truncated", lambda s: s[: len(s) // 2]),
    ("bom", lambda s: "\ufeff" + s),
    ("not an object", lambda s: "[" + s + "]"),
    ("escaped controls", lambda s: s.replace("Latency on", "\\u0000\\ufffe\\u001b Latency on")),
])


@PROPS
@given(base=st.sampled_from(["passed", "crashed", "aborted"]), edits=st.lists(_TEXT_EDITS, min_size=1, max_size=3))
def test_journal_files_render_or_are_refused_with_exit_4(base: str, edits: list[Any],
                                                         tmp_path_factory: pytest.TempPathFactory) -> None:
    journal = {"passed": J.passed_run, "crashed": J.crashed_run, "aborted": J.aborted_run}[base]()
    text = json.dumps(journal)
    for _, edit in edits:
        text = edit(text)
    folder = tmp_path_factory.mktemp("file")
    path = folder / "journal.json"
    path.write_text(text, encoding="utf-8", errors="surrogatepass")
    try:
        data = load_journal(path)
    except SystemExit as exc:
        assert exc.code == 4
        return
    assert_renders(data, folder / "out")


def test_the_testers_journals_render_or_exit_4_without_a_traceback(tmp_path: Path) -> None:
    (tmp_path / "deep.json").write_text('{"experiment": {"title": "x"}, "run": [{"output": '
                                        + "[" * 5_000 + "]" * 5_000 + "}]}")
    out = squall("report", "deep.json", "-o", "deep", cwd=tmp_path)
    assert out.returncode == 4 and "Traceback" not in out.stderr
    assert "nesting deeper than 100 levels" in out.stderr and 'journal "deep.json"' in out.stderr

    journal = J.passed_run()
    journal["experiment"]["title"] = "Checkout \ud800 survives"
    journal["run"][0]["output"] = {"note": "bad \ufffe \uffff \x01 \x1b \udfff chars"}
    journal["extensions"][0]["reason"] = "held \x00 \ufffe"
    (tmp_path / "odd.json").write_text(json.dumps(journal))  # ensure_ascii: lone surrogates as \ud800 escapes
    out = squall("report", "odd.json", "-o", "odd", cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    root = parse_junit(tmp_path / "odd" / "junit.xml")
    assert "verdict: Checkout \ufffd survives" in cases(root)
    html = (tmp_path / "odd" / "report.html").read_text(encoding="utf-8")
    assert "Checkout \ufffd survives" in html
    assert not any(c in html for c in "\ufffe\uffff\x01\x00")


def test_xml_illegal_code_points_never_reach_junit(tmp_path: Path) -> None:
    journal = J.failed_verifier_run()
    bad = "".join(chr(c) for c in (*range(0x20), 0x7F, 0xD800, 0xDBFF, 0xDC00, 0xDFFF, 0xFFFE, 0xFFFF))
    journal["experiment"]["title"] = f"title {bad} end"
    journal["run"][1]["output"]["summary"] = f"summary {bad} end"
    journal["extensions"][0]["run_id"] = f"id{bad}"
    paths = render(journal, tmp_path)
    root = parse_junit(paths["junit"])
    failure = next(root.iter("failure"))
    assert failure.get("message", "").startswith("summary ") and failure.get("message", "").endswith(" end")
    assert "verdict: title " in " ".join(cases(root))


def test_a_catastrophic_mask_pattern_is_stopped_named_once_and_fails_closed(tmp_path: Path) -> None:
    journal = J.passed_run()
    long_word = "word " * 12 + "x" * 40 + "!"  # exponential for Python's re
    longer = "a" * 30_000 + "!"  # slow even for the regex module: over the budget
    journal["run"][0]["output"] = longer
    journal["run"][3]["output"] = long_word
    (tmp_path / "journal.json").write_text(json.dumps(journal))
    started = time.monotonic()
    out = squall("report", "journal.json", "-o", "out", "--mask", r"^(\w+\s?)*$", cwd=tmp_path, timeout=120)
    assert time.monotonic() - started < 90  # generous: without a budget this burns CPU for minutes
    assert out.returncode == 0, out.stderr
    assert out.stderr.count(r'mask pattern "^(\w+\s?)*$" is too slow') == 1
    for name in ("report.html", "junit.xml", "summary.md"):
        assert "a" * 1_000 not in (tmp_path / "out" / name).read_text(encoding="utf-8")  # masked wholesale
    assert "too slow" in parse_html(tmp_path / "out" / "report.html").text


def test_a_pattern_out_of_budget_masks_every_text_left_and_is_named_once() -> None:
    slow = r"^(\w+\s?)*$"
    masker = Masker(patterns=[slow, r"CUST-\d+"], pattern_timeout_s=0.02, pattern_budget_s=0.1)
    assert masker.text("ticket CUST-12 ok") == f"ticket {MASK} ok"  # fast texts: checked, masked in place
    for i in range(40):  # each of these costs the slow pattern its whole per-text budget
        assert masker.text("a" * 20_000 + f"!{i}") == MASK
    assert masker.text("a short text, never checked") == MASK  # budget spent: fail closed, never unmasked
    assert list(masker.slow) == [slow] and "too slow" in masker.slow[slow]


def test_masking_stays_linear_on_long_runs_of_look_alike_characters() -> None:
    masker = from_experiment({})
    started = time.monotonic()
    for text in ("a-" * 16_000 + "token", "a." * 16_000 + "@", "a@" + "b." * 16_000, "@a" + "-a" * 16_000,
                 "eyJ" * 10_000 + "@", "sk-" * 10_000, "a://" * 8_000 + "@", "password: " * 10_000):
        masker.text(text)
    assert time.monotonic() - started < 20  # each takes milliseconds; quadratic patterns took minutes


@pytest.mark.parametrize("text", WEIRD_TEXT)
def test_the_masker_accepts_any_text(text: str) -> None:
    masker = from_experiment({"secrets": {"s": {"k": "hunter22"}}}, extra_patterns=["CUST-\\d+"])
    assert "hunter22" not in masker.text(text + " hunter22 CUST-12")
    assert masker.value(nested(5_000)) is not None  # deeper than the cap: shown as a marker, no RecursionError
    assert MASK in masker.text("x hunter22")


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        ('{"hello": "world"}', "found an object with hello"),
        ('{"activities": [], "system": {}, "chaoslib_version": "1.44.0", "target": "squall"}',
         "`chaos discover` output"),
        ('{"title": "x", "method": []}', "an experiment, not a journal"),
        ("{}", "empty"),
    ],
)
def test_a_file_that_is_not_a_journal_is_refused_with_exit_4(tmp_path: Path, content: str, expected: str) -> None:
    (tmp_path / "x.json").write_text(content)
    out = squall("report", "x.json", "-o", "out", cwd=tmp_path)
    assert out.returncode == 4, out.stdout + out.stderr
    assert 'journal "x.json" is not a Chaos Toolkit journal' in out.stderr and expected in out.stderr
    assert "expected the journal.json that `chaos run` writes" in out.stderr
    assert not (tmp_path / "out").exists()


def test_a_crashed_runs_real_journal_still_renders(tmp_path: Path) -> None:
    (tmp_path / "j.json").write_text(json.dumps(J.crashed_run()))
    out = squall("report", "j.json", "-o", "out", cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    assert "stopped halfway" in parse_html(tmp_path / "out" / "report.html").text
