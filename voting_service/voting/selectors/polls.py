"""Reads of polls for the delegators' pages: the ones taking ballots now, past rounds, and a
poll's causes in the order the poll lists them."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from django.db.models import QuerySet
from django.utils import timezone

from shared_events.core.schemas.polls import PollStatus

from ..models import CauseReplica, PollReplica

# A round is past once voting stopped taking its ballots: every status after the close.
PAST = (PollStatus.CLOSED, PollStatus.FINALIZED, PollStatus.PAID)


def polls_open() -> QuerySet[PollReplica]:
    """Polls that take ballots now, by their status and the clock (as `eligibility` checks
    a ballot), the one closing soonest first."""
    now = timezone.now()
    return PollReplica.objects.filter(
        is_deleted=False,
        status__in=(PollStatus.OPEN, PollStatus.CLOSING),
        opens_at__lte=now,
        closes_at__gt=now,
    ).order_by("closes_at", "title")


def takes_ballots_now(*, poll: PollReplica) -> bool:
    """What `polls_open` says of this one poll, without a query."""
    now = timezone.now()
    return (
        not poll.is_deleted
        and poll.status in (PollStatus.OPEN, PollStatus.CLOSING)
        and poll.opens_at <= now < poll.closes_at
    )


def polls_past() -> QuerySet[PollReplica]:
    """Rounds that no longer take ballots, the latest close first."""
    return PollReplica.objects.filter(is_deleted=False, status__in=PAST).order_by(
        "-closes_at", "title"
    )


@dataclass(frozen=True)
class PollCause:
    """A cause as a poll's page shows it; `known` is False while its replica has not arrived
    (the poll names it, the cause's own event is still on its way)."""

    id: uuid.UUID
    title: str
    description: str
    url: str
    image_url: str
    known: bool


def poll_causes(*, poll: PollReplica) -> list[PollCause]:
    """The poll's causes in the poll's order, with what the cause replicas say of each."""
    ids = [uuid.UUID(str(c)) for c in poll.causes]
    replicas = {c.pk: c for c in CauseReplica.objects.filter(pk__in=ids, is_deleted=False)}
    causes = []
    for cause_id in ids:
        cause = replicas.get(cause_id)
        if cause is None:
            causes.append(PollCause(cause_id, str(cause_id), "", "", "", known=False))
        else:
            causes.append(
                PollCause(
                    cause_id, cause.title, cause.description, cause.url, cause.image_url, True
                )
            )
    return causes


def cause_titles(*, cause_ids: list[str]) -> dict[str, str]:
    """Titles by cause id (strings), for a tally that may name causes no longer in the poll."""
    rows = CauseReplica.objects.filter(pk__in=cause_ids).values_list("pk", "title")
    return {str(pk): title for pk, title in rows}
