"""No secret reaches any file a run writes: journal, chaostoolkit.log, report.html, junit.xml, summary.md."""

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from aiohttp import web
from report_parsing import parse_html

from squall.background import serve_app
from squall.config import redact_url
from squall.reporting import render
from squall.reporting.masking import from_experiment

HERE = Path(__file__).parent
BIN = Path(sys.executable).parent

LIVE_SECRET = "live-secret-3344"  # the value of the env variable a secret reads
SECRET_DEFAULT = "secret-default-9912"  # a default declared in the secrets section
PLAIN_SECRET = "plain-secret-5521"  # a secret written inline
CONFIG_DEFAULT = "cfg-default-pw-7731"  # the env default of a secret-looking configuration entry (it is used)
URL_TOKEN = "tok-in-url-6655"  # an access_token query parameter of an SLI URL
URL_SIG = "sig-in-url-8877"
SECRETS = (LIVE_SECRET, SECRET_DEFAULT, PLAIN_SECRET, CONFIG_DEFAULT, URL_TOKEN, URL_SIG)


@pytest.fixture
def service() -> Iterator[str]:
    async def ok(request: web.Request) -> web.Response:
        return web.json_response({"ok": True})

    app = web.Application()
    app.router.add_get("/checkout", ok)
    with serve_app(lambda: app) as base:
        yield base


def _python(kind: str, name: str, module: str, func: str, **arguments: object) -> dict:
    return {"type": kind, "name": name,
            "provider": {"type": "python", "module": module, "func": func, "arguments": arguments}}


def _experiment(url: str, report_dir: Path) -> dict:
    slo = _python("probe", "checkout-slo", "squall.probes.sli", "meets_slo", url=url, requests=3, max_p95_ms=2000)
    slo["tolerance"] = True
    return {
        "title": "Secrets stay secret",
        "description": "every secret of this run is masked in every file it writes",
        "configuration": {
            "db_password": {"type": "env", "key": "SQUALL_TEST_UNSET_DB_PASSWORD", "default": CONFIG_DEFAULT},
            "region": {"type": "env", "key": "SQUALL_TEST_UNSET_REGION", "default": "eu-test-1"},
        },
        "secrets": {"payments": {
            "api_key": {"type": "env", "key": "SQUALL_TEST_API_KEY", "default": SECRET_DEFAULT},
            "signing": PLAIN_SECRET,
        }},
        "controls": [{"name": "squall", "provider": {"type": "python", "module": "squall.control", "arguments": {
            "sli": [{"name": "checkout", "url": url, "interval_s": 0.2, "timeout_s": 1.0}],
            "report_dir": str(report_dir),
        }}}],
        "steady-state-hypothesis": {"title": "checkout healthy", "probes": [slo]},
        "method": [
            _python("action", "careless-echo", "report_helpers", "echo",
                    text=f"pw ${{db_password}} default {SECRET_DEFAULT} at {url}"),
            _python("action", "careless-failure", "report_helpers", "fail",
                    message=f"could not log in with {SECRET_DEFAULT} / {PLAIN_SECRET} / ${{db_password}} at {url}"),
        ],
    }


