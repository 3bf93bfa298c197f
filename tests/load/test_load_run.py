"""Locust in its own process through the embedded proxy: groups, a scoped fault, distributed mode, stopping by PID."""

import sys
import time

import pytest
from load_harness import Proxied, alive

from squall.errors import ExperimentInvalid
from squall.load import CONTROL, EXPERIMENT, EXPERIMENT_SCOPE, LoadRun, parse
from squall.load.groups import Splitter, group_of
from squall.toxiproxy_client import ToxiproxyClient


def _spec(url: str, **extra: object) -> object:
    return parse({"targets": [url], "users": 4, "spawn_rate": 50, "before_s": 0, "during_s": 20, "after_s": 0,
                  "wait_s": 0.02, **extra})


def _run_for(run: LoadRun, seconds: float) -> None:
    try:
        run.start()
        run.wait_until(seconds)
    finally:
        run.stop()


def test_a_scoped_fault_meets_only_the_experiment_group(proxied: Proxied) -> None:
    with ToxiproxyClient(proxied.toxiproxy) as client:
        client.add_toxic("payments", "http_error", {"status": 503, "baggage": EXPERIMENT_SCOPE}, name="storm")
        run = LoadRun(_spec(f"{proxied.proxied}/pay"))  # type: ignore[arg-type]
        started = time.time()
        _run_for(run, 1.5)
        stats = client.stats("payments")
    control = run.samples(started, time.time(), CONTROL)
    experiment = run.samples(started, time.time(), EXPERIMENT)
    assert len(control) >= 10 and len(experiment) >= 10
    assert abs(len(control) - len(experiment)) <= len(run.collector.pids) * 4 + 2  # half and half, per process
    assert all(s.ok and s.status == 200 for s in control)  # the control group crossed the same proxy unharmed
    assert all(not s.ok and s.status == 503 for s in experiment)
    events = stats["http"]["events"]
    injected = [e for e in events if e["injected"]]
    assert injected and all(group_of(e["baggage"]) == EXPERIMENT for e in injected)
    assert all(e["status"] == 200 for e in events if group_of(e["baggage"]) == CONTROL)
    # the per-second timeline of each group
    seconds = run.record()["seconds"]
    by_group = {g: sum(row[2] for row in seconds if row[1] == g) for g in (CONTROL, EXPERIMENT)}
    assert by_group == {CONTROL: len(run.samples(0, 2e9, CONTROL)), EXPERIMENT: len(run.samples(0, 2e9, EXPERIMENT))}
    assert all(row[3] == 0 for row in seconds if row[1] == EXPERIMENT)
    # Locust ran in its own process: gevent's monkey-patching never reached this one
    assert "gevent" not in sys.modules and "locust" not in sys.modules


def test_distributed_mode_runs_a_master_and_two_workers_and_stops_them_all(proxied: Proxied) -> None:
    run = LoadRun(_spec(f"{proxied.proxied}/pay", workers=2))  # type: ignore[arg-type]
    try:
        run.start()
        pids = run.pids
        assert len(pids) == 3  # the master and two workers
        deadline = time.monotonic() + 40
        while len(run.collector.pids) < 2 and time.monotonic() < deadline:  # both workers sent requests
            time.sleep(0.1)
    finally:
        run.stop()
    assert len(run.collector.pids) == 2 and set(run.collector.pids) <= set(pids[1:])
    assert run.pids == [] and not any(alive(pid) for pid in pids)
    assert run.samples(0, 2e9) and all(s.ok for s in run.samples(0, 2e9))
    assert "gevent" not in sys.modules


def test_a_locust_that_cannot_start_is_a_clear_error_and_leaves_nothing_running(tmp_path: object) -> None:
    from pathlib import Path

    bad = Path(str(tmp_path)) / "broken.py"
    bad.write_text("raise SystemExit('this locustfile is broken')\n")
    run = LoadRun(parse({"locustfile": str(bad), "users": 1}))
    run.start()
    pids = run.pids
    with pytest.raises(Exception, match="Locust exited"):
        run.wait_until(0.5, timeout_s=30)
    run.stop()
    assert not any(alive(pid) for pid in pids)


@pytest.mark.parametrize(("raw", "message"), [
    ({}, "no targets and no locustfile"),
    ({"targets": ["ftp://x"]}, "is not an http"),
    ({"targets": ["http://127.0.0.1:1/"], "users": 0}, "users 0 is not valid"),
    ({"targets": ["http://127.0.0.1:1/"], "experiment_share": 1.5}, "experiment_share 1.5"),
    ({"targets": ["http://127.0.0.1:1/"], "workers": -1}, "workers -1"),
    ({"targets": ["http://127.0.0.1:1/"], "durng_s": 3}, 'unknown key "durng_s"'),
    ({"targets": [{"url": "http://127.0.0.1:1/", "method": "FETCH"}]}, 'method "FETCH"'),
    ({"locustfile": "nowhere.py"}, "does not exist"),
])
def test_bad_load_settings_name_the_key_and_what_was_expected(raw: dict, message: str) -> None:
    with pytest.raises(ExperimentInvalid, match=message):
        parse(raw)


