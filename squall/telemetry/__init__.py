"""Telemetry of squall's runs: OpenTelemetry traces (``tracing*``) and Prometheus export.

Everything here is off by default and never changes a verdict. The
OpenTelemetry SDK is imported only when tracing is switched on
(``squall.telemetry.tracing_config.resolve``), so a run without it pays nothing.
"""
