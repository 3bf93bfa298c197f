"""The Locust side of squall's load: loaded only inside Locust's own process (``locust -f`` this file).

Never import this module into the control's or the proxy's process: Locust
monkey-patches the standard library with gevent on import. squall starts
``python -m locust -f <this file>[,<your locustfile>]`` with its settings in
``$SQUALL_LOAD_CONFIG`` (JSON); this file

- defines ``SquallUser`` when the settings list target URLs (weighted, each
  request in a group: ``squall.load.groups.Splitter``, with ``traceparent`` and
  ``baggage: squall.run_id=…,squall.group=…``);
- listens to every request Locust makes (also your own locustfile's users) and
  ships ``[start, group, ok, latency_ms, status, name, pid, trace_id]`` as JSON lines
  to the control's collector on 127.0.0.1, batched every 0.2 s, the buffer
  capped (what is dropped is counted and reported).

In your own locustfile, mark a request's group with
``headers=squall.load.groups.group_headers(run_id, group)`` and
``context={"squall_group": group}`` (and ``"squall_trace"``: the trace id of
its ``traceparent``, so verifiers can tie the dependency's calls to it).
"""

import json
import os
import random
import socket
import time
from collections import deque
from typing import Any

import gevent
from locust import FastHttpUser, events, task

from squall.load.groups import CONTROL, Splitter, group_headers, group_of

#: the settings from the environment (a local run); a worker started elsewhere (Kubernetes) gets the master's
#: settings with its spawn message instead (Locust passes custom arguments from the master to its workers)
CONFIG: dict[str, Any] = json.loads(os.environ.get("SQUALL_LOAD_CONFIG") or "{}")
BUFFER_CAP = 100_000
FLUSH_S = 0.2

_buffer: deque[list[Any]] = deque()
_dropped = [0]
_pid = os.getpid()


def _settings(environment: Any) -> dict[str, Any]:
    """The run's settings: the master's (sent to workers with the spawn message), else this process's environment."""
    raw = getattr(getattr(environment, "parsed_options", None), "squall_config", None)
    if raw:
        try:
            value = json.loads(raw)
        except ValueError:
            value = None
        if isinstance(value, dict):
            return value
    return CONFIG


def _collector() -> tuple[str, int] | None:
    # a worker elsewhere reaches the collector through its own address ($SQUALL_LOAD_COLLECTOR, e.g. a Service)
    where = os.environ.get("SQUALL_LOAD_COLLECTOR") or str(_ACTIVE.get("collector") or "")
    host, _, port = where.rpartition(":")
    return (host, int(port)) if host and port.isdigit() else None


class _Sender:
    """One TCP connection to the control's collector; lines are sent in batches from a greenlet."""

    def __init__(self) -> None:
        self.sock: socket.socket | None = None

    def flush(self) -> None:
        if not _buffer and not _dropped[0]:
            return
        address = _collector()
        if address is None:
            _buffer.clear()
            return
        lines = []
        while _buffer:
            lines.append(json.dumps(_buffer.popleft(), separators=(",", ":")))
        if _dropped[0]:
            lines.append(json.dumps({"dropped": _dropped[0], "pid": _pid}))
            _dropped[0] = 0
        data = ("\n".join(lines) + "\n").encode()
        try:
            if self.sock is None:
                self.sock = socket.create_connection(address, timeout=5)
            self.sock.sendall(data)
        except OSError:
            self.sock = None  # the control is gone or busy: these samples are lost, counted as dropped
            _dropped[0] += len(lines)

    def loop(self) -> None:
        while True:
            gevent.sleep(FLUSH_S)
            self.flush()


_sender = _Sender()
_ACTIVE: dict[str, Any] = dict(CONFIG)


def _add_arguments(parser: Any, **_: Any) -> None:
    # read from $SQUALL_LOAD_CONFIG (never the command line: target headers may hold credentials)
    parser.add_argument("--squall-config", env_var="SQUALL_LOAD_CONFIG", default="", include_in_web_ui=False,
                        help="squall's load settings (JSON); set by squall")


