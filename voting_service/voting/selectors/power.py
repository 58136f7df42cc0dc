"""Reads of voting power: which epochs' stake is complete here, a poll's frozen table as the
tallies and the operators' CSV show it."""

from __future__ import annotations

import io
from dataclasses import dataclass

from django.db import connection
from django.db.models import Count, Max, Min, Sum
from django.db.models.functions import Coalesce

from shared_events.core.schemas.polls import PowerFormula
from shared_events.kit.chain_mode import open_eligibility
from shared_events.kit.spreadsheet_csv import SpreadsheetSafeWriter

from ..models import EpochStakePartReplica, PollPower, PollPowerTable, PollReplica, Voter
from .exports import voter_pseudonym


def epoch_complete(*, epoch: int) -> bool:
    """Whether every part of the epoch's stake distribution is replicated here: as many parts
    as they say there are, all agreeing on that number."""
    seen = EpochStakePartReplica.objects.filter(epoch=epoch, is_deleted=False).aggregate(
        count=Count("pk"), least=Min("parts"), most=Max("parts")
    )
    return seen["count"] > 0 and seen["least"] == seen["most"] == seen["count"]


@dataclass(frozen=True)
class PowerSummary:
    """What the tallies say of a poll's power: its formula and snapshot epoch as applied, how
    many delegators may vote and the sum of their power; the last two None while not known."""

    power_formula: str | None
    snapshot_epoch: int | None
    eligible: int | None
    total_power: int | None


def power_summary(*, poll: PollReplica) -> PowerSummary:
    """Chain mode: the frozen table (eligible: its rows; total: their power), nothing before it
    is frozen. Open mode: the active delegators known here, each with their frozen points or,
    not frozen yet, their points now."""
    if not open_eligibility():
        table = PollPowerTable.objects.filter(pk=poll.pk).first()
        if table is None:
            return PowerSummary(poll.power_formula, poll.snapshot_epoch, None, None)
        counted = PollPower.objects.filter(poll=poll).aggregate(
            eligible=Count("pk"), total=Coalesce(Sum("power"), 0)
        )
        return PowerSummary(
            table.power_formula, table.snapshot_epoch, counted["eligible"], counted["total"]
        )
    # One pass over the voters, their frozen rows joined (a hash join, not a lookup each).
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT COUNT(*), COALESCE(SUM(COALESCE(w.power, v.points)), 0)"
            f" FROM {Voter._meta.db_table} v LEFT JOIN {PollPower._meta.db_table} w"
            " ON w.poll_id = %s AND w.voter_id = v.id"
            " WHERE v.role = 'delegator' AND v.is_active AND NOT v.is_deleted",
            [poll.pk if connection.vendor == "postgresql" else poll.pk.hex],
        )
        eligible, total = cursor.fetchone()
    return PowerSummary(PowerFormula.POINTS.value, None, int(eligible), int(total))


CSV_HEADER = [
    "poll_id",
    "stake_address",
    "voter",
    "lovelace",
    "loyalty",
    "uncapped_power",
    "power",
    "frozen_at",
]


def power_table_csv(*, poll: PollReplica) -> str:
    """The poll's frozen table, a row per stake address (chain mode) or per voter (open mode,
    pseudonymous as in the ballots' export), ordered so that two exports of one table are
    equal; an empty cell where a value does not apply."""
    out = io.StringIO()
    writer = SpreadsheetSafeWriter(out)
    writer.writerow(CSV_HEADER)
    rows = (
        PollPower.objects.filter(poll=poll)
        .order_by("stake_address", "voter_id")
        .values_list(
            "stake_address", "voter_id", "lovelace", "loyalty", "uncapped", "power", "frozen_at"
        )
    )
    for address, voter_id, lovelace, loyalty, uncapped, power, frozen_at in rows.iterator(
        chunk_size=2000
    ):
        writer.writerow(
            [
                poll.pk,
                address,
                None if voter_id is None else voter_pseudonym(poll_id=poll.pk, voter_id=voter_id),
                lovelace,
                loyalty,
                uncapped,
                power,
                frozen_at.isoformat(),
            ]
        )
    return out.getvalue()
