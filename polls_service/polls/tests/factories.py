"""Test data made through the services, so it is published like real data."""

from __future__ import annotations

import itertools
import json
import uuid
from datetime import UTC, datetime, timedelta

from django.utils import timezone

from polls import services
from polls.models import Cause, Poll
from shared_events.core.consumer.apply import IncomingMessage
from shared_events.core.outbox.models import OutboxEvent

_seq = itertools.count(1)
_titles = itertools.count(1)


def make_cause(title: str | None = None, **kwargs) -> Cause:
    return services.cause_create(title=title or f"Cause {next(_titles)}", **kwargs)


def make_poll(
    *,
    causes: int | list = 2,
    fund_lovelace: int = 1_000_000,
    opens_in: timedelta = timedelta(hours=1),
    lasts: timedelta = timedelta(days=7),
    results_visibility: str = "live",
    title: str = "Round 1",
    **kwargs,
) -> Poll:
    """A draft poll."""
    offered = [make_cause() for _ in range(causes)] if isinstance(causes, int) else causes
    opens_at = timezone.now() + opens_in
    return services.poll_create(
        title=title,
        fund_lovelace=fund_lovelace,
        opens_at=opens_at,
        closes_at=opens_at + lasts,
        results_visibility=results_visibility,
        causes=offered,
        **kwargs,
    )


def scheduled_poll(**kwargs) -> Poll:
    return services.poll_schedule(poll=make_poll(**kwargs))


def open_poll(**kwargs) -> Poll:
    kwargs.setdefault("opens_in", -timedelta(minutes=1))
    poll = scheduled_poll(**kwargs)
    services.polls_open_and_close_due()
    poll.refresh_from_db()
    assert poll.status == "open"
    return poll


def closed_poll(**kwargs) -> Poll:
    """An open poll the scheduler closed at its closes_at: waiting for voting's final tally."""
    poll = open_poll(**kwargs)
    services.polls_open_and_close_due(now=poll.closes_at)
    poll.refresh_from_db()
    assert poll.status == "closed"
    return poll


def closing_poll(**kwargs) -> Poll:
    """An open poll an operator closed early: waiting for voting to confirm when it stopped."""
    return services.poll_close(poll=open_poll(**kwargs))


def poll_events(poll: Poll, aggregate: str = "polls.poll") -> list[dict]:
    """The events of the poll (or, with `aggregate="polls.result"`, of its results)."""
    return [
        json.loads(bytes(r.payload))
        for r in OutboxEvent.objects.filter(
            aggregate_id=str(poll.pk), event_type__startswith=f"{aggregate}."
        ).order_by("seq")
    ]


def last_event(poll: Poll) -> dict:
    return poll_events(poll)[-1]


def tally_message(
    poll: Poll,
    version: int,
    counts: dict | None = None,
    *,
    final: bool = False,
    ballots: int | None = None,
    digest: str | None = None,
    receipts: str | None = None,
    verb: str = "updated",
    total_points: int | None = None,
    deleted: bool = False,
    closes_at: datetime | None = None,
    power: dict | None = None,
) -> IncomingMessage:
    """A `voting.tally.*` message as voting_service would publish it. `counts` maps a cause
    (or its id) to points or to (points, voters); `power`: the voting power fields
    (power_formula, snapshot_epoch, eligible, total_power), left out as an older voting did."""
    causes = []
    for cause, value in (counts or {}).items():
        points, voters = value if isinstance(value, tuple) else (value, 1 if value else 0)
        causes.append(
            {"cause_id": str(getattr(cause, "pk", cause)), "points": points, "voters": voters}
        )
    total = sum(c["points"] for c in causes) if total_points is None else total_points
    return IncomingMessage(
        "VOTING",
        next(_seq),
        f"voting.tally.{poll.pk}",
        json.dumps(
            {
                "id": str(uuid.uuid4()),
                "type": f"voting.tally.{verb}",
                "schema_version": 1,
                "aggregate_id": str(poll.pk),
                "version": version,
                "occurred_at": datetime.now(UTC).isoformat(),
                "data": {
                    "poll_id": str(poll.pk),
                    "causes": causes,
                    "ballots": sum(c["voters"] for c in causes) if ballots is None else ballots,
                    "total_points": total,
                    "final": final,
                    "ballots_digest": digest
                    if digest is not None
                    else ("d" * 64 if final else None),
                    **({} if receipts is None else {"receipts_digest": receipts}),
                    **({} if closes_at is None else {"closes_at": closes_at.isoformat()}),
                    **(power or {}),
                    "computed_at": datetime.now(UTC).isoformat(),
                    "deleted": deleted,
                },
            }
        ).encode(),
    )


def finalized_poll(points: list[int], *, fund_lovelace: int = 1_000_000, **kwargs) -> Poll:
    """A poll finalized from voting's final tally, its causes given `points` in order; each
    cause has a payout address (see `chain.remotes.payment_address`) unless `addresses=False`."""
    from shared_events.core.consumer.apply import apply_batch

    from .chain.remotes import payment_address

    with_addresses = kwargs.pop("addresses", True)
    causes = [
        make_cause(
            payout_address=payment_address(f"cause-{next(_titles)}") if with_addresses else ""
        )
        for _ in points
    ]
    poll = closed_poll(causes=causes, fund_lovelace=fund_lovelace, **kwargs)
    apply_batch([tally_message(poll, 9, dict(zip(causes, points, strict=True)), final=True)])
    poll.refresh_from_db()
    assert poll.status == "finalized"
    return poll
