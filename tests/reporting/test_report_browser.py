"""report.html in a real headless Chromium: it renders, shows the verdict, logs no console error, fetches nothing."""

import shutil
import struct
import subprocess
from pathlib import Path

import pytest
import report_journals as J

from squall.reporting import render

CHROMIUM = shutil.which("chromium")

pytestmark = [
    pytest.mark.chromium,
    pytest.mark.skipif(CHROMIUM is None, reason="the chromium binary is not installed (CI installs it via apt)"),
]


def chromium(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    assert CHROMIUM is not None
    return subprocess.run(
        [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync", "--disable-quic",
         "--host-resolver-rules=MAP * ~NOTFOUND",  # any network fetch would fail loudly in the console
         "--enable-logging=stderr", "--v=0", f"--user-data-dir={tmp_path / 'profile'}", *args],
        capture_output=True, text=True, timeout=90, check=False,
    )


def _console_errors(stderr: str) -> list[str]:
    return [line for line in stderr.splitlines()
            if "CONSOLE" in line or "Uncaught" in line or "net::ERR" in line or "Failed to load" in line]


def test_report_renders_in_headless_chromium_without_console_errors(tmp_path: Path) -> None:
    journal = J.aborted_run()
    journal["run"][0]["activity"]["name"] = "<script>console.error('injected')</script>latency"
    html = render(journal, tmp_path / "out")["html"]
    url = html.resolve().as_uri()

    dom = chromium(tmp_path, "--dump-dom", url)
    assert dom.returncode == 0, dom.stderr[-2000:]
    assert 'class="verdict-word">Aborted<' in dom.stdout
    assert "&lt;script&gt;console.error('injected')&lt;/script&gt;latency" in dom.stdout
    assert _console_errors(dom.stderr) == []

    png = tmp_path / "report.png"
    shot = chromium(tmp_path, f"--screenshot={png}", "--window-size=1280,2000", url)
    assert shot.returncode == 0, shot.stderr[-2000:]
    assert _console_errors(shot.stderr) == []
    data = png.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    width, height = struct.unpack(">II", data[16:24])
    assert (width, height) == (1280, 2000)
    assert len(data) > 40_000  # a blank page compresses to a few kB; charts and tables do not
