"""Reads of receipts: a voter's revisions of one ballot, what became of a receipt, and the
receipts a final tally counted (formats in `voting.receipts`)."""

from __future__ import annotations

import dataclasses
import enum
import uuid
from datetime import datetime

from django.db.models import QuerySet

from ..models import Ballot, BallotRevision, PollReplica, PollStatus, PollTally
from .tallies import final_tally


class ReceiptStatus(enum.StrEnum):
    COUNTED = "counted"  # the ballot's last revision when its poll closed: in the final tally
    PENDING = "pending"  # the ballot's current revision; the poll has not closed yet
    SUPERSEDED = "superseded"  # a later cast of the same ballot replaced it
    RETRACTED = "retracted"  # the ballot was withdrawn (by this revision or a later one)
    CANCELLED = "cancelled"  # the poll was cancelled: nothing counts


_EXPLANATIONS = {
    ReceiptStatus.COUNTED: "Counted: this ballot is in the poll's final tally, and this receipt "
    "is in the list the published receipts digest is computed over.",
    ReceiptStatus.PENDING: "Your current ballot: it will be counted if it is still your latest "
    "revision when the poll closes.",
    ReceiptStatus.SUPERSEDED: "Replaced by a later revision of the same ballot, which is the "
    "one that counts.",
    ReceiptStatus.RETRACTED: "The ballot was withdrawn (by this revision or a later one): it "
    "is not counted unless it is cast again.",
    ReceiptStatus.CANCELLED: "The poll was cancelled: no ballot of it is counted.",
}


@dataclasses.dataclass(frozen=True)
class ReceiptCheck:
    receipt: str
    poll: PollReplica
    revision: int
    kind: str
    created_at: datetime
    status: ReceiptStatus
    latest_revision: int
    receipts_digest: str | None  # the final tally's, once there is one

    @property
    def counted(self) -> bool:
        return self.status is ReceiptStatus.COUNTED

    @property
    def explanation(self) -> str:
        return _EXPLANATIONS[self.status]


def revisions_of_ballot(*, voter_id: uuid.UUID, poll_id: uuid.UUID) -> QuerySet[BallotRevision]:
    """Every revision of the voter's ballot in the poll, oldest first (none if they never
    voted in it)."""
    return BallotRevision.objects.filter(
        ballot__voter_id=voter_id, ballot__poll_id=poll_id
    ).order_by("number")


def revision_status(
    *, poll: PollReplica, final: bool, number: int, latest: tuple[int, str]
) -> ReceiptStatus:
    """What became of revision `number` of a ballot whose latest revision is `latest` (number,
    kind); `final`: whether the poll's final tally exists."""
    latest_number, latest_kind = latest
    if poll.status == PollStatus.CANCELLED:
        return ReceiptStatus.CANCELLED
    if latest_kind == BallotRevision.Kind.RETRACT:
        return ReceiptStatus.RETRACTED  # this revision or a later one withdrew the ballot
    if number < latest_number:
        return ReceiptStatus.SUPERSEDED
    return ReceiptStatus.COUNTED if final else ReceiptStatus.PENDING


def receipt_check(*, receipt: str) -> ReceiptCheck | None:
    """What became of the revision with this receipt; None if no revision has it."""
    revision = (
        BallotRevision.objects.select_related("ballot__poll")
        .filter(receipt=receipt)
        .exclude(ballot__poll__status=PollStatus.DRAFT)
        .first()
    )
    if revision is None:
        return None
    ballot, poll = revision.ballot, revision.ballot.poll
    final = final_tally(poll=poll)
    latest_kind = BallotRevision.Kind.RETRACT if ballot.is_retracted else BallotRevision.Kind.CAST
    status = revision_status(
        poll=poll,
        final=final is not None,
        number=revision.number,
        latest=(ballot.revision, latest_kind),
    )
    return ReceiptCheck(
        receipt=revision.receipt,
        poll=poll,
        revision=revision.number,
        kind=revision.kind,
        created_at=revision.created_at,
        status=status,
        latest_revision=ballot.revision,
        receipts_digest=final.receipts_digest if final is not None else None,
    )


def counted_receipts(*, poll: PollReplica) -> QuerySet[Ballot, str]:
    """The receipts of the ballots the final tally counted (each one's latest revision), sorted:
    the list the receipts digest is computed over. Only for a poll with a final tally: after
    the close no ballot of it changes."""
    return (
        Ballot.objects.filter(poll=poll, allocations__points__gt=0)
        .distinct()
        .order_by("receipt")
        .values_list("receipt", flat=True)
    )


@dataclasses.dataclass(frozen=True)
class HistoryEntry:
    """A revision of one of the voter's ballots, with what became of it."""

    revision: BallotRevision
    poll: PollReplica
    status: ReceiptStatus


def history_of_voter(*, voter_id: uuid.UUID) -> list[HistoryEntry]:
    """Every revision of every ballot of the voter (drafts' aside, as everywhere), the most
    recently changed ballot first and within a ballot the latest revision first, each with its
    status as `revision_status` words it."""
    revisions = list(
        BallotRevision.objects.select_related("ballot__poll")
        .filter(ballot__voter_id=voter_id)
        .exclude(ballot__poll__status=PollStatus.DRAFT)
        .order_by("-ballot__updated_at", "ballot_id", "-number")
    )
    polls = {r.ballot.poll_id for r in revisions}
    finals = set(PollTally.objects.filter(pk__in=polls, final=True).values_list("pk", flat=True))
    entries = []
    for revision in revisions:
        ballot = revision.ballot
        latest_kind = (
            BallotRevision.Kind.RETRACT if ballot.is_retracted else BallotRevision.Kind.CAST
        )
        status = revision_status(
            poll=ballot.poll,
            final=ballot.poll_id in finals,
            number=revision.number,
            latest=(ballot.revision, latest_kind),
        )
        entries.append(HistoryEntry(revision=revision, poll=ballot.poll, status=status))
    return entries
