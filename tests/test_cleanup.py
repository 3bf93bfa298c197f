"""`squall cleanup` against a real embedded proxy: no damaged ledger, odd toxic name or read-only file leaves a fault behind."""

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from aiohttp import web
from chaoslib.exceptions import ActivityFailed

from squall import config
from squall.actions import toxiproxy as tp
from squall.background import serve_app
from squall.ledger import Ledger
from squall.proxy import run_in_thread
from squall.toxiproxy_client import ToxiproxyClient

SQUALL = str(Path(sys.executable).parent / "squall")


@dataclass
class Api:
    """The embedded proxy with proxy "be" (to a closed port; no traffic is needed) and a ledger."""

    url: str
    client: ToxiproxyClient
    ledger: Ledger

    @property
    def cfg(self) -> dict[str, str]:
        return {"toxiproxy_url": self.url, "squall_ledger": str(self.ledger.path)}

    def toxics(self) -> list[str]:
        return sorted(t["name"] for t in self.client.toxics("be"))


@pytest.fixture
def api() -> Iterator[Api]:
    with run_in_thread(host="127.0.0.1", port=0) as proxy, ToxiproxyClient(proxy.url) as client:
        client.create_proxy("be", "127.0.0.1:0", "127.0.0.1:9")
        yield Api(proxy.url, client, Ledger(config.ledger_path()))


