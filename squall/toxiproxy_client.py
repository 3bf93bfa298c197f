"""A small, explicit client for the Toxiproxy HTTP API (toxiproxy-server or squall's embedded proxy).

Why not toxiproxy-python: it keeps the server address in class attributes (one
server per process), sets no request timeout (a hung API hangs the experiment)
and ``add_toxic`` returns nothing. This client is one object per address, every
request has a timeout, and every call returns what the server answered.

Every proxy or toxic name is percent-encoded into its own URL path segment
(``segment``): a name such as ``q?x``, ``h#x`` or ``a%2Fb`` reaches the server
as itself. Names a server would resolve as path steps (``.``, ``..``) are
refused before any request, so a request about a toxic can never reach its
proxy. A 404 counts as "already gone" only when the server's answer says the
toxic or proxy is not found (a 404 of an unknown route does not).
"""

from collections.abc import Mapping
from typing import Any
from urllib.parse import quote

import httpx

from squall.config import redact_url
from squall.errors import ExperimentInvalid, ToxiproxyAPIError, ToxiproxyUnreachable

USER_AGENT = "squall-toxiproxy-client"
#: error texts (Toxiproxy's, and the embedded proxy's which add the name) meaning "it does not exist"
TOXIC_GONE = ("toxic not found", "proxy not found")
PROXY_GONE = ("proxy not found",)
#: longest encoded name squall sends (servers limit the request line, aiohttp to 8190 bytes)
MAX_SEGMENT = 2000


def segment(name: str, what: str = "toxic") -> str:
    """``name`` percent-encoded as one URL path segment; ``ExperimentInvalid`` if no request could address it safely."""
    if not isinstance(name, str) or not name:
        raise ExperimentInvalid(f"{what} name {name!r} (expected a non-empty string)")
    if name in (".", ".."):
        raise ExperimentInvalid(
            f'{what} name "{name}" cannot be used in a Toxiproxy URL: servers resolve it as a path step, '
            f"so a request for the {what} would reach {'its proxy' if what == 'toxic' else 'another resource'} "
            "(choose another name)"
        )
    try:
        encoded = quote(name, safe="")
    except UnicodeEncodeError:
        raise ExperimentInvalid(f"{what} name {name!r} is not valid Unicode text (it has a lone surrogate)") from None
    if len(encoded) > MAX_SEGMENT:
        raise ExperimentInvalid(
            f"{what} name of {len(name)} characters is too long ({len(encoded)} bytes in a URL, expected at most {MAX_SEGMENT})"
        )
    return encoded


def check_new_name(name: str, what: str = "toxic") -> str:
    """Refuse a name for a new toxic or proxy that some Toxiproxy server could not address later (before anything is applied)."""
    segment(name, what)
    if "/" in name:
        raise ExperimentInvalid(
            f'{what} name "{name}" contains "/": toxiproxy-server decodes it in URLs and could never '
            f"remove the {what} again (choose a name without \"/\")"
        )
    return name


