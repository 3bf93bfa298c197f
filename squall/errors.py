"""squall's exception tree, drawn once.

    SquallError                      root; every error squall raises on purpose
    ├── ExperimentInvalid            a bad experiment, suite, argument or config (before anything is injected)
    ├── ToxiproxyError               talking to a Toxiproxy HTTP API
    │   ├── ToxiproxyUnreachable     nothing answers at the configured address
    │   └── ToxiproxyAPIError        it answered with an error status (carries status and message)
    ├── KubernetesError              the Kubernetes API refused or failed
    │   └── GuardrailRefused         a guardrail (namespace allowlist, blast radius) refused the action
    ├── LedgerError                  the fault ledger cannot be read or written
    └── ReportError                  a report cannot be written

Activities translate these into Chaos Toolkit's ``ActivityFailed`` at the
activity edge only (see ``squall.activity``); everything below works with
these classes.
"""


class SquallError(Exception):
    """Root of every error squall raises on purpose."""


class ExperimentInvalid(SquallError):
    """An experiment, suite, argument or configuration is not valid."""


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


class GuardrailRefused(KubernetesError):
    """A safety guardrail refused an action before anything was changed."""


class LedgerError(SquallError):
    """The fault ledger cannot be read or written."""


class ReportError(SquallError):
    """A report cannot be rendered or written."""
