"""Freezing a poll's voting power (chain mode): once per poll, when it takes ballots and every
part of its snapshot epoch's stake distribution is replicated here.

The table is one INSERT … SELECT from the replicated epoch (`EpochStake`), so it costs one
statement whatever the number of delegators, and it is deterministic: the same parts, in any
order or delivered twice, give the same rows. A row per stake address with at least the poll's
`min_stake_lovelace`; its power by the poll's formula (README, Voting power):

- `stake`: whole ada (lovelace // 1,000,000);
- `sqrt_stake`: the integer square root of the whole ada;
- `stake_x_loyalty`: whole ada × loyalty;
- `points`: the points of the voter whose verified address it is, as the replica holds them at
  the freeze; an address whose voter is not known yet gets its voter's points when first
  needed (`voting.eligibility.voter_power`), under the same cap.

`cap_percent`: no row's power above floor(total × cap_percent / 100), the total taken before
the cut; the excess is cut, not given to anyone else.

In the open mode nothing is frozen here: each voter's points are frozen at their first need
(their first ballot or power query, in the write that needs them).
"""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass

from django.db import connection, transaction
from django.utils import timezone

from shared_events.core.schemas.polls import PollStatus, PowerFormula
from shared_events.kit.chain_mode import open_eligibility
from shared_events.kit.errors import NotFound, Refused

from .. import eligibility
from ..models import EpochStake, PollPower, PollPowerTable, PollReplica, Voter
from ..selectors.power import epoch_complete
from . import ballot_sql

log = logging.getLogger(__name__)

LOVELACE_PER_ADA = 1_000_000

_STAKE = EpochStake._meta.db_table
_VOTER = Voter._meta.db_table
_POWER = PollPower._meta.db_table

# Each formula's power of one row `b` of the subquery in `_rows_sql`. The square root is the
# float one corrected by one step either way, so it is exact for any stake.
_FORMULAS = {
    PowerFormula.STAKE: "b.ada",
    PowerFormula.SQRT_STAKE: (
        "CASE WHEN (b.root + 1) * (b.root + 1) <= b.ada THEN b.root + 1"
        " WHEN b.root * b.root > b.ada THEN b.root - 1 ELSE b.root END"
    ),
    PowerFormula.STAKE_X_LOYALTY: "b.ada * b.loyalty",
    PowerFormula.POINTS: "b.points",
}


def _rows_sql(formula: str) -> str:
    """The INSERT of a poll's rows: parameters poll id, frozen_at, epoch, min lovelace."""
    points = voters = ""
    if formula == PowerFormula.POINTS:
        # One voter per address, whatever the replica holds a moment before an address moved
        # between accounts: the most points, so the choice does not depend on row order.
        points = ", vp.points"
        voters = (
            f" LEFT JOIN (SELECT stake_address, MAX(points) AS points FROM {_VOTER}"
            " WHERE stake_address IS NOT NULL AND NOT is_deleted"
            " AND is_active AND role = 'delegator'"
            " GROUP BY stake_address) vp ON vp.stake_address = e.stake_address"
        )
    power = _FORMULAS[PowerFormula(formula)]
    return (
        f"INSERT INTO {_POWER} (poll_id, stake_address, voter_id, lovelace, loyalty, uncapped,"
        " power, frozen_at)"
        f" SELECT %s, b.stake_address, NULL, b.lovelace, b.loyalty, {power}, {power}, %s"
        " FROM (SELECT e.stake_address, e.lovelace, e.loyalty,"
        f" e.lovelace / {LOVELACE_PER_ADA} AS ada,"
        f" CAST(FLOOR(SQRT(e.lovelace / {LOVELACE_PER_ADA})) AS BIGINT) AS root{points}"
        f" FROM {_STAKE} e{voters}"
        " WHERE e.epoch = %s AND e.lovelace >= %s) b"
    )


def cap_of(*, total: int, cap_percent: int | None) -> int | None:
    """The most power one voter may have: floor(total × cap_percent / 100), None for no cap."""
    return None if cap_percent is None else total * cap_percent // 100


def power_freeze_if_ready(*, poll: PollReplica) -> PollPowerTable | None:
    """Freeze the poll's power table if it is due: chain mode, the poll takes ballots, its
    snapshot epoch is known and complete here, and it is not frozen yet. Call it holding the
    poll row FOR UPDATE (the consumer applying the poll does), so a freeze happens once.
    Returns the table, or None when it is not due."""
    if open_eligibility() or poll.is_deleted or poll.snapshot_epoch is None:
        return None
    if poll.status not in (PollStatus.OPEN, PollStatus.CLOSING):
        return None
    existing = PollPowerTable.objects.filter(pk=poll.pk).first()
    if existing is not None:
        return existing
    if not epoch_complete(epoch=poll.snapshot_epoch):
        return None
    return _freeze(poll)


