"""When tracing is on, and where spans go: the control's ``tracing:`` section and the standard OTEL_* variables.

No OpenTelemetry import here: deciding that tracing is off must cost nothing.

Precedence: ``OTEL_SDK_DISABLED=true`` or ``enabled: false`` switch tracing off;
otherwise it is on when the control has a ``tracing:`` section or
``OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`` / ``OTEL_EXPORTER_OTLP_ENDPOINT`` is set.
The section's ``endpoint``, ``headers`` and ``service_name`` win over the
variables (``OTEL_EXPORTER_OTLP_[TRACES_]HEADERS``, ``OTEL_SERVICE_NAME``);
``trace_url_template`` falls back to ``$SQUALL_TRACE_URL_TEMPLATE``.
"""

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import unquote, urlsplit

from squall.errors import ExperimentInvalid

__all__ = ["TracingSettings", "TracingTarget", "parse_tracing", "resolve", "trace_url"]

TRACES_PATH = "v1/traces"
#: the OTLP/HTTP default when a ``tracing:`` section names no endpoint and no variable does
DEFAULT_ENDPOINT = "http://localhost:4318/"
DEFAULT_SERVICE_NAME = "squall"
#: the trace viewer's link template when no ``tracing:`` section gives one (game days, the gate)
TRACE_URL_ENV = "SQUALL_TRACE_URL_TEMPLATE"
_KEYS = {"enabled", "endpoint", "headers", "service_name", "trace_url_template"}


@dataclass(frozen=True)
class TracingSettings:
    """The control's ``tracing:`` section as given (``present`` is False when there is none)."""

    present: bool = False
    enabled: bool = True
    endpoint: str | None = None
    headers: Mapping[str, str] = field(default_factory=dict)
    service_name: str | None = None
    trace_url_template: str | None = None


@dataclass(frozen=True)
class TracingTarget:
    """Where this run's spans go: decided, complete, ready for the exporter."""

    endpoint: str  # the full OTLP/HTTP traces URL
    headers: Mapping[str, str] = field(default_factory=dict, repr=False)  # secrets: never printed
    service_name: str = DEFAULT_SERVICE_NAME
    trace_url_template: str | None = None


def _url(where: str, key: str, value: Any) -> str:
    if not isinstance(value, str) or urlsplit(value).scheme not in ("http", "https") or not urlsplit(value).netloc:
        raise ExperimentInvalid(f'{where}: {key} "{value}" is not an http(s) URL (expected e.g. "http://127.0.0.1:4318")')
    return value


def parse_tracing(raw: Any, where: str = "squall control tracing") -> TracingSettings:
    """Validate a ``tracing:`` section; raise ExperimentInvalid naming the bad key and what was expected."""
    if raw is None:
        return TracingSettings()
    if not isinstance(raw, Mapping):
        raise ExperimentInvalid(f"{where} is {type(raw).__name__} (expected a mapping with endpoint, headers, "
                                "service_name, trace_url_template, enabled)")
    extra = sorted(set(raw) - _KEYS)
    if extra:
        raise ExperimentInvalid(f'{where}: unknown key "{extra[0]}" (expected one of: {", ".join(sorted(_KEYS))})')
    enabled = raw.get("enabled", True)
    if not isinstance(enabled, bool):
        raise ExperimentInvalid(f"{where}: enabled {enabled!r} is not valid (expected true or false)")
    endpoint = raw.get("endpoint")
    if endpoint is not None:
        endpoint = _url(where, "endpoint", endpoint)
    headers = raw.get("headers") or {}
    if not isinstance(headers, Mapping) or not all(
            isinstance(k, str) and k and isinstance(v, (str, int)) and not isinstance(v, bool) for k, v in headers.items()):
        # the values are tokens: never repeat them in the message
        raise ExperimentInvalid(f"{where}: headers is not valid (expected a mapping of header names to string values)")
    service = raw.get("service_name")
    if service is not None and (not isinstance(service, str) or not service.strip()):
        raise ExperimentInvalid(f"{where}: service_name {service!r} is not valid (expected a non-empty string)")
    template = raw.get("trace_url_template")
    if template is not None:
        template = _url(where, "trace_url_template", template)
        if "{trace_id}" not in template:
            raise ExperimentInvalid(f'{where}: trace_url_template "{template}" has no {{trace_id}} '
                                    '(expected e.g. "http://jaeger:16686/trace/{trace_id}")')
        try:
            template.format(trace_id="0" * 32)
        except (KeyError, IndexError, ValueError) as exc:
            raise ExperimentInvalid(f'{where}: trace_url_template "{template}" is not valid ({exc}; '
                                    "expected {trace_id} as its only placeholder)") from None
    return TracingSettings(present=True, enabled=enabled, endpoint=endpoint,
                           headers={k: str(v) for k, v in headers.items()}, service_name=service,
                           trace_url_template=template)


def _env_headers(value: str | None) -> dict[str, str]:
    """``OTEL_EXPORTER_OTLP_HEADERS``: ``key=value`` pairs separated by commas, values URL-encoded."""
    out: dict[str, str] = {}
    for item in (value or "").split(","):
        key, sep, val = item.partition("=")
        if sep and key.strip():
            out[unquote(key.strip())] = unquote(val.strip())
    return out


def _traces_url(base: str) -> str:
    return base if base.rstrip("/").endswith("/" + TRACES_PATH) else base.rstrip("/") + "/" + TRACES_PATH


def _truthy(value: str | None) -> bool:
    return (value or "").strip().lower() == "true"


def resolve(settings: TracingSettings | None = None, environ: Mapping[str, str] | None = None) -> TracingTarget | None:
    """Where this run's spans go, or None when tracing is off (the default)."""
    env = os.environ if environ is None else environ
    settings = settings or TracingSettings()
    if _truthy(env.get("OTEL_SDK_DISABLED")) or (settings.present and not settings.enabled):
        return None
    traces_env = env.get("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "").strip()
    base_env = env.get("OTEL_EXPORTER_OTLP_ENDPOINT", "").strip()
    if settings.endpoint:
        endpoint = _traces_url(settings.endpoint)
    elif traces_env:
        endpoint = traces_env  # the signal-specific variable is used as it is (OTLP spec)
    elif base_env:
        endpoint = _traces_url(base_env)
    elif settings.present:
        endpoint = _traces_url(DEFAULT_ENDPOINT)
    else:
        return None
    headers = _env_headers(env.get("OTEL_EXPORTER_OTLP_HEADERS"))
    headers.update(_env_headers(env.get("OTEL_EXPORTER_OTLP_TRACES_HEADERS")))
    headers.update(settings.headers)
    service = settings.service_name or env.get("OTEL_SERVICE_NAME", "").strip() or DEFAULT_SERVICE_NAME
    template = settings.trace_url_template or env.get(TRACE_URL_ENV, "").strip() or None
    return TracingTarget(endpoint=endpoint, headers=headers, service_name=service, trace_url_template=template)


def trace_url(template: str | None, trace_id: str) -> str | None:
    """The link to a trace in the team's trace viewer (None without a template or a trace id)."""
    if not template or not trace_id:
        return None
    try:
        return template.format(trace_id=trace_id)
    except (KeyError, IndexError, ValueError):
        return None
