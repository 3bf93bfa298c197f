"""Which hosts may talk to the admin API: loopback by default, so a web page cannot drive the proxy.

A browser page can reach 127.0.0.1 through a name the attacker controls (DNS
rebinding) or send a cross-origin request; the first carries a foreign
``Host`` header, the second a foreign ``Origin``. Names are never resolved
here: a name is trusted only when it is a loopback name or the bound host.
"""

import ipaddress
import socket
from urllib.parse import urlsplit

WILDCARDS = ("", "0.0.0.0", "::")


def _ip(text: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        return ipaddress.ip_address(text.strip("[]").split("%", 1)[0])
    except ValueError:
        return None


def _loopback_literal(host: str) -> bool:
    host = host.lower().rstrip(".")
    if host == "localhost" or host.endswith(".localhost"):
        return True
    ip = _ip(host)
    return ip is not None and ip.is_loopback


def is_loopback(host: str) -> bool:
    """True when binding ``host`` serves this machine only (a loopback address or a name resolving only to one)."""
    if _loopback_literal(host):
        return True
    if host in WILDCARDS or _ip(host) is not None:
        return False
    try:
        infos = socket.getaddrinfo(host, None, type=socket.SOCK_STREAM)
    except (OSError, UnicodeError):
        return False
    return bool(infos) and all(_loopback_literal(str(info[4][0])) for info in infos)


def split_host(value: str) -> str:
    """The host part of a ``Host`` header value (``[v6]:port``, ``name:port`` or a bare host)."""
    value = value.strip()
    if value.startswith("["):
        return value[1 : value.find("]")] if "]" in value else value
    if value.count(":") == 1:
        return value.split(":", 1)[0]
    return value


class HostPolicy:
    """The Host and Origin values the admin API answers, for an API bound to ``bound``."""

    def __init__(self, bound: str) -> None:
        self.bound = bound.strip("[]").lower()
        self.wildcard = self.bound in WILDCARDS

    def host_allowed(self, header: str | None) -> bool:
        """A request without Host (HTTP/1.0) or with a loopback one, the bound host, or (on a wildcard bind) an IP."""
        if header is None:
            return True
        host = split_host(header).lower().rstrip(".")
        if _loopback_literal(host) or host == self.bound:
            return True
        # bound to every interface: remote clients address it by one of the machine's IPs;
        # an IP literal cannot be rebound by DNS, a name can
        return self.wildcard and _ip(host) is not None

    def origin_allowed(self, origin: str | None) -> bool:
        """No Origin (not a browser's request) or one whose host is loopback or the bound host (never "any IP")."""
        if origin is None:
            return True
        try:
            parts = urlsplit(origin.strip())
            host = parts.hostname
        except ValueError:
            return False
        if parts.scheme not in ("http", "https") or not host:
            return False  # "null" (sandboxed frames, file://) and anything odd
        host = host.lower().rstrip(".")
        return _loopback_literal(host) or (host == self.bound and not self.wildcard)