class ToxiproxyClient:
    """One Toxiproxy API at ``url``; every request bounded by ``timeout_s``."""

    def __init__(self, url: str, timeout_s: float = 5.0) -> None:
        self.url = url.rstrip("/")
        #: the address as it may be shown: credentials in the URL never reach a message or a journal
        self.display_url = redact_url(self.url)
        self._http = httpx.Client(
            base_url=self.url,
            timeout=timeout_s,
            headers={"User-Agent": USER_AGENT},
            trust_env=False,  # never send loopback admin traffic through an HTTP(S)_PROXY
            # Loading the CA bundle costs ~70 ms per client (every action and every undo makes one);
            # a plain-http API never uses it (this client follows no redirects), an https one verifies.
            verify=self.url.lower().startswith("https:"),
        )

    def __enter__(self) -> "ToxiproxyClient":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Close the connection pool."""
        self._http.close()

    # -- server ----------------------------------------------------------
    def version(self) -> str:
        """The server's version string."""
        return str(self._request("GET", "/version")["version"])

    def is_embedded(self) -> bool:
        """True if the server is squall's embedded proxy (it has the stats and http_error extensions)."""
        return self.version().startswith("squall")

    def reset(self) -> None:
        """Re-enable every proxy and remove every toxic."""
        self._request("POST", "/reset")

    def populate(self, proxies: list[Mapping[str, Any]]) -> list[dict[str, Any]]:
        """Create or update proxies in bulk; return them as the server reports them."""
        return list(self._request("POST", "/populate", json=list(proxies)).get("proxies") or [])

    # -- proxies ---------------------------------------------------------
    def proxies(self) -> dict[str, dict[str, Any]]:
        """Every proxy keyed by name."""
        return dict(self._request("GET", "/proxies"))

    def get_proxy(self, name: str) -> dict[str, Any]:
        """One proxy with its toxics."""
        return dict(self._request("GET", f"/proxies/{segment(name, 'proxy')}"))

    def create_proxy(self, name: str, listen: str, upstream: str, enabled: bool = True) -> dict[str, Any]:
        """Create a proxy; ``listen`` may use port 0, the answer holds the real port."""
        body = {"name": name, "listen": listen, "upstream": upstream, "enabled": enabled}
        return dict(self._request("POST", "/proxies", json=body))

    def update_proxy(self, name: str, **fields: Any) -> dict[str, Any]:
        """Change ``listen``, ``upstream`` or ``enabled`` of a proxy."""
        return dict(self._request("PATCH", f"/proxies/{segment(name, 'proxy')}", json=fields))

    def enable_proxy(self, name: str) -> bool:
        """Re-enable a proxy; False if the server says it does not exist."""
        return self._request("PATCH", f"/proxies/{segment(name, 'proxy')}", json={"enabled": True}, gone=PROXY_GONE) is not None

    def delete_proxy(self, name: str) -> bool:
        """Delete a proxy, closing its connections; False if the server says it does not exist."""
        return self._request("DELETE", f"/proxies/{segment(name, 'proxy')}", gone=PROXY_GONE) is not None

    # -- toxics ----------------------------------------------------------
    def toxics(self, proxy: str) -> list[dict[str, Any]]:
        """The toxics of a proxy, upstream first."""
        return list(self._request("GET", f"/proxies/{segment(proxy, 'proxy')}/toxics"))

    def add_toxic(
        self,
        proxy: str,
        type: str,
        attributes: Mapping[str, Any] | None = None,
        *,
        name: str | None = None,
        stream: str = "downstream",
        toxicity: float = 1.0,
    ) -> dict[str, Any]:
        """Add a toxic; return it as the server stored it (with defaults filled in)."""
        body: dict[str, Any] = {
            "type": type,
            "stream": stream,
            "toxicity": toxicity,
            "attributes": dict(attributes or {}),
        }
        if name:
            body["name"] = name
        return dict(self._request("POST", f"/proxies/{segment(proxy, 'proxy')}/toxics", json=body))

    def update_toxic(
        self,
        proxy: str,
        name: str,
        attributes: Mapping[str, Any] | None = None,
        toxicity: float | None = None,
    ) -> dict[str, Any]:
        """Change a toxic's attributes (merged) or toxicity."""
        body: dict[str, Any] = {}
        if attributes is not None:
            body["attributes"] = dict(attributes)
        if toxicity is not None:
            body["toxicity"] = toxicity
        return dict(self._request("PATCH", f"/proxies/{segment(proxy, 'proxy')}/toxics/{segment(name)}", json=body))

    def remove_toxic(self, proxy: str, name: str) -> bool:
        """Remove a toxic (bytes in flight are delivered); False if the server says it or its proxy does not exist."""
        path = f"/proxies/{segment(proxy, 'proxy')}/toxics/{segment(name)}"
        return self._request("DELETE", path, gone=TOXIC_GONE) is not None

    # -- squall extensions -------------------------------------------------
    def stats(self, proxy: str, since: float | None = None) -> dict[str, Any]:
        """Traffic statistics of a proxy (embedded proxy only)."""
        params = {"since": since} if since is not None else None
        return dict(self._request("GET", f"/proxies/{segment(proxy, 'proxy')}/stats", params=params))

    # -- plumbing --------------------------------------------------------
    def _request(self, method: str, path: str, *, gone: tuple[str, ...] = (), **kwargs: Any) -> Any:
        """The decoded answer; None for a 404 whose error text starts with one of ``gone``."""
        try:
            response = self._http.request(method, path, **kwargs)
        except httpx.TimeoutException as exc:
            raise ToxiproxyUnreachable(
                f"Toxiproxy API at {self.display_url} did not answer {method} {path} in time "
                f"({type(exc).__name__}); is toxiproxy-server or `squall proxy serve` running?"
            ) from exc
        except httpx.TransportError as exc:
            raise ToxiproxyUnreachable(
                f"cannot reach the Toxiproxy API at {self.display_url} ({_redacted(exc, self)}); start `squall proxy serve` "
                "or set toxiproxy_url in the experiment's configuration (or $TOXIPROXY_URL)"
            ) from exc
        if response.status_code == 404 and gone and _error_text(response).lower().startswith(gone):
            return None
        if response.status_code >= 400:
            raise ToxiproxyAPIError(
                f"{method} {path} -> {response.status_code}: {_error_text(response)}",
                status=response.status_code,
                url=self.display_url,
            )
        if response.status_code == 204 or not response.content:
            return {}
        return response.json()


def _error_text(response: httpx.Response) -> str:
    try:
        body = response.json()
    except ValueError:
        return response.text.strip() or response.reason_phrase
    if isinstance(body, dict) and "error" in body:
        return str(body["error"])
    return response.text.strip()


def _redacted(exc: Exception, client: ToxiproxyClient) -> str:
    """An httpx error's text with the client's credentials (if any) taken out."""
    return str(exc).replace(client.url, client.display_url)
