"""Reports of genuine journals written by `chaos run` (plain Chaos Toolkit, no squall control)."""

import os
import re
from pathlib import Path

from report_parsing import cases, parse_html, parse_junit

from squall.reporting import render


def _probe(label: str, module: str, func: str, tolerance: object = None, **arguments: object) -> dict:
    out: dict = {"type": "probe", "name": label,
                 "provider": {"type": "python", "module": module, "func": func, "arguments": arguments}}
    if tolerance is not None:
        out["tolerance"] = tolerance
    return out


def _action(label: str, module: str, func: str, **arguments: object) -> dict:
    return {"type": "action", "name": label,
            "provider": {"type": "python", "module": module, "func": func, "arguments": arguments}}


def test_plain_chaos_toolkit_run_that_held(chaos_journal, tmp_path: Path) -> None:
    size = os.path.getsize(__file__)
    journal = chaos_journal({
        "title": "Files stay put",
        "description": "a plain experiment",
        "steady-state-hypothesis": {"title": "files", "probes": [
            _probe("tmp-exists", "os.path", "exists", True, path="/tmp"),
            _probe("this-file-size", "os.path", "getsize", {"type": "range", "range": [size - 1, size + 1]},
                   filename=__file__),
        ]},
        "method": [
            _action("hold", "report_helpers", "hold", seconds=0.05),
            _probe("missing-file", "os.path", "getsize", filename="/nonexistent/x"),
        ],
        "rollbacks": [_action("rollback-echo", "report_helpers", "echo", text="rolled back")],
    })
    assert journal["status"] == "completed" and "extensions" not in journal
    paths = render(journal, tmp_path / "out")
    page = parse_html(paths["html"])
    assert page.meta("squall-verdict") == "passed"
    assert "Passed — Files stay put" in page.text
    assert "Every steady-state check held (4)." in page.text  # two probes, before and after
    assert f"in [{size - 1}, {size + 1}]" in page.text and "== true" in page.text
    # The failing method probe is shown with its error, not as a raw traceback dump.
    assert "FileNotFoundError" in page.text and "traceback" in page.text
    assert "rolled back" in page.text
    # Durations with ms precision: the 50 ms hold shows as ~50 ms, never "0 seconds".
    assert "0 seconds" not in page.text
    took = re.search(r"report_helpers\.hold\(seconds=0\.05\) succeeded \+\d+\.\d{3} s ([\d.]+) ms", page.text)
    assert took is not None and 50 <= float(took.group(1)) < 5000
    root = parse_junit(paths["junit"])
    assert len(cases(root)) == 5 and not list(root.iter("failure"))
    md = paths["markdown"].read_text()
    assert md.startswith("### ✅ PASSED: Files stay put")
    assert md.count("| ✅ held |") == 4


def test_plain_chaos_toolkit_run_that_deviated(chaos_journal, tmp_path: Path) -> None:
    marker = tmp_path / "marker"
    journal = chaos_journal({
        "title": "No marker appears",
        "description": "the method creates what the hypothesis forbids",
        "steady-state-hypothesis": {"title": "no marker", "probes": [
            _probe("marker-absent", "os.path", "exists", False, path=str(marker)),
        ]},
        "method": [_action("make-marker", "os", "makedirs", name=str(marker))],
    })
    assert journal["deviated"] is True
    paths = render(journal, tmp_path / "out")
    page = parse_html(paths["html"])
    assert page.meta("squall-verdict") == "failed"
    assert 'The steady state deviated after the method: probe "marker-absent" measured true, expected == false.' \
        in page.text
    root = parse_junit(paths["junit"])
    failure = cases(root)["steady state after: marker-absent"].find("failure")
    assert failure is not None and failure.get("message") == "measured true, expected == false"
    assert cases(root)["steady state before: marker-absent"].find("failure") is None
    assert "| marker-absent | steady state after | ❌ failed | measured true, expected == false |" \
        in paths["markdown"].read_text()


