"""`squall proxy serve` as its own process: starts, answers, stops cleanly, explains a busy port."""

import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx

SERVE = [sys.executable, "-c", "from squall.cli import main; main()", "proxy", "serve"]


def _start(*args: str) -> tuple[subprocess.Popen[str], str]:
    proc = subprocess.Popen([*SERVE, *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    assert proc.stdout is not None
    line = proc.stdout.readline()  # the first line names the admin URL
    match = re.search(r"http://127\.0\.0\.1:\d+", line)
    if match is None:
        proc.kill()
        raise AssertionError(f"no admin URL in {line!r}; stderr: {proc.stderr.read() if proc.stderr else ''}")
    return proc, match.group(0)


def test_serve_answers_and_stops_cleanly_on_sigterm(tmp_path: Path, echo_upstream: str) -> None:
    config = tmp_path / "proxies.json"
    config.write_text(json.dumps([{"name": "echo", "listen": "127.0.0.1:0", "upstream": echo_upstream}]))
    proc, url = _start("--port", "0", "--config", str(config))
    try:
        assert proc.stdout is not None
        listed = proc.stdout.readline()
        assert "proxy echo: 127.0.0.1:" in listed and echo_upstream in listed
        with httpx.Client(base_url=url, trust_env=False, timeout=5) as client:
            assert client.get("/version").json()["version"].startswith("squall-")
            listen = client.get("/proxies/echo").json()["listen"]
        host, port = listen.rsplit(":", 1)
        with socket.create_connection((host, int(port)), timeout=5) as s:
            s.sendall(b"through")
            assert s.recv(7) == b"through"
        proc.send_signal(signal.SIGTERM)
        out, err = proc.communicate(timeout=15)
        assert proc.returncode == 0, err
        assert "stopped" in out
        assert "Traceback" not in err
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(5)


def test_serve_explains_a_port_in_use() -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen(1)
        port = busy.getsockname()[1]
        result = subprocess.run([*SERVE, "--port", str(port)], capture_output=True, text=True, timeout=30, check=False)
    assert result.returncode == 5
    assert f"port {port} on 127.0.0.1 is already in use" in result.stderr
    assert "--port" in result.stderr and "Traceback" not in result.stderr


def test_serve_rejects_a_bad_config_before_serving(tmp_path: Path) -> None:
    config = tmp_path / "proxies.json"
    config.write_text(json.dumps([{"name": "x", "listen": "127.0.0.1:0"}]))
    start = time.monotonic()
    result = subprocess.run([*SERVE, "--port", "0", "--config", str(config)],
                            capture_output=True, text=True, timeout=30, check=False)
    assert result.returncode == 4
    assert "missing required field: upstream at proxy 1" in result.stderr
    config.write_text("{not json")
    result = subprocess.run([*SERVE, "--port", "0", "--config", str(config)],
                            capture_output=True, text=True, timeout=30, check=False)
    assert result.returncode == 4 and "not valid JSON" in result.stderr
    fifo = tmp_path / "proxies.fifo"  # read through squall.loader: refused, never waited on
    os.mkfifo(fifo)
    result = subprocess.run([*SERVE, "--port", "0", "--config", str(fifo)],
                            capture_output=True, text=True, timeout=30, check=False)
    assert result.returncode == 4 and "not a regular file" in result.stderr
    assert time.monotonic() - start < 30


def test_run_in_thread_creates_configured_proxies(tmp_path: Path, echo_upstream: str) -> None:
    from squall.proxy import run_in_thread

    config = tmp_path / "proxies.json"
    config.write_text(json.dumps([{"name": "echo", "listen": "127.0.0.1:0", "upstream": echo_upstream}]))
    with run_in_thread(config=config) as proxy, httpx.Client(base_url=proxy.url, trust_env=False) as client:
        assert proxy.url == f"http://127.0.0.1:{proxy.port}"
        listen = client.get("/proxies/echo").json()["listen"]
        host, port = listen.rsplit(":", 1)
        with socket.create_connection((host, int(port)), timeout=5) as s:
            s.sendall(b"configured")
            assert s.recv(10) == b"configured"
