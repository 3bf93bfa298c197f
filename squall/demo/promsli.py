"""`squall demo --prometheus`: the bundled game day with SLIs read from a real Prometheus by PromQL.

squall starts the ``prometheus`` binary from PATH on a free loopback port, with a
generated configuration scraping checkout's ``/metrics`` and the fault proxy's
``/metrics`` every second, and runs copies of the bundled experiments whose
control has one more SLI target: checkout's success ratio and p95 latency from
PromQL (``source: prometheus``). The HTTP sampler stays: it is also the traffic
that Prometheus measures. Prometheus is stopped by its PID at the end.
"""

import copy
from pathlib import Path
from typing import Any

import yaml

from squall.loader import load

#: the SLI target every bundled experiment gets with --prometheus
TARGET_NAME = "checkout-promql"
SUCCESS_RATIO = ('sum(rate(checkout_requests_total{outcome!="error"}[{window}])) '
                 '/ sum(rate(checkout_requests_total[{window}]))')
LATENCY_P95_MS = ("histogram_quantile(0.95, sum by (le) (rate(checkout_request_duration_seconds_bucket[{window}])))"
                  " * 1000")


def prometheus_target(url: str) -> dict[str, Any]:
    """The control's SLI target reading checkout from the Prometheus at ``url``."""
    return {"name": TARGET_NAME, "source": "prometheus", "url": url, "success_ratio": SUCCESS_RATIO,
            "latency_ms": LATENCY_P95_MS, "window_s": 5, "interval_s": 1.0, "timeout_s": 2.0}


def with_prometheus_sli(experiment: dict[str, Any], url: str) -> dict[str, Any]:
    """A copy of ``experiment`` whose squall control also samples checkout from Prometheus."""
    out = copy.deepcopy(experiment)
    for control in out.get("controls") or []:
        provider = control.get("provider") or {}
        if provider.get("module") != "squall.control":
            continue
        arguments = provider.setdefault("arguments", {})
        sli = arguments.get("sli") or []
        arguments["sli"] = [*(sli if isinstance(sli, list) else [sli]), prometheus_target(url)]
    return out


def write_suite(suite_path: Path, url: str, into: Path) -> Path:
    """Copy the suite and its experiments into ``into``, each experiment with the Prometheus SLI; the new suite."""
    suite = load(suite_path, "the demo suite").doc
    for entry in suite.get("experiments") or []:
        rel = entry["path"] if isinstance(entry, dict) else str(entry)
        experiment = load(suite_path.parent / rel, "a demo experiment").doc
        (into / rel).write_text(yaml.safe_dump(with_prometheus_sli(experiment, url), sort_keys=False),
                                encoding="utf-8")
    copied = into / suite_path.name
    copied.write_text(yaml.safe_dump(suite, sort_keys=False), encoding="utf-8")
    return copied