SECRET_PW = "pg-Secret-77xyz"
SECRET_KEY = "sk-abcdefghijklmnopqrstuvwx"
ENV_TOKEN = "envtok-9f8e7d6c5b"
URL_PW = "hunter2pw"
BEARER = "eyJhbGciOi.eyJzdWIiOiIx.c2lnbmF0dXJl"
EMAIL = "oncall.person@example.com"


def test_secrets_are_masked_and_markup_is_escaped_in_every_artifact(chaos_journal, tmp_path: Path,
                                                                    monkeypatch) -> None:
    journal = chaos_journal({
        "title": "<script>alert('title')</script> checkout",
        "description": "<b>bold?</b>",
        "configuration": {
            "api_url": f"http://svc:{URL_PW}@127.0.0.1:1/x",
            "db_password": SECRET_PW,
            "region": "eu-west-1",
        },
        "secrets": {"svc": {"api_key": SECRET_KEY, "session": {"type": "env", "key": "REPORT_TEST_TOKEN"}}},
        "method": [
            _action("<img src=x onerror=alert(1)> step", "report_helpers", "echo",
                    text=f"<script>alert(2)</script> Authorization: Bearer {BEARER} mail {EMAIL} "
                         f"password={SECRET_PW} url http://admin:{URL_PW}@db.internal:5432/x"),
            {"type": "action", "name": "leaky",
             "provider": {"type": "python", "module": "report_helpers", "func": "leak",
                          "arguments": {"note": "token in a dict"}, "secrets": ["svc"]}},
        ],
    }, env={"REPORT_TEST_TOKEN": ENV_TOKEN})
    # The env secret was resolved during the run and leaked into an output ...
    assert ENV_TOKEN in str(journal["run"][1]["output"])
    # ... and the variable is not set when the report is rendered: it is masked by its key name.
    monkeypatch.delenv("REPORT_TEST_TOKEN", raising=False)
    paths = render(journal, tmp_path / "out")
    for path in paths.values():
        data = path.read_text(encoding="utf-8")
        for secret in (SECRET_PW, SECRET_KEY, ENV_TOKEN, URL_PW, BEARER, EMAIL):
            assert secret not in data, f"{secret} leaked into {path.name}"
        assert "<script>" not in data.replace("\\<script\\>", "")  # escaped in every format
    html = paths["html"].read_text()
    assert "&lt;script&gt;alert(2)&lt;/script&gt;" in html
    assert "&lt;img src=x onerror=alert(1)&gt; step" in html
    page = parse_html(paths["html"])
    assert page.count("script") == 0 and page.count("img") == 0 and page.count("b") == 0
    assert "<script>alert('title')</script> checkout" in page.text  # shown as text
    assert "[masked]" in page.text and "eu-west-1" in page.text  # masked, but not everything
    assert "http://svc:[masked]@127.0.0.1:1/x" in page.text
    assert "svc.session [masked] (from env REPORT_TEST_TOKEN)" in page.text
    root = parse_junit(paths["junit"])
    suite = root.find("testsuite")
    assert suite is not None and suite.get("name") == "<script>alert('title')</script> checkout"


def test_an_env_secret_set_at_report_time_is_masked_by_value(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("REPORT_TEST_TOKEN", ENV_TOKEN)
    journal = {
        "experiment": {"title": "env", "secrets": {"svc": {"t": {"type": "env", "key": "REPORT_TEST_TOKEN"}}}},
        "status": "completed",
        "run": [{"activity": {"name": "say", "type": "action"}, "status": "succeeded",
                 "output": f"the token is {ENV_TOKEN}!"}],
    }
    paths = render(journal, tmp_path / "out", mask_patterns=[r"eu-\w+-\d"])
    html = paths["html"].read_text()
    assert ENV_TOKEN not in html and "the token is [masked]!" in html
