"""The shape the activity tests pass around: a dependency behind a proxy named "payments"."""

from dataclasses import dataclass


@dataclass(frozen=True)
class System:
    """A dependency behind a proxy named "payments", and the configuration activities receive."""

    api: str  # the proxy's admin API
    proxied: str  # http://127.0.0.1:<listen port> — the dependency through the proxy
    direct: str  # the dependency itself
    configuration: dict