def squall_cleanup(ledger: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([SQUALL, "cleanup", "--ledger", str(ledger), *args], capture_output=True, text=True,
                          timeout=60, check=False)


def _append_raw(path: Path, data: bytes) -> None:
    with open(path, "ab") as fh:
        fh.write(data)


def _orphan(api: Api, proxy: str, toxic: str) -> None:
    """A ledger entry of a run that died (old squall wrote it by hand: no name checks), for a toxic that exists."""
    record = {"op": "apply", "id": f"old-{abs(hash(toxic))}", "kind": "toxiproxy.toxic",
              "target": {"proxy": proxy, "toxic": toxic}, "undo": {"url": api.url, "proxy": proxy, "toxic": toxic},
              "description": f"latency as {toxic!r}", "run_id": "crashed", "pid": 2**22 + 11, "applied_at": 1.0}
    _append_raw(api.ledger.path, (json.dumps(record) + "\n").encode())


# -- item 1: one bad line must not stop removal ------------------------------------------
@pytest.mark.parametrize("garbage", [b"42", b"[1]", b"\xff\xfe\x00garbage", b'{"op":"apply","kind":"toxiproxy.toxic"}',
                                     b"FUTURE"], ids=["number", "list", "not-utf8", "no-id", "newer-field"])
def test_cleanup_removes_every_readable_fault_around_a_bad_line(api: Api, garbage: bytes) -> None:
    tp.add_latency("be", 100, name="first", configuration=api.cfg)
    if garbage == b"FUTURE":  # a newer squall's entry: an unknown field, otherwise fine, and its toxic exists
        api.client.add_toxic("be", "latency", {"latency": 1}, name="newer")
        record = {**json.loads(api.ledger.path.read_text().splitlines()[0]), "id": "n1", "priority": "high"}
        record["undo"] = {**record["undo"], "toxic": "newer"}
        garbage = json.dumps(record).encode()
    _append_raw(api.ledger.path, garbage + b"\n")
    tp.add_latency("be", 100, name="second", configuration=api.cfg)
    out = squall_cleanup(api.ledger.path, "--all")
    assert out.returncode == 0, out.stderr
    assert "Traceback" not in out.stderr
    assert api.toxics() == []
    assert api.ledger.open_entries() == []
    if b"priority" in garbage:
        assert "skipped" not in out.stderr
    else:
        assert "line 2" in out.stderr and "skipped" in out.stderr


def test_only_orphaned_faults_by_default_even_with_garbage(api: Api) -> None:
    tp.add_latency("be", 100, name="mine", configuration=api.cfg)  # this process is alive: not orphaned
    _append_raw(api.ledger.path, b"[1]\n")
    api.client.add_toxic("be", "latency", {"latency": 1}, name="theirs")
    _orphan(api, "be", "theirs")
    out = squall_cleanup(api.ledger.path)
    assert out.returncode == 0, out.stderr
    assert api.toxics() == ["mine"]


def test_an_entry_with_unusable_undo_data_does_not_stop_the_others(api: Api) -> None:
    api.client.add_toxic("be", "latency", {"latency": 1}, name="theirs")
    _orphan(api, "be", "theirs")
    broken = {"op": "apply", "id": "b1", "kind": "toxiproxy.toxic", "target": {}, "undo": {"proxy": "be"},
              "description": "no url to undo it with", "run_id": "crashed", "pid": 2**22 + 11, "applied_at": 2.0}
    _append_raw(api.ledger.path, (json.dumps(broken) + "\n").encode())
    out = squall_cleanup(api.ledger.path)
    assert out.returncode == 5 and "Traceback" not in out.stderr
    assert "FAILED to remove: no url to undo it with: cannot undo ledger entry b1: KeyError" in out.stderr
    assert api.toxics() == []  # the entry before it (undone after it: newest first) was still removed
    assert [e.id for e in api.ledger.open_entries()] == ["b1"]


# -- item 2: a torn last line must not hide the next fault ------------------------------
def test_a_torn_line_does_not_hide_the_fault_written_after_it(api: Api) -> None:
    _append_raw(api.ledger.path, b'{"op":"apply","id":"dead","kind":"toxiproxy.toxic","undo":{"url"')  # killed mid-write
    tp.add_latency("be", 100, name="after-the-crash", configuration=api.cfg)
    out = squall_cleanup(api.ledger.path, "--all")
    assert out.returncode == 0, out.stderr
    assert "removed: latency 100 ms on be" in out.stdout
    assert api.toxics() == []
    assert "line 1" in out.stderr


# -- item 3: names are encoded; a 404 is "gone" only when the server says so ------------
@pytest.mark.parametrize("name", ["q?x", "h#x", "a%2Fb", "sp ace", "ünï", "a/b", "{x}"])
def test_cleanup_removes_toxics_with_url_special_names_and_nothing_else(api: Api, name: str) -> None:
    api.client.add_toxic("be", "latency", {"latency": 1}, name="bystander")
    api.client.add_toxic("be", "latency", {"latency": 1}, name=name)
    _orphan(api, "be", name)
    out = squall_cleanup(api.ledger.path)
    assert out.returncode == 0, out.stderr
    assert f"toxic {name} on be removed" in out.stdout
    assert api.toxics() == ["bystander"]


@pytest.mark.parametrize("name", ["..", "."])
def test_a_dot_name_in_the_ledger_is_reported_not_sent(api: Api, name: str) -> None:
    api.client.add_toxic("be", "latency", {"latency": 1}, name="bystander")
    _orphan(api, "be", name)
    out = squall_cleanup(api.ledger.path)
    assert out.returncode == 5
    assert f'toxic name "{name}" cannot be used in a Toxiproxy URL' in out.stderr
    assert "Traceback" not in out.stderr
    assert "be" in api.client.proxies() and api.toxics() == ["bystander"]
    assert len(api.ledger.open_entries()) == 1  # still listed for a person to look at


@pytest.mark.parametrize("name", ["..", ".", "a/b", ""])
def test_an_action_refuses_a_name_it_could_not_remove_before_applying(api: Api, name: str) -> None:
    with pytest.raises(ActivityFailed, match="name"):
        tp.add_latency("be", 100, name=name, configuration=api.cfg)
    assert api.toxics() == [] and api.ledger.entries() == []


@pytest.fixture
def not_found_everywhere() -> Iterator[str]:
    """A server that answers 404 with a router's text for every path (what a Toxiproxy does for an unknown route)."""
    async def handler(request: web.Request) -> web.Response:
        return web.Response(status=404, text="404 page not found")

    def app() -> web.Application:
        application = web.Application()
        application.router.add_route("*", "/{tail:.*}", handler)
        return application

    with serve_app(app) as url:
        yield url


def test_a_404_that_is_not_a_missing_toxic_is_a_failure(api: Api, not_found_everywhere: str) -> None:
    record = {"op": "apply", "id": "e1", "kind": "toxiproxy.toxic", "target": {}, "description": "latency on be",
              "undo": {"url": not_found_everywhere, "proxy": "be", "toxic": "t"},
              "run_id": "crashed", "pid": 2**22 + 11, "applied_at": 1.0}
    _append_raw(api.ledger.path, (json.dumps(record) + "\n").encode())
    out = squall_cleanup(api.ledger.path)
    assert out.returncode == 5
    assert "FAILED to remove: latency on be" in out.stderr and "404 page not found" in out.stderr
    assert len(api.ledger.open_entries()) == 1


# -- item 4: a read-only ledger -----------------------------------------------------------
def _without_root_override() -> list[str]:
    """A command prefix under which root, too, obeys file modes (root bypasses them otherwise)."""
    if os.geteuid() != 0:
        return []
    setpriv = shutil.which("setpriv")
    if setpriv is None:
        pytest.skip("running as root without setpriv (util-linux): a read-only file cannot be made read-only for root")
    return [setpriv, "--bounding-set=-dac_override,-dac_read_search", "--inh-caps=-dac_override,-dac_read_search"]


def test_read_only_ledger_still_removes_every_fault_and_says_what_it_could_not_strike(api: Api) -> None:
    for name in ("one", "two", "three"):
        tp.add_latency("be", 100, name=name, configuration=api.cfg)
    api.ledger.path.chmod(0o444)
    out = subprocess.run([*_without_root_override(), SQUALL, "cleanup", "--ledger", str(api.ledger.path), "--all"],
                         capture_output=True, text=True, timeout=60, check=False)
    assert out.returncode == 5, out.stderr
    assert "Traceback" not in out.stderr
    assert api.toxics() == []
    assert out.stdout.count("removed: latency 100 ms") == 3
    assert "cannot write to fault ledger" in out.stdout and "Permission denied" in out.stdout
    assert "3 fault(s) removed but not struck off" in out.stderr
    assert len(api.ledger.open_entries()) == 3  # nothing could be written: a later cleanup tries again (harmless)
