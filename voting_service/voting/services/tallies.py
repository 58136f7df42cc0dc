"""Publishing tallies: refreshed about once a second while a poll is open (from the running
totals, `tally_totals`), final at its close (counted from the ballots).

A `PollTally` save writes its `voting.tally` event in the same transaction (the outbox), so the
number of events is the number of saves: one per second per open poll at most, and none while
the counts stand still, however many ballots arrive.
"""

from __future__ import annotations

import logging
import uuid

from django.db import IntegrityError, transaction

from shared_events.kit.errors import NotFound

from ..models import PollReplica, PollStatus, PollTally
from ..selectors.power import power_summary
from ..selectors.tallies import TallyResult, tally_compute, tally_recount
from .locks import poll_lock_shared
from .tally_totals import tally_totals_advance

log = logging.getLogger(__name__)


def _store(tally: PollTally | None, poll: PollReplica, result: TallyResult) -> PollTally:
    power = power_summary(poll=poll)
    values = {
        "causes": result.causes,
        "ballots": result.ballots,
        "total_points": result.total_points,
        "final": result.final,
        "ballots_digest": result.ballots_digest,
        "receipts_digest": result.receipts_digest,
        "computed_at": result.computed_at,
        # The poll row holds what voting enforced (`services.closing`).
        "closes_at": poll.closes_at if result.final else None,
        "power_formula": power.power_formula,
        "snapshot_epoch": power.snapshot_epoch,
        "eligible": power.eligible,
        "total_power": power.total_power,
    }
    if tally is None:
        # An INSERT, never Django's UPDATE-then-INSERT: a row another transaction committed
        # since we looked must make this fail, not be overwritten with version 1.
        tally = PollTally(poll=poll, **values)
        tally.save(force_insert=True)
        return tally
    for name, value in values.items():
        setattr(tally, name, value)
    tally.save()
    return tally


def tally_refresh(*, poll_id: uuid.UUID) -> bool:
    """Count the revisions since the last pass, then publish the poll's live tally if it takes
    ballots and the counts changed since the last one.
    Returns whether a tally was published."""
    tally_totals_advance()
    return _publish_if_changed(poll_id)


def _publish_if_changed(poll_id: uuid.UUID) -> bool:
    try:
        with transaction.atomic():
            # Shared, like a ballot: ballots go on beside this, but the close waits for it and
            # it sees the close, so a live tally never overwrites the final one.
            try:
                poll = poll_lock_shared(poll_id)
            except NotFound:
                return False  # deleted since the caller listed it
            if not poll.takes_ballots:
                return False
            tally = PollTally.objects.select_for_update().filter(pk=poll.pk).first()
            if tally is not None and tally.final:
                return False
            result = tally_compute(poll=poll)
            if tally is not None and result.same_counts(tally):
                return False
            _store(tally, poll, result)
            return True
    except IntegrityError:
        # Another refresher created this poll's first tally at the same moment; it published.
        return False


def tallies_refresh_open() -> int:
    """The beat task's work: count the revisions since the last pass into the running totals,
    then every poll that takes ballots (open or closing), each in its own short transaction so
    one poll's locks never wait on another's count. Returns how many tallies were published."""
    tally_totals_advance()
    published = 0
    poll_ids = PollReplica.objects.filter(
        status__in=(PollStatus.OPEN, PollStatus.CLOSING), is_deleted=False
    ).values_list("pk", flat=True)
    for poll_id in list(poll_ids):
        try:
            published += _publish_if_changed(poll_id)
        except Exception:
            # One poll's trouble must not starve the others; the next tick retries it.
            log.exception("refreshing the tally of poll %s failed", poll_id)
    return published


def tally_finalize(*, poll: PollReplica) -> PollTally | None:
    """Store and publish the final tally of a poll that has just closed: the count and digest of
    exactly the ballots it counted, and the closes_at voting enforced. Call it in the
    transaction that applied the close, which holds the poll row, so no ballot is in flight.

    Idempotent: once a final tally exists it is returned unchanged, so a redelivered or newer
    closed state never publishes a second, different final tally. A cancelled poll gets none."""
    if not poll.is_closed or poll.is_deleted:
        return None
    tally = PollTally.objects.select_for_update().filter(pk=poll.pk).first()
    if tally is not None and tally.final:
        return tally
    result = tally_recount(poll=poll)
    tally = _store(tally, poll, result)
    log.info(
        "final tally of poll %s: %d ballots, %d points, digest %s",
        poll.pk,
        result.ballots,
        result.total_points,
        result.ballots_digest,
    )
    return tally