def _test_start(environment: Any, **_: Any) -> None:
    _ACTIVE.update(_settings(environment))


def _start_sender(environment: Any, **_: Any) -> None:
    gevent.spawn(_sender.loop)


def _flush_at_exit(environment: Any, **_: Any) -> None:
    _sender.flush()


def _record(request_type: str, name: str, response_time: float, response_length: int, response: Any = None,
            context: Any = None, exception: Any = None, start_time: float | None = None, **_: Any) -> None:
    group = (context or {}).get("squall_group") if isinstance(context, dict) else None
    if group is None:
        request = getattr(response, "request", None)
        headers = getattr(request, "headers", None) or {}
        try:
            group = group_of(headers.get("baggage"))
        except Exception:  # a foreign request object: the group is unknown
            group = None
    trace = (context or {}).get("squall_trace") if isinstance(context, dict) else None
    status = getattr(response, "status_code", None)
    row = [round(start_time if start_time is not None else time.time() - response_time / 1000.0, 4),
           group or CONTROL, 0 if exception else 1, round(float(response_time), 3),
           status if isinstance(status, int) and status > 0 else None, str(name)[:200], _pid,
           trace if isinstance(trace, str) else None]
    if len(_buffer) >= BUFFER_CAP:
        _dropped[0] += 1
        return
    _buffer.append(row)


events.init_command_line_parser.add_listener(_add_arguments)  # type: ignore[no-untyped-call]
events.test_start.add_listener(_test_start)  # type: ignore[no-untyped-call]
events.init.add_listener(_start_sender)  # type: ignore[no-untyped-call]
events.quitting.add_listener(_flush_at_exit)  # type: ignore[no-untyped-call]
events.request.add_listener(_record)  # type: ignore[no-untyped-call]

if not CONFIG.get("locustfile"):  # with your own locustfile, only its users run

    class SquallUser(FastHttpUser):
        """Requests the configured targets by weight, each request in the control or the experiment group."""

        host = "http://127.0.0.1"

        def on_start(self) -> None:
            settings = _settings(self.environment)
            self.targets: list[dict[str, Any]] = list(settings.get("targets") or [])
            self.weights = [float(t.get("weight") or 1.0) for t in self.targets]
            self.tag = str(settings.get("run_id") or "squall-load")
            self.pause = float(settings.get("wait_s", 0.1))
            self.splitter = _splitter(float(settings.get("experiment_share", 0.5)))
            # a seeded choice per process: the same settings give the same sequence of targets
            index = int(os.environ.get("SQUALL_LOAD_INDEX") or 0)
            self.chooser = random.Random(int(settings.get("seed", 0)) * 7919 + index * 131 + id(self) % 131)

        def wait_time(self) -> float:  # type: ignore[override]
            return self.pause

        @task
        def request_target(self) -> None:
            if not self.targets:
                gevent.sleep(0.5)  # a worker that has not received the settings yet
                return
            target = self.chooser.choices(self.targets, weights=self.weights)[0]
            group = self.splitter.next()
            marker = group_headers(self.tag, group)
            headers = {**marker, **(target.get("headers") or {})}
            expect = target.get("expect_status")
            with self.client.request(target["method"], target["url"], name=target["name"], headers=headers,
                                     catch_response=True,
                                     context={"squall_group": group, "squall_trace": marker["traceparent"][3:35]},
                                     ) as response:
                status = response.status_code
                good = status in expect if expect else 200 <= (status or 0) < 400
                if good:
                    response.success()
                else:
                    response.failure(f"status {status}")


_splitters: dict[float, Splitter] = {}


def _splitter(share: float) -> Splitter:
    """One splitter per process and share: the groups alternate across all users of the process."""
    return _splitters.setdefault(share, Splitter(share))