@pytest.mark.slow
def test_no_secret_reaches_any_file_a_run_writes(service: str, tmp_path: Path) -> None:
    url = f"{service}/checkout?access_token={URL_TOKEN}&page=2&sig={URL_SIG}"
    report_dir = tmp_path / "report"
    (tmp_path / "experiment.json").write_text(json.dumps(_experiment(url, report_dir)))
    env = {**os.environ, "PYTHONPATH": str(HERE), "SQUALL_TEST_API_KEY": LIVE_SECRET}
    out = subprocess.run(
        [str(BIN / "chaos"), "--log-file", str(tmp_path / "chaostoolkit.log"), "--no-version-check",
         "--settings", str(tmp_path / "no-settings.yaml"), "run", "--journal-path", str(tmp_path / "journal.json"),
         str(tmp_path / "experiment.json")],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120, check=False,
    )
    journal_path = tmp_path / "journal.json"
    assert journal_path.exists(), out.stderr[-3000:]
    again = subprocess.run([str(BIN / "squall"), "report", str(journal_path), "-o", str(tmp_path / "again")],
                           capture_output=True, text=True, timeout=60, check=False, env=env)
    assert again.returncode == 0, again.stderr
    files = [journal_path, tmp_path / "chaostoolkit.log", *(report_dir / n for n in ("report.html", "junit.xml",
             "summary.md")), *((tmp_path / "again" / n) for n in ("report.html", "junit.xml", "summary.md"))]
    for path in files:
        text = path.read_text(encoding="utf-8")
        leaked = [s for s in SECRETS if s in text]
        assert not leaked, f"{path.name} carries {leaked}"
    for stream in (out.stdout, out.stderr, again.stdout, again.stderr):
        assert not [s for s in SECRETS if s in stream]

    journal_text = journal_path.read_text()
    assert "access_token=[masked]&page=2&sig=[masked]" in journal_text  # the URL still says where it went
    assert (tmp_path / "chaostoolkit.log").stat().st_size > 0
    page = parse_html(report_dir / "report.html")
    assert "region eu-test-1 (from environment variable SQUALL_TEST_UNSET_REGION)" in page.text
    assert "db_password [masked] (from environment variable SQUALL_TEST_UNSET_DB_PASSWORD)" in page.text
    assert "could not log in with [masked] / [masked] / [masked]" in page.text


def test_a_report_of_a_journal_without_the_control_masks_declared_defaults(tmp_path: Path) -> None:
    journal = {
        "chaoslib-version": "1.44.0", "status": "completed", "start": "2025-11-28T03:20:00+00:00",
        "end": "2025-11-28T03:20:05+00:00",
        "experiment": {
            "title": "defaults",
            "configuration": {"api_token": {"type": "env", "key": "UNSET_TOKEN_VAR", "default": CONFIG_DEFAULT},
                              "auth": {"type": "env", "key": "SOME_VAR", "default": "x"},
                              "conn": {"type": "env", "key": "DB_PASSWORD", "default": "conn-default-1199"},
                              "region": {"type": "env", "key": "REGION", "default": "eu-test-1"}},
            "secrets": {"s": {"k": {"type": "env", "key": "UNSET_SECRET_VAR", "default": SECRET_DEFAULT}}},
        },
        "run": [{"activity": {"type": "action", "name": "a", "provider": {
            "type": "http", "url": f"http://127.0.0.1:1/x?apikey={URL_TOKEN}&signature={URL_SIG}"}},
            "status": "failed", "output": f"{CONFIG_DEFAULT} conn-default-1199",
            "exception": [f"RuntimeError: {SECRET_DEFAULT} rejected\n"]}],
    }
    paths = render(journal, tmp_path)
    for path in paths.values():
        text = path.read_text(encoding="utf-8")
        assert not [s for s in (*SECRETS, "conn-default-1199") if s in text], path.name
    page = parse_html(paths["html"])
    assert "api_token [masked] (from environment variable UNSET_TOKEN_VAR)" in page.text
    assert "conn [masked] (from environment variable DB_PASSWORD)" in page.text  # the variable's name says secret
    assert "region from environment variable REGION (default eu-test-1" in page.text  # not a secret: shown


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        ("http://127.0.0.1:8080/x?access_token=abc&page=2", "http://127.0.0.1:8080/x?access_token=[masked]&page=2"),
        ("http://h/x?page=1&TOKEN=abc#frag", "http://h/x?page=1&TOKEN=[masked]#frag"),
        ("http://h/x?api_key=a&apikey=b&key=c&password=d&secret=e&sig=f&signature=g&auth=h",
         "http://h/x?api_key=[masked]&apikey=[masked]&key=[masked]&password=[masked]&secret=[masked]"
         "&sig=[masked]&signature=[masked]&auth=[masked]"),
        ("http://h/x?monkey=1&keys=2&tokens=3&page=token", "http://h/x?monkey=1&keys=2&tokens=3&page=token"),
        ("http://u:p@h/x?key=", "http://[masked]@h/x?key="),
    ],
)
def test_credential_query_parameters_are_masked_in_urls(url: str, shown: str) -> None:
    assert redact_url(url) == shown
    if "@" not in url:  # (the report keeps a URL's user name: "u:[masked]@")
        assert from_experiment({}).text(f"GET {url} failed") == f"GET {shown} failed"
