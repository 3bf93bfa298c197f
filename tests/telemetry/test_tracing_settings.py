"""The switch: the control's `tracing:` section and the standard OTEL_* variables, and clear errors for bad values."""

import subprocess
import sys

import pytest

from squall.control.settings import parse
from squall.errors import ExperimentInvalid
from squall.telemetry.tracing_config import parse_tracing, resolve

TOKEN = "tok-9f8e7d6c5b"


@pytest.mark.parametrize(("section", "message"), [
    ("yes", "squall control tracing is str (expected a mapping"),
    ({"endpont": "http://127.0.0.1:4318"}, 'unknown key "endpont" (expected one of: enabled, endpoint, headers'),
    ({"endpoint": "ftp://collector"}, 'endpoint "ftp://collector" is not an http(s) URL'),
    ({"endpoint": 4318}, 'endpoint "4318" is not an http(s) URL'),
    ({"enabled": "yes"}, "enabled 'yes' is not valid (expected true or false)"),
    ({"service_name": " "}, "service_name ' ' is not valid (expected a non-empty string)"),
    ({"trace_url_template": "http://jaeger:16686/trace/"}, "has no {trace_id}"),
    ({"trace_url_template": "http://jaeger/{trace_id}/{span}"}, "expected {trace_id} as its only placeholder"),
    ({"trace_url_template": "javascript:alert({trace_id})"}, "is not an http(s) URL"),
    ({"headers": ["authorization"]}, "headers is not valid (expected a mapping of header names to string values)"),
])
def test_a_bad_tracing_section_is_refused_naming_the_key(section: object, message: str) -> None:
    with pytest.raises(ExperimentInvalid) as err:
        parse({"tracing": section})
    assert message in str(err.value)


def test_a_bad_header_value_is_refused_without_repeating_it() -> None:
    with pytest.raises(ExperimentInvalid) as err:
        parse_tracing({"headers": {"authorization": [TOKEN]}})
    assert TOKEN not in str(err.value)


def test_off_by_default_and_on_by_the_standard_variables() -> None:
    assert resolve(parse_tracing(None), {}) is None
    target = resolve(None, {"OTEL_EXPORTER_OTLP_ENDPOINT": "http://127.0.0.1:4318"})
    assert target is not None and target.endpoint == "http://127.0.0.1:4318/v1/traces"
    assert target.service_name == "squall"
    # the signal-specific variable is used as it is, and wins
    target = resolve(None, {"OTEL_EXPORTER_OTLP_ENDPOINT": "http://a:4318",
                            "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": "http://b:4318/custom/path"})
    assert target is not None and target.endpoint == "http://b:4318/custom/path"
    # OTEL_SDK_DISABLED switches everything off, a tracing section too
    assert resolve(parse_tracing({"endpoint": "http://c:4318"}), {"OTEL_SDK_DISABLED": "true"}) is None
    assert resolve(parse_tracing({"enabled": False}), {"OTEL_EXPORTER_OTLP_ENDPOINT": "http://a:4318"}) is None


def test_the_section_wins_over_the_variables_and_headers_merge() -> None:
    env = {"OTEL_EXPORTER_OTLP_ENDPOINT": "http://a:4318", "OTEL_SERVICE_NAME": "from-env",
           "OTEL_EXPORTER_OTLP_HEADERS": "x-team=pay%20ments,authorization=Bearer%20env"}
    target = resolve(parse_tracing({"endpoint": "http://c:4318/v1/traces", "headers": {"authorization": TOKEN},
                                    "trace_url_template": "http://jaeger:16686/trace/{trace_id}"}), env)
    assert target is not None
    assert target.endpoint == "http://c:4318/v1/traces"
    assert dict(target.headers) == {"x-team": "pay ments", "authorization": TOKEN}
    assert target.service_name == "from-env"
    assert target.trace_url_template == "http://jaeger:16686/trace/{trace_id}"
    assert TOKEN not in repr(target)  # header values are secrets
    # a section alone, without an endpoint: the OTLP/HTTP default
    target = resolve(parse_tracing({"service_name": "checkout"}), {})
    assert target is not None and target.endpoint == "http://localhost:4318/v1/traces"
    assert target.service_name == "checkout"


def test_deciding_that_tracing_is_off_imports_no_opentelemetry() -> None:
    code = ("import sys, squall.control, squall.control.run, squall.probes.sli, squall.verify, squall.gameday.runner\n"
            "from squall.control.run import ControlledRun\n"
            "run = ControlledRun(None, None, {}, {}, {'title': 't'})\n"
            "assert run.trace_target is None\n"
            "print(sorted(m for m in sys.modules if m.startswith('opentelemetry')))")
    env = {"PATH": "/usr/bin:/bin", "SQUALL_LEDGER": "/nonexistent/ledger.jsonl"}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, env=env, check=True)
    assert out.stdout.strip() == "[]", out.stderr
