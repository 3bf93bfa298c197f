"""A real experiment through the control with tracing on: the span tree a real OTLP/HTTP receiver gets.

The run goes through `chaos run` against the embedded proxy and a real upstream
(tests/control's harness); spans are received on a loopback port and decoded
with opentelemetry-proto.
"""

import os
import sys
import time
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "control"))

import chaos_harness  # noqa: E402
from chaos_harness import ChaosRun, Proxied, action, experiment, probe  # noqa: E402
from otlp_receiver import Receiver, Span, otlp_receiver  # noqa: E402

from squall.ledger import Ledger  # noqa: E402

# tests/control's fixtures: the embedded proxy in front of a real upstream, and `chaos run` as a subprocess
upstream, proxied, start_chaos = chaos_harness.upstream, chaos_harness.proxied, chaos_harness.start_chaos

HERE = Path(__file__).parent
TOX = "squall.actions.toxiproxy"
TOKEN = "s3cr3t-otlp-token-42"
VIEWER = "http://jaeger.example:16686/trace/{trace_id}"


def _traced_experiment(proxied: Proxied, tracing: dict, report: bool = True) -> dict:
    return experiment(
        method=[
            action("error storm", TOX, "add_http_error", proxy="svc", status=503),
            probe("service retries", "squall.verify", "retries", url=proxied.url, proxy="svc", requests=2),
        ],
        arguments={"sli": [{"name": "svc", "url": proxied.url, "interval_s": 0.1, "timeout_s": 0.1}],
                   "tracing": tracing, "report": report},
        rollbacks=[action("heal", TOX, "heal", proxy="svc")],
        configuration={"toxiproxy_url": proxied.api},
    )


def _wait_for_run_span(receiver: Receiver, timeout: float = 10.0) -> Span:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        runs = receiver.named("squall.run")
        if runs:
            return runs[0]
        time.sleep(0.05)
    raise AssertionError("no squall.run span arrived")


def _children(spans: dict[str, Span], parent: Span) -> list[Span]:
    return [s for s in spans.values() if s.parent_id == parent.span_id and s.trace_id == parent.trace_id]


def test_a_traced_run_exports_run_activity_verifier_fault_and_request_spans(
        proxied: Proxied, start_chaos, tmp_path: Path) -> None:
    with otlp_receiver() as receiver:
        tracing = {"endpoint": receiver.url, "headers": {"authorization": f"Bearer {TOKEN}"},
                   "service_name": "checkout-gameday", "trace_url_template": VIEWER}
        run: ChaosRun = start_chaos(_traced_experiment(proxied, tracing))
        assert run.wait(90) != 0, run.output[-3000:]
        ext = run.squall()
        root = _wait_for_run_span(receiver)
        spans = receiver.by_id()

    # the run span: the verdict and score of the run record, and the trace id the record (and report) name
    assert ext["verdict"] == "failed", ext["reason"]
    assert root.parent_id == ""
    assert root.attributes["squall.verdict"] == "failed"
    assert root.attributes["squall.score"] == pytest.approx(ext["score"])
    assert root.resource["service.name"] == "checkout-gameday"
    assert ext["trace"]["trace_id"] == root.trace_id
    assert ext["trace"]["url"] == VIEWER.format(trace_id=root.trace_id)
    run_id = ext["run_id"]
    assert all(s.attributes.get("squall.run_id") == run_id for s in spans.values()), \
        sorted({(s.name, s.attributes.get("squall.run_id")) for s in spans.values()})

    # one span per activity, children of the run span; the verifier's span under its activity
    activities = {s.attributes["squall.activity.name"]: s for s in _children(spans, root) if s.name == "squall.activity"}
    assert set(activities) == {"error storm", "service retries", "heal"}
    assert activities["error storm"].attributes["squall.activity.status"] == "succeeded"
    [verifier] = _children(spans, activities["service retries"])
    assert verifier.name == "squall.verify.retries"
    [check] = [c for c in ext["checks"] if c["kind"] == "verifier"]
    [(event, attrs)] = verifier.events
    assert event == "squall.check"
    assert attrs["squall.check.verdict"] == check["verdict"] == "failed"
    assert attrs["squall.check.name"] == "service retries"
    assert attrs["squall.check.summary"] == check["summary"]
    assert verifier.attributes["squall.verdict"] == "failed"

    # one span per fault window: exactly the ledger's applied_at .. struck_at
    [entry] = Ledger(Path(os.environ["SQUALL_LEDGER"])).entries(run_id)
    [fault] = [s for s in _children(spans, root) if s.name == "squall.fault"]
    assert fault.attributes["squall.fault.id"] == entry.id
    assert fault.attributes["squall.fault.proxy"] == "svc"
    assert fault.attributes["squall.fault.toxic.type"] == "http_error"
    assert fault.attributes["squall.fault.toxic.attributes.status"] == 503
    assert abs(fault.start_ns - int(entry.applied_at * 1e9)) < 1000
    assert entry.struck_at is not None and abs(fault.end_ns - int(entry.struck_at * 1e9)) < 1000
    [window] = ext["fault_windows"]
    assert window["id"] == entry.id

    # the SLI sampler's span, and its requests: each the root of its own trace, linked to the sampler
    [sampler] = [s for s in _children(spans, root) if s.name == "squall.sli.sampler"]
    requests = [s for s in spans.values() if s.name == "squall.request"]
    assert any(link == (sampler.trace_id, sampler.span_id) for r in requests for link in r.links)
    assert all(r.parent_id == "" for r in requests)

    # the traceparent the proxy recorded for each verifier request is the trace of an exported request span
    # linked to the verifier span
    stats = proxied.client.stats("svc")
    events = [e for e in stats["http"]["events"] if "-retries-" in str(e.get("run_id"))]
    assert len(events) >= 2
    by_trace = {r.trace_id: r for r in requests}
    for e in events:
        request = by_trace[e["trace_id"]]
        assert request.links == [(verifier.trace_id, verifier.span_id)]
        assert request.attributes["squall.request.tag"] == e["run_id"]
        assert request.attributes["http.response.status_code"] == 503
    # ... and the verifier's evidence names those traces
    evidence_traces = {a["trace_id"] for call in check["evidence"]["attempt_events"] for a in call}
    assert evidence_traces == {e["trace_id"] for e in events}

    # the exporter's header reached the collector, and nowhere else
    assert any(h.get("authorization") == f"Bearer {TOKEN}" for h in receiver.headers)
    html = (tmp_path / "report" / "report.html").read_text()
    for text in (run.journal_path.read_text(), run.output, html):
        assert TOKEN not in text
    assert f'href="{VIEWER.format(trace_id=root.trace_id)}"' in html
    some = sorted(evidence_traces)[0]
    assert f'href="{VIEWER.format(trace_id=some)}"' in html


