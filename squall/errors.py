"""squall's exception tree, drawn once.

    SquallError                      root; every error squall raises on purpose
    ├── ExperimentInvalid            a bad experiment, suite, argument or config (before anything is injected)
    │   └── FileInvalid              a file squall reads is not a regular, bounded, UTF-8, plain YAML/JSON file
    ├── ToxiproxyError               talking to a Toxiproxy HTTP API
    │   ├── ToxiproxyUnreachable     nothing answers at the configured address
    │   └── ToxiproxyAPIError        it answered with an error status (carries status and message)
    ├── KubernetesError              the Kubernetes API refused or failed
    │   ├── KubernetesAPIError       it answered with an error status (carries status)
    │   └── GuardrailRefused         a guardrail (namespace allowlist, blast radius) refused the action
    ├── PrometheusError              Prometheus could not be reached or refused the query
    ├── LedgerError                  the fault ledger cannot be read or written
    └── ReportError                  a report cannot be written

The embedded proxy's admin API has its own error table (``squall.proxy.errors``):
those are answers the server sends, not errors squall raises at its users.

Activities translate these into Chaos Toolkit's ``ActivityFailed`` at the
activity edge only (see ``squall.activity``); everything below works with
these classes.
"""


class SquallError(Exception):
    """Root of every error squall raises on purpose."""


class ExperimentInvalid(SquallError):
    """An experiment, suite, argument or configuration is not valid."""


class FileInvalid(ExperimentInvalid):
    """A file squall was asked to read cannot be read safely (carries the path and the line where known)."""

    def __init__(self, path: str, message: str, *, line: int | None = None) -> None:
        super().__init__(f"{path}:{line}: {message}" if line else f"{path}: {message}")
        self.path = path
        self.line = line
        self.message = message


class ToxiproxyError(SquallError):
    """A request to a Toxiproxy HTTP API failed."""


class ToxiproxyUnreachable(ToxiproxyError):
    """Nothing answers at the configured Toxiproxy address."""


class ToxiproxyAPIError(ToxiproxyError):
    """The Toxiproxy API answered with an error status."""

    def __init__(self, message: str, *, status: int, url: str = "") -> None:
        super().__init__(message)
        self.status = status
        self.url = url


class KubernetesError(SquallError):
    """The Kubernetes API refused or failed a request."""


class KubernetesAPIError(KubernetesError):
    """The Kubernetes API answered with an error status (carries it)."""

    def __init__(self, message: str, *, status: int) -> None:
        super().__init__(message)
        self.status = status


class GuardrailRefused(KubernetesError):
    """A safety guardrail refused an action before anything was changed."""


class PrometheusError(SquallError):
    """Prometheus could not be reached or refused the query."""


class LedgerError(SquallError):
    """The fault ledger cannot be read or written."""


class ReportError(SquallError):
    """A report cannot be rendered or written."""
