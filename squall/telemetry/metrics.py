"""The embedded proxy's ``GET /metrics``: Toxiproxy's series and squall's own, read at scrape time.

A custom prometheus-client collector reads each proxy's counters when Prometheus
scrapes, so forwarding pays nothing for them. Series (docs/internals.md):

- ``toxiproxy_proxy_received_bytes_total`` and ``toxiproxy_proxy_sent_bytes_total``
  {direction, proxy, listener, upstream}: Toxiproxy's names and labels, so its
  dashboards work. squall counts the bytes it forwarded in each direction (after
  toxics), and serves that count for both series.
- ``squall_proxy_enabled``, ``squall_proxy_connections_open``,
  ``squall_proxy_connections_opened_total``, ``squall_proxy_connections_refused_total`` {proxy}
- ``squall_proxy_http_requests_total`` {proxy}, ``squall_proxy_http_responses_total``
  {proxy, status}, ``squall_proxy_http_injected_responses_total`` {proxy}: answers squall
  wrote itself (the http_error toxic) are counted in both response series
- ``squall_proxy_toxics`` {proxy, type, stream}: the toxics in place
- ``squall_proxy_http_toxic_matched_requests_total``, ``..._unmatched_requests_total``,
  ``..._faulted_requests_total`` {proxy, toxic, type, stream, scope}: what each HTTP toxic's
  scope matched, did not match, and faulted (kept after the toxic is removed, until the stats are cleared)

This module does not import the proxy: it reads any objects with the attributes of
``ProxyView``, so the proxy (which serves the route) stays below it.
"""

from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from typing import Any, Protocol

from prometheus_client import generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector, CollectorRegistry

__all__ = ["CONTENT_TYPE", "ProxyCollector", "ProxyView", "exposition"]

#: the text exposition format every Prometheus 2.x reads (what generate_latest writes for these names)
CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
_LINK = ["direction", "proxy", "listener", "upstream"]


class ToxicCountsView(Protocol):
    """What one HTTP toxic (one name, type and scope) did."""

    @property
    def name(self) -> str: ...
    @property
    def type(self) -> str: ...
    @property
    def stream(self) -> str: ...
    @property
    def scope_text(self) -> str: ...
    @property
    def matched(self) -> int: ...
    @property
    def unmatched(self) -> int: ...
    @property
    def faulted(self) -> int: ...


class StatsView(Protocol):
    """The counters of one proxy that the collector reads."""

    @property
    def toxics(self) -> Mapping[Any, ToxicCountsView]: ...

    @property
    def bytes_up(self) -> int: ...
    @property
    def bytes_down(self) -> int: ...
    @property
    def active(self) -> int: ...
    @property
    def opened(self) -> int: ...
    @property
    def refused(self) -> int: ...
    @property
    def requests(self) -> int: ...
    @property
    def injected(self) -> int: ...
    @property
    def by_status(self) -> Mapping[int, int]: ...


class ToxicView(Protocol):
    """One toxic in place."""

    @property
    def upstream(self) -> bool: ...
    @property
    def type_name(self) -> str: ...


class ProxyView(Protocol):
    """One proxy as the collector reads it."""

    @property
    def name(self) -> str: ...
    @property
    def listen(self) -> str: ...
    @property
    def upstream(self) -> str: ...
    @property
    def enabled(self) -> bool: ...
    @property
    def stats(self) -> StatsView: ...
    @property
    def toxics(self) -> Sequence[ToxicView]: ...


class ProxyCollector(Collector):
    """Reads every proxy's counters at scrape time (on the proxy's event loop, where they change)."""

    def __init__(self, proxies: Callable[[], Iterable[ProxyView]]) -> None:
        self._proxies = proxies

    def collect(self) -> Iterator[Metric]:
        """Yield one family per series name, with a sample per proxy (and direction, status, toxic type)."""
        received = CounterMetricFamily("toxiproxy_proxy_received_bytes", "Bytes received by the proxy.", labels=_LINK)
        sent = CounterMetricFamily("toxiproxy_proxy_sent_bytes", "Bytes sent by the proxy.", labels=_LINK)
        enabled = GaugeMetricFamily("squall_proxy_enabled", "1 while the proxy listens, 0 while disabled.",
                                    labels=["proxy"])
        open_ = GaugeMetricFamily("squall_proxy_connections_open", "Client connections open now.", labels=["proxy"])
        opened = CounterMetricFamily("squall_proxy_connections_opened", "Client connections accepted.",
                                     labels=["proxy"])
        refused = CounterMetricFamily("squall_proxy_connections_refused",
                                      "Client connections refused (upstream unreachable).", labels=["proxy"])
        requests = CounterMetricFamily("squall_proxy_http_requests", "HTTP/1.x request heads seen.", labels=["proxy"])
        responses = CounterMetricFamily("squall_proxy_http_responses", "HTTP/1.x responses by status.",
                                        labels=["proxy", "status"])
        injected = CounterMetricFamily("squall_proxy_http_injected_responses",
                                       "HTTP responses squall wrote itself (the http_error toxic).", labels=["proxy"])
        toxics = GaugeMetricFamily("squall_proxy_toxics", "Toxics in place, by type and stream.",
                                   labels=["proxy", "type", "stream"])
        scoped = ["proxy", "toxic", "type", "stream", "scope"]
        matched = CounterMetricFamily("squall_proxy_http_toxic_matched_requests",
                                      "HTTP requests an HTTP toxic's scope matched.", labels=scoped)
        unmatched = CounterMetricFamily("squall_proxy_http_toxic_unmatched_requests",
                                        "HTTP requests an HTTP toxic's scope did not match.", labels=scoped)
        faulted = CounterMetricFamily("squall_proxy_http_toxic_faulted_requests",
                                      "HTTP requests an HTTP toxic faulted (answered or delayed).", labels=scoped)
        for proxy in sorted(self._proxies(), key=lambda p: p.name):
            s = proxy.stats
            for direction, count in (("upstream", s.bytes_up), ("downstream", s.bytes_down)):
                labels = [direction, proxy.name, proxy.listen, proxy.upstream]
                received.add_metric(labels, count)
                sent.add_metric(labels, count)
            enabled.add_metric([proxy.name], 1 if proxy.enabled else 0)
            open_.add_metric([proxy.name], s.active)
            opened.add_metric([proxy.name], s.opened)
            refused.add_metric([proxy.name], s.refused)
            requests.add_metric([proxy.name], s.requests)
            for status, n in sorted(dict(s.by_status).items()):
                responses.add_metric([proxy.name, str(status)], n)
            injected.add_metric([proxy.name], s.injected)
            kinds = Counter((t.type_name, "upstream" if t.upstream else "downstream") for t in proxy.toxics)
            for (kind, stream), n in sorted(kinds.items()):
                toxics.add_metric([proxy.name, kind, stream], n)
            for c in list(s.toxics.values()):
                labels = [proxy.name, c.name, c.type, c.stream, c.scope_text]
                matched.add_metric(labels, c.matched)
                unmatched.add_metric(labels, c.unmatched)
                faulted.add_metric(labels, c.faulted)
        yield from (received, sent, enabled, open_, opened, refused, requests, responses, injected, toxics,
                    matched, unmatched, faulted)


def exposition(proxies: Callable[[], Iterable[ProxyView]]) -> bytes:
    """The text exposition of every proxy's series, read now."""
    registry = CollectorRegistry(auto_describe=False)
    registry.register(ProxyCollector(proxies))
    return generate_latest(registry)