def _freeze(poll: PollReplica) -> PollPowerTable:
    # Only a poll whose snapshot epoch is complete here is frozen (the callers check it).
    snapshot_epoch = poll.snapshot_epoch
    if snapshot_epoch is None:
        raise ValueError(f"poll {poll.pk} has no snapshot epoch to freeze its power from")
    now = timezone.now()
    with connection.cursor() as cursor:
        cursor.execute(
            _rows_sql(poll.power_formula),
            [
                ballot_sql.sql_uuid(poll.pk),
                connection.ops.adapt_datetimefield_value(now),
                snapshot_epoch,
                poll.min_stake_lovelace,
            ],
        )
        cursor.execute(
            f"SELECT COALESCE(SUM(uncapped), 0) FROM {_POWER} WHERE poll_id = %s",
            [ballot_sql.sql_uuid(poll.pk)],
        )
        total = int(cursor.fetchone()[0])
        cap = cap_of(total=total, cap_percent=poll.cap_percent)
        if cap is not None:
            cursor.execute(
                f"UPDATE {_POWER} SET power = %s WHERE poll_id = %s AND power > %s",
                [cap, ballot_sql.sql_uuid(poll.pk), cap],
            )
    table = PollPowerTable.objects.create(
        poll=poll,
        power_formula=poll.power_formula,
        snapshot_epoch=snapshot_epoch,
        min_stake_lovelace=poll.min_stake_lovelace,
        cap_percent=poll.cap_percent,
        uncapped_total=total,
        cap=cap,
        frozen_at=now,
    )
    log.info(
        "power of poll %s frozen: %s of epoch %d, total %d, cap %s",
        poll.pk,
        poll.power_formula,
        poll.snapshot_epoch,
        total,
        cap,
    )
    return table


def powers_freeze_due(*, epoch: int | None = None) -> list[uuid.UUID]:
    """Freeze every poll whose power is due (of `epoch`'s snapshot only, if given), each in a
    transaction of its own holding the poll row: after an epoch's last part arrived, and on
    the tally task's tick, for a poll that opened before its epoch was complete here."""
    if open_eligibility():
        return []
    waiting = PollReplica.objects.filter(
        status__in=(PollStatus.OPEN, PollStatus.CLOSING),
        is_deleted=False,
        snapshot_epoch__isnull=False,
        power_table__isnull=True,
    )
    if epoch is not None:
        waiting = waiting.filter(snapshot_epoch=epoch)
    frozen = []
    for poll_id in list(waiting.values_list("pk", flat=True)):
        with transaction.atomic():
            poll = PollReplica.objects.select_for_update().filter(pk=poll_id).first()
            if poll is not None and power_freeze_if_ready(poll=poll) is not None:
                frozen.append(poll_id)
    return frozen


@dataclass(frozen=True)
class PowerAnswer:
    """A voter's power in a poll as `GET polls/<id>/power/` answers it."""

    eligible: bool
    power: int | None
    reason: str | None


def voter_power_in_poll(*, voter_id: uuid.UUID, poll_id: uuid.UUID) -> PowerAnswer:
    """The voter's power in the poll by the rules a ballot meets (`voting.eligibility`), read
    under the same locks. While the poll takes ballots this is a first need: power not frozen
    yet is frozen now, so the answer is what a ballot will be checked against. `NotFound` for
    a poll not shown here, `Conflict` while chain mode's table is not frozen."""
    with transaction.atomic():
        locked = ballot_sql.lock_and_read(voter_id=voter_id, poll_id=poll_id)
        poll = locked.poll
        if poll is None or poll.is_deleted or poll.status == PollStatus.DRAFT:
            raise NotFound(eligibility.NO_SUCH_POLL)
        refusal = eligibility.voter_refusal(locked.voter)
        if refusal is not None:
            return PowerAnswer(eligible=False, power=None, reason=refusal)
        assert locked.voter is not None
        try:
            power, freeze = eligibility.voter_power(
                voter=locked.voter, poll=poll, power=locked.power
            )
        except Refused as refused:
            return PowerAnswer(eligible=False, power=None, reason=str(refused.message))
        if freeze is not None and poll.takes_ballots:
            ballot_sql.power_freeze_write(
                poll_id=poll_id, voter_id=voter_id, freeze=freeze, at=timezone.now()
            )
        return PowerAnswer(eligible=True, power=power, reason=None)
