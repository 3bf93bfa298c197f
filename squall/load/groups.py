"""Control and experiment groups: which requests carry the experiment marker, and the headers that carry it.

A request of the experiment group carries ``baggage: squall.run_id=<run>,
squall.group=experiment`` (the control group: ``squall.group=control``) with a
fresh ``traceparent``; faults scoped with the proxy's ``baggage:
"squall.group=experiment"`` attribute then meet only the experiment group.
No third-party imports: the Locust process and the control both use it.
"""

from squall.tracecontext import parse_baggage, trace_headers

__all__ = ["CONTROL", "EXPERIMENT", "GROUP_MEMBER", "Splitter", "group_headers", "group_of"]

GROUP_MEMBER = "squall.group"
CONTROL = "control"
EXPERIMENT = "experiment"
#: the proxy scope that aims a fault at the experiment group only
EXPERIMENT_SCOPE = f"{GROUP_MEMBER}={EXPERIMENT}"


class Splitter:
    """Assigns requests to groups so that exactly ``share`` of every run of requests is experimental.

    Deterministic (no randomness): request n is experimental when
    ``floor((n + 1) * share) > floor(n * share)``, which spreads the experiment
    group evenly through time, so both groups meet the same conditions.
    """

    def __init__(self, share: float) -> None:
        if not 0.0 <= share <= 1.0:
            raise ValueError(f"share {share!r} is not valid (expected a number from 0 to 1)")
        self.share = share
        self.count = 0

    def next(self) -> str:
        """The group of the next request."""
        n = self.count
        self.count += 1
        return EXPERIMENT if int((n + 1) * self.share) > int(n * self.share) else CONTROL


def group_headers(run_tag: str, group: str) -> dict[str, str]:
    """traceparent, baggage (run id and group) and X-Chaos-Run-Id for one request of `group`."""
    return trace_headers(run_tag, {GROUP_MEMBER: group})


def group_of(baggage: object) -> str | None:
    """The group a baggage header value (or parsed members) names, or None when it names none."""
    members = baggage if isinstance(baggage, dict) else parse_baggage(baggage) if isinstance(baggage, str) else {}
    value = members.get(GROUP_MEMBER)
    return value if value in (CONTROL, EXPERIMENT) else None
