"""Traffic statistics of squall's embedded proxy: connections, bytes, HTTP requests by status, events."""

from typing import Any

from squall import config
from squall.activity import activity
from squall.errors import ExperimentInvalid, ToxiproxyAPIError
from squall.toxiproxy_client import ToxiproxyClient

__all__ = ["stats"]


def fetch_stats(url: str, proxy: str, since: float | None = None) -> dict[str, Any]:
    """The stats of `proxy` from the embedded proxy at `url`, with clear errors for a wrong name or server."""
    if not isinstance(proxy, str) or not proxy:
        raise ExperimentInvalid(f"proxy={proxy!r} (expected the name of a proxy)")
    with ToxiproxyClient(url) as client:
        try:
            return client.stats(proxy, since=since)
        except ToxiproxyAPIError as exc:
            if exc.status != 404:
                raise
            known = client.proxies()
            if proxy in known:
                raise ExperimentInvalid(
                    f"{url} has no traffic stats (it is {client.version()!r}); stats need squall's "
                    "embedded proxy (`squall proxy serve`)"
                ) from exc
            names = ", ".join(sorted(known)) or "none defined"
            raise ExperimentInvalid(f'unknown proxy "{proxy}" at {url} (expected one of: {names})') from exc


@activity(role="probe")
def stats(proxy: str, since: float | None = None, configuration: dict | None = None) -> dict:
    """Traffic of `proxy` on the embedded proxy: connections, bytes, HTTP requests by status, recent request events.

    `since` (unix seconds) keeps only request events from then on; the
    counters are totals since the proxy was created or its stats were reset.
    """
    return fetch_stats(config.toxiproxy_url(configuration), proxy, since)