def test_the_splitter_marks_exactly_the_share_evenly() -> None:
    for share in (0.0, 0.25, 0.5, 1.0):
        splitter = Splitter(share)
        groups = [splitter.next() for _ in range(100)]
        assert groups.count(EXPERIMENT) == int(100 * share)
        assert groups[:20].count(EXPERIMENT) == int(20 * share)  # spread through time, not bunched


def test_workers_started_elsewhere_get_the_settings_from_the_master(proxied: Proxied, monkeypatch: pytest.MonkeyPatch) -> None:
    """What `squall gameday manifest --load-workers N` deploys: a worker with no settings of its own joins the master."""
    import os
    import subprocess

    from squall.load.collector import free_port
    from squall.load.runner import LOCUSTFILE

    port = free_port()
    monkeypatch.setenv("SQUALL_LOAD_EXTERNAL_WORKERS", "1")
    monkeypatch.setenv("SQUALL_LOAD_MASTER_PORT", str(port))
    run = LoadRun(_spec(f"{proxied.proxied}/pay"))  # type: ignore[arg-type]
    env = {k: v for k, v in os.environ.items() if not k.startswith("SQUALL_LOAD")}
    worker = None
    try:
        run.start()
        assert len(run.pids) == 1  # the master only
        env["SQUALL_LOAD_COLLECTOR"] = run.collector.address  # as the worker Deployment's env names the Service
        worker = subprocess.Popen([sys.executable, "-m", "locust", "-f", LOCUSTFILE, "--worker", "--master-host",
                                   "127.0.0.1", "--master-port", str(port), "--loglevel", "WARNING"],
                                  env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
        run.wait_until(1.0, timeout_s=40)
    finally:
        run.stop()
        if worker is not None:
            worker.terminate()
            worker.wait(10)
    samples = run.samples(0, 2e9)
    assert {s.pid for s in samples} == {worker.pid}
    assert {s.group for s in samples} == {CONTROL, EXPERIMENT} and all(s.ok for s in samples)


def test_your_own_locustfile_runs_alone_and_its_groups_are_recorded(
    proxied: Proxied, tmp_path: object, monkeypatch: pytest.MonkeyPatch
) -> None:
    from pathlib import Path

    locustfile = Path(str(tmp_path)) / "shop.py"
    locustfile.write_text(
        "import os\n"
        "from locust import FastHttpUser, constant, task\n"
        "from squall.load.groups import Splitter, group_headers\n"
        "split = Splitter(0.25)\n"
        "class Shopper(FastHttpUser):\n"
        "    host = 'http://127.0.0.1'\n"
        "    wait_time = constant(0.02)\n"
        "    @task\n"
        "    def pay(self):\n"
        "        group = split.next()\n"
        "        self.client.get(os.environ['SHOP_URL'], name='shop-pay', headers=group_headers('shop', group),\n"
        "                        context={'squall_group': group})\n"
    )
    monkeypatch.setenv("SHOP_URL", f"{proxied.proxied}/pay")
    run = LoadRun(parse({"locustfile": str(locustfile), "users": 2, "spawn_rate": 50}))
    _run_for(run, 1.0)
    samples = run.samples(0, 2e9)
    assert samples and {s.name for s in samples} == {"shop-pay"}  # squall's own user did not run beside it
    experiment = [s for s in samples if s.group == EXPERIMENT]
    assert 0.1 <= len(experiment) / len(samples) <= 0.4  # the locustfile's own share (0.25), read from its context


def test_the_journal_gets_header_names_never_their_values() -> None:
    spec = parse({"targets": [{"url": "http://127.0.0.1:1/", "headers": {"Authorization": "Bearer s3cret"}}]})
    described = spec.describe()
    assert described["targets"][0]["headers"] == ["Authorization"]
    assert "s3cret" not in repr(described)
    assert spec.targets[0].to_json()["headers"] == {"Authorization": "Bearer s3cret"}  # Locust still sends it


def test_locust_options_from_the_environment_or_the_working_directory_change_nothing(
    proxied: Proxied, tmp_path: object, monkeypatch: pytest.MonkeyPatch
) -> None:
    from pathlib import Path

    here = Path(str(tmp_path))
    # each of these, if Locust read it, would stop the load after 3 requests (an option squall does not set)
    (here / "locust.conf").write_text("iterations = 3\n")
    (here / "pyproject.toml").write_text("[tool.locust]\niterations = 3\n")
    monkeypatch.chdir(here)
    monkeypatch.setenv("LOCUST_ITERATIONS", "3")
    run = LoadRun(_spec(f"{proxied.proxied}/pay"))  # type: ignore[arg-type]
    _run_for(run, 1.0)
    samples = run.samples(0, 2e9)
    assert len(samples) >= 10 and all(s.ok for s in samples)
