"""The verdict of a run and why, in one sentence.

The control's own verdict wins when the journal carries one. Otherwise it is
derived from what Chaos Toolkit recorded, in the contract's precedence:
aborted > inconclusive > failed > passed.
"""

from squall.reporting.records import Check, CheckKind, Report, Verdict


def _first_failed(checks: list[Check], kind: CheckKind) -> Check | None:
    return next((c for c in checks if c.kind is kind and c.ok is False), None)


def _check_reason(check: Check) -> str:
    if check.error:
        return f'probe "{check.name}" failed: {check.error}'
    if check.kind is CheckKind.VERIFIER:
        return f'verifier "{check.name}" failed: {check.summary or "no summary"}'
    return f'probe "{check.name}" measured {check.value}, expected {check.tolerance}'


def decide(
    report: Report,
    status: str | None,
    deviated: bool,
    control_verdict: str | None = None,
    control_reason: str | None = None,
) -> tuple[Verdict, str]:
    """The verdict and a one-sentence reason for a run."""
    if control_verdict in {v.value for v in Verdict}:
        verdict = Verdict(control_verdict)
        return verdict, control_reason or f"the squall control judged this run {verdict.value}"
    if report.stop_events:
        e = report.stop_events[0]
        return Verdict.ABORTED, f'stop condition "{e.condition}" fired: {e.reason}'.rstrip(": ")
    if status in ("aborted", "interrupted"):
        return Verdict.ABORTED, f"the run was {status} before it finished; rollbacks ran where declared"
    if not status:
        phase = next((a.phase for a in reversed(report.activities)), "")
        where = f" during the {phase}" if phase else ""
        return (
            Verdict.INCONCLUSIVE,
            (
                f"the journal ends without a status{where}: the run crashed or was killed halfway, "
                "so nothing can be concluded"
            ),
        )
    failed_action = next(
        (a for a in report.activities if a.phase == "method" and a.type == "action" and a.status == "failed"),
        None,
    )
    if failed_action is not None:
        why = f": {failed_action.error}" if failed_action.error else ""
        return (
            Verdict.INCONCLUSIVE,
            f'action "{failed_action.name}" failed{why}, so its fault may never have been injected',
        )
    before = _first_failed(report.checks, CheckKind.BEFORE)
    if before is not None:
        return Verdict.FAILED, (
            "the steady state did not hold before any fault was injected: " + _check_reason(before)
        )
    for kind, when in ((CheckKind.DURING, "during the method"), (CheckKind.AFTER, "after the method")):
        check = _first_failed(report.checks, kind)
        if check is not None:
            return Verdict.FAILED, f"the steady state deviated {when}: " + _check_reason(check)
    verifier = _first_failed(report.checks, CheckKind.VERIFIER)
    if verifier is not None:
        return Verdict.FAILED, _check_reason(verifier)
    if deviated:
        return Verdict.FAILED, "Chaos Toolkit reports that the steady state deviated"
    if status == "failed":
        return Verdict.FAILED, "Chaos Toolkit marked the run failed"
    probes = sum(1 for c in report.checks if c.kind is not CheckKind.VERIFIER)
    verifiers = len(report.verifiers)
    if probes == 0 and verifiers == 0:
        return Verdict.PASSED, "the run completed; it declared no steady-state probe or verifier to check"
    parts = []
    if probes:
        parts.append(f"every steady-state check held ({probes})")
    if verifiers:
        parts.append(f"every verifier passed ({verifiers})")
    return Verdict.PASSED, " and ".join(parts)
