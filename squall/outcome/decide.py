"""The one verdict rule: what a run found, in precedence order, becomes one verdict and one sentence."""

from collections.abc import Sequence
from dataclasses import dataclass

from squall.outcome.record import Verdict


@dataclass(frozen=True)
class Findings:
    """Reasons found during (or read back from) a run, by the verdict each one calls for."""

    aborted: Sequence[str] = ()
    inconclusive: Sequence[str] = ()
    failed: Sequence[str] = ()


def _first(reasons: Sequence[str]) -> str:
    more = f" (and {len(reasons) - 1} more)" if len(reasons) > 1 else ""
    return reasons[0] + more


def decide(findings: Findings, passed_reason: str = "") -> tuple[Verdict, str]:
    """The verdict and its one-sentence reason: aborted > inconclusive > failed > passed."""
    if findings.aborted:
        return Verdict.ABORTED, _first(findings.aborted)
    if findings.inconclusive:
        return Verdict.INCONCLUSIVE, _first(findings.inconclusive)
    if findings.failed:
        return Verdict.FAILED, _first(findings.failed)
    return Verdict.PASSED, passed_reason or "every steady-state check and verifier held, and every fault was injected"
