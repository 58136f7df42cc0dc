"""When a poll stops taking ballots here: the closes_at voting enforces, and the final tally.

polls_service closes a poll on schedule (`closed`, at the closes_at voting has known since the
poll opened) or early (`closing`, with closes_at a few seconds ahead, so that voting normally
hears of it first). A ballot answered 2xx cannot be taken back, so the closes_at that counts is
the one voting enforced, and the final tally carries it for polls to record:

- a close heard before its closes_at: that closes_at. The poll takes ballots until then (by the
  clock, like any open poll), and `polls_close_due`, run by the tally task every second, closes
  it here and writes the final tally;
- a close heard after it (a relay stalled): the moment it is applied, under the poll row's lock,
  so after every ballot in flight; never later than the closes_at voting already enforced.

Closing here means the status `closed` in the poll row, written in the transaction of the final
tally: a ballot waiting for the row's lock then finds the poll closed whatever its clock said.
"""

from __future__ import annotations

import logging
import uuid
from datetime import datetime

from django.db import transaction
from django.utils import timezone

from ..models import PollReplica, PollStatus
from .tallies import tally_finalize

log = logging.getLogger(__name__)


def enforced_closes_at(
    *, poll: PollReplica | None, status: str, closes_at: datetime, now: datetime
) -> datetime:
    """The closes_at to store with a newly received state (`status`, `closes_at`) of a poll
    whose replica is `poll` (as it is now, locked; None if new here)."""
    if poll is None or not (poll.takes_ballots or poll.is_closed):
        return closes_at  # it never took ballots here: nothing to hold to
    if poll.is_closed:
        return poll.closes_at  # what was enforced stands
    if status == PollStatus.CLOSING:
        return min(poll.closes_at, max(closes_at, now))
    if status in (PollStatus.CLOSED, PollStatus.FINALIZED, PollStatus.PAID):
        return min(poll.closes_at, now)
    return closes_at


def status_to_store(
    *, poll: PollReplica | None, status: str, closes_at: datetime, now: datetime
) -> str:
    """`closing` becomes `closed` here once its enforced closes_at has passed, and stays so."""
    if status != PollStatus.CLOSING:
        return status
    if closes_at <= now or (poll is not None and poll.is_closed):
        return PollStatus.CLOSED
    return status


def polls_close_due(*, now: datetime | None = None) -> list[uuid.UUID]:
    """Close here every `closing` poll whose closes_at has passed and write its final tally,
    each in a transaction of its own. Returns the polls closed."""
    now = now or timezone.now()
    due = PollReplica.objects.filter(
        status=PollStatus.CLOSING, closes_at__lte=now, is_deleted=False
    ).values_list("pk", flat=True)
    closed: list[uuid.UUID] = []
    for poll_id in list(due):
        with transaction.atomic():
            # FOR UPDATE: waits for the ballots in flight, which hold the row FOR SHARE.
            poll = (
                PollReplica.objects.select_for_update()
                .filter(pk=poll_id, status=PollStatus.CLOSING, is_deleted=False)
                .first()
            )
            if poll is None or poll.closes_at > now:
                continue  # the consumer closed it meanwhile
            PollReplica.objects.filter(pk=poll_id).update(status=PollStatus.CLOSED)
            poll.status = PollStatus.CLOSED
            tally_finalize(poll=poll)
        closed.append(poll_id)
        log.info("poll %s closed here at its closes_at %s", poll_id, poll.closes_at.isoformat())
    return closed
