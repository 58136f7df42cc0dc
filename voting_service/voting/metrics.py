"""voting's own Prometheus metrics (the platform's are `shared_events.kit.metrics` and
`shared_events.core.metrics`). Names are a contract with the monitoring component."""

from __future__ import annotations

from prometheus_client import Counter

BALLOTS = Counter(
    "ballots",
    "Ballot writes that changed a ballot, by poll and action (cast, revised, retracted)",
    ["service", "poll", "action"],
)


def ballot_written(*, poll_id: object, action: str) -> None:
    """After a ballot write commits; `action` is cast, revised or retracted."""
    BALLOTS.labels("voting", str(poll_id), action).inc()