def test_a_dead_collector_changes_no_verdict_and_warns_once(proxied: Proxied, start_chaos) -> None:
    with otlp_receiver() as receiver:
        dead = receiver.url  # nothing listens there once the block ends
    plain = start_chaos(_traced_experiment(proxied, {"enabled": False}, report=False))
    assert plain.wait(90) != 0
    traced = start_chaos(_traced_experiment(proxied, {"endpoint": dead}, report=False))
    begun = time.monotonic()
    assert traced.wait(90) != 0
    took = time.monotonic() - begun
    assert traced.squall()["verdict"] == plain.squall()["verdict"] == "failed"
    assert traced.output.count("spans could not be exported") == 1, traced.output[-4000:]
    assert "Traceback" not in traced.output
    assert took < 60  # the exporter's retries and the flush are bounded (generous: a loaded machine)
    assert "trace" in traced.squall() and "trace" not in plain.squall()


def test_a_collector_answering_500_changes_no_verdict(proxied: Proxied, start_chaos) -> None:
    with otlp_receiver(status=500) as receiver:
        run = start_chaos(_traced_experiment(proxied, {"endpoint": receiver.url}, report=False))
        assert run.wait(90) != 0
        assert receiver.headers, "the exporter never tried"
    assert run.squall()["verdict"] == "failed"
    assert run.output.count("spans could not be exported") == 1, run.output[-4000:]


def test_with_tracing_off_the_sdk_is_never_imported(proxied: Proxied, start_chaos, tmp_path: Path) -> None:
    exp = _traced_experiment(proxied, {"enabled": False}, report=False)
    exp["controls"][0]["provider"]["arguments"].pop("tracing")
    exp["method"].append(probe("what is loaded", "trace_helpers", "loaded_telemetry"))
    run = start_chaos(exp, env={"PYTHONPATH": f"{HERE}:{HERE.parent / 'control'}"},
                      unset=["OTEL_EXPORTER_OTLP_ENDPOINT", "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"])
    assert run.wait(90) != 0
    [loaded] = [r["output"] for r in run.journal()["run"] if r["activity"]["name"] == "what is loaded"]
    assert loaded == {"modules": [], "threads": [], "tracing_active": False}, loaded
    assert "trace" not in run.squall()
    # the verdict is the one the traced run gets
    assert run.squall()["verdict"] == "failed"
