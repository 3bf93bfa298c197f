"""The report of a genuine run with squall's control: a real fault on the embedded proxy, a real SLI timeline."""

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from aiohttp import web
from report_parsing import cases, parse_html, parse_junit

from squall.background import serve_app
from squall.proxy import run_in_thread
from squall.toxiproxy_client import ToxiproxyClient

SQUALL = str(Path(sys.executable).parent / "squall")
TOX = "squall.actions.toxiproxy"


def _app() -> web.Application:
    async def ok(request: web.Request) -> web.Response:
        return web.json_response({"ok": True})

    app = web.Application()
    app.router.add_get("/checkout", ok)
    return app


@pytest.fixture
def proxied_service() -> Iterator[tuple[str, str]]:
    """(toxiproxy API URL, the service's /checkout through proxy "checkout")."""
    with serve_app(_app) as base, run_in_thread(host="127.0.0.1", port=0) as proxy, \
            ToxiproxyClient(proxy.url) as client:
        created = client.create_proxy("checkout", "127.0.0.1:0", base.removeprefix("http://"))
        port = created["listen"].rsplit(":", 1)[1]
        yield proxy.url, f"http://127.0.0.1:{port}/checkout"


def _python(kind: str, name: str, module: str, func: str, **arguments: object) -> dict:
    return {"type": kind, "name": name,
            "provider": {"type": "python", "module": module, "func": func, "arguments": arguments}}


@pytest.mark.slow
def test_report_of_a_run_with_the_control(proxied_service: tuple[str, str], chaos_journal, tmp_path: Path) -> None:
    api, url = proxied_service
    report_dir = tmp_path / "auto-report"
    slo = _python("probe", "checkout-slo", "squall.probes.sli", "meets_slo", url=url, requests=5,
                  min_success_rate=1.0, max_p95_ms=1000)
    slo["tolerance"] = True
    journal = chaos_journal({
        "title": "Checkout under payments latency",
        "description": "latency on the checkout proxy, then heal and check recovery",
        "configuration": {"toxiproxy_url": api, "db_password": "pw-never-shown-42"},
        "controls": [{"name": "squall", "provider": {"type": "python", "module": "squall.control", "arguments": {
            "sli": [{"name": "checkout", "url": url, "interval_s": 0.1, "timeout_s": 1.0}],
            "report_dir": str(report_dir),
        }}}],
        "steady-state-hypothesis": {"title": "checkout healthy", "probes": [slo]},
        "method": [
            # the sampler (every 0.1 s) gets a second before and after the fault on any machine, loaded or not:
            # the report's before/during/after segments need samples in each
            _python("action", "settle-before", "report_helpers", "hold", seconds=1.0),
            _python("action", "checkout-latency", TOX, "add_latency", proxy="checkout", latency_ms=120),
            _python("action", "hold", "report_helpers", "hold", seconds=0.8),
            _python("action", "heal-checkout", TOX, "heal", proxy="checkout"),
            # p95 under 100 ms: the 120 ms latency hurt, so there is a recovery to measure
            _python("probe", "checkout-recovers", "squall.verify", "recovery", url=url, within_s=5, window=3,
                    max_p95_ms=100),
            _python("action", "settle-after", "report_helpers", "hold", seconds=1.0),
        ],
    })
    ext = next(e for e in journal["extensions"] if e.get("name") == "squall")
    assert ext["verdict"] == "passed", ext.get("reason")

    # The control rendered the report on exit, through squall.reporting.render.
    page = parse_html(report_dir / "report.html")
    assert page.meta("squall-verdict") == "passed"
    assert "squall control" in page.text and "Checkout under payments latency" in page.text
    assert "latency 120 ms" in page.text  # the fault window's description
    assert "during fault" in page.text and "before fault" in page.text
    assert "✓ passed checkout-recovers" in page.text and "time to recover (s)" in page.text
    assert "pw-never-shown-42" not in (report_dir / "report.html").read_text()
    html = (report_dir / "report.html").read_text()
    assert html.count('fill="url(#sq-hatch)"') >= 3  # the fault shaded on the strip and both charts

    # Rendering the same journal again with `squall report` gives the same verdict and checks.
    journal_path = next(tmp_path.glob("journal-*.json"))
    out = subprocess.run([SQUALL, "report", str(journal_path), "-o", str(tmp_path / "again")],
                         capture_output=True, text=True, timeout=60, check=False)
    assert out.returncode == 0, out.stderr
    root = parse_junit(tmp_path / "again" / "junit.xml")
    names = set(cases(root))
    assert {"steady state before: checkout-slo", "steady state after: checkout-slo",
            "verifier: checkout-recovers", "verdict: Checkout under payments latency"} <= names
    assert not list(root.iter("failure"))
    samples = ext["timeline"]["samples"]
    assert f"{len(samples)} requests" in parse_html(tmp_path / "again" / "report.html").text
