"""Sending the notices: a round (one poll, one kind) is planned once into one Notice per
delegator opted in, and notices are sent in batches, each claimed before it is sent, so none
goes out twice whatever is redelivered or retried."""

from __future__ import annotations

import logging
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.core.mail import get_connection
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from ..models import (
    Account,
    Notice,
    NoticeKind,
    NoticeParticipation,
    NoticePoll,
    NoticeRound,
    NotificationSettings,
    Role,
)
from ..notifications import mail, queue
from ..selectors.notices import notice_context

logger = logging.getLogger(__name__)


def notice_round_due(*, poll_id: uuid.UUID, kind: str) -> None:
    """Inside the transaction of the event that made it due: record the round (once per poll
    and kind) and plan it after the commit."""
    round_, created = NoticeRound.objects.get_or_create(poll_id=poll_id, kind=kind)
    if created:
        queue.round_plan_on_commit(round_.pk)


def recipients(*, poll_id: uuid.UUID, kind: str) -> list[tuple[uuid.UUID, str]]:
    """(account id, address) of every active delegator who wants `kind` at a confirmed address,
    less, for "closes soon", those who voted in the poll."""
    wanted = NotificationSettings.objects.filter(
        **{kind: True},
        account__role=Role.DELEGATOR,
        account__is_active=True,
        account__email=F("confirmed_email"),
    ).exclude(confirmed_email="")
    if kind == NoticeKind.CLOSING_SOON:
        voted = NoticeParticipation.objects.filter(poll_id=poll_id, voted=True).values("account_id")
        wanted = wanted.exclude(account_id__in=voted)
    return list(wanted.values_list("account_id", "confirmed_email"))


def notice_round_plan(*, round_id: int) -> int:
    """One Notice per recipient (the unique key ignores those that exist), then the round is
    planned and its pending notices go to the send task in batches. Returns how many notices
    the round has. Planning again (a redelivered task) creates and sends nothing new."""
    with transaction.atomic():
        round_ = NoticeRound.objects.select_for_update().filter(pk=round_id).first()
        if round_ is None:
            return 0
        if round_.planned_at is None:
            Notice.objects.bulk_create(
                [
                    Notice(
                        account_id=account_id, poll_id=round_.poll_id, kind=round_.kind, email=email
                    )
                    for account_id, email in recipients(poll_id=round_.poll_id, kind=round_.kind)
                ],
                batch_size=1000,
                ignore_conflicts=True,
            )
            round_.recipients = Notice.objects.filter(
                poll_id=round_.poll_id, kind=round_.kind
            ).count()
            round_.planned_at = timezone.now()
            round_.save(update_fields=["recipients", "planned_at"])
            pending = Notice.objects.filter(
                poll_id=round_.poll_id, kind=round_.kind, status=Notice.Status.PENDING
            ).values_list("id", flat=True)
            _enqueue(list(pending))
        return round_.recipients


def _enqueue(notice_ids: Sequence[uuid.UUID]) -> None:
    """Inside a transaction: batches of notices to the send task, after the commit."""
    Notice.objects.filter(id__in=notice_ids).update(queued_at=timezone.now())
    size = settings.NOTIFY_BATCH_SIZE
    for start in range(0, len(notice_ids), size):
        queue.notices_send_on_commit(notice_ids[start : start + size])


@dataclass(frozen=True)
class SendReport:
    sent: int
    skipped: int


def notices_send(*, notice_ids: Sequence[uuid.UUID], last_attempt: bool = False) -> SendReport:
    """Claim the pending ones among `notice_ids` (pending → sending), check each is still
    wanted, and send them over one SMTP connection, each marked sent right after it went.
    On a failure the unsent rest is pending again (failed on the last attempt) and the error
    propagates, for the task's retry."""
    with transaction.atomic():
        claimed = list(
            Notice.objects.select_for_update(skip_locked=True)
            .filter(id__in=notice_ids, status=Notice.Status.PENDING)
            .values_list("id", flat=True)
        )
        Notice.objects.filter(id__in=claimed).update(
            status=Notice.Status.SENDING, attempts=F("attempts") + 1
        )
    notices = list(Notice.objects.filter(id__in=claimed).select_related("account"))
    to_send: list[Notice] = []
    skipped: list[Notice] = []
    for notice in notices:
        (to_send if _still_wanted(notice) else skipped).append(notice)
    Notice.objects.filter(id__in=[n.id for n in skipped]).update(status=Notice.Status.SKIPPED)
    sent = 0
    try:
        if to_send:
            with get_connection() as connection:
                for notice in to_send:
                    message = mail.notice_message(
                        to=notice.email,
                        account_id=notice.account_id,
                        kind=notice.kind,
                        context=notice_context(poll_id=notice.poll_id, kind=notice.kind),
                    )
                    connection.send_messages([message])
                    Notice.objects.filter(id=notice.id).update(
                        status=Notice.Status.SENT, sent_at=timezone.now(), last_error=""
                    )
                    sent += 1
    except Exception as exc:
        Notice.objects.filter(id__in=[n.id for n in to_send], status=Notice.Status.SENDING).update(
            status=Notice.Status.FAILED if last_attempt else Notice.Status.PENDING,
            last_error=f"{type(exc).__name__}: {exc}"[:2000],
        )
        raise
    return SendReport(sent=sent, skipped=len(skipped))


def _still_wanted(notice: Notice) -> bool:
    """Sent only if the delegator still wants this kind at this address, and, for "closes
    soon", has not voted meanwhile and the poll is still open."""
    account: Account = notice.account
    if not account.is_active or account.email != notice.email:
        return False
    wanted = NotificationSettings.objects.filter(
        account=account, confirmed_email=notice.email, **{notice.kind: True}
    ).exists()
    if not wanted:
        return False
    poll = NoticePoll.objects.filter(pk=notice.poll_id, is_deleted=False).first()
    if poll is None:
        return False
    if notice.kind == NoticeKind.CLOSING_SOON:
        if poll.closes_at <= timezone.now():
            return False
        return not NoticeParticipation.objects.filter(
            poll_id=notice.poll_id, account_id=account.pk, voted=True
        ).exists()
    return True


def notices_sweep() -> int:
    """The beat's pass: rounds for polls that now close within NOTIFY_CLOSING_SOON_SECONDS, then
    every round not yet planned and every notice whose task was lost. Returns how many rounds
    it (re)planned."""
    now = timezone.now()
    closing = NoticePoll.objects.filter(
        is_deleted=False,
        status__in=["open", "closing"],
        closes_at__gt=now,
        closes_at__lte=now + timedelta(seconds=settings.NOTIFY_CLOSING_SOON_SECONDS),
    ).values_list("id", flat=True)
    with transaction.atomic():
        for poll_id in closing:
            notice_round_due(poll_id=poll_id, kind=NoticeKind.CLOSING_SOON)
    unplanned = list(NoticeRound.objects.filter(planned_at=None).values_list("id", flat=True))
    for round_id in unplanned:
        notice_round_plan(round_id=round_id)
    # Longer than a big round takes at the configured rate, so only lost tasks are sent again
    # (and a notice sent twice by two tasks is still claimed once).
    lost = now - timedelta(seconds=settings.NOTIFY_REQUEUE_AFTER_SECONDS)
    stale = list(
        Notice.objects.filter(status=Notice.Status.PENDING, queued_at__lt=lost).values_list(
            "id", flat=True
        )[:10_000]
    )
    with transaction.atomic():
        _enqueue(stale)
    return len(unplanned)


__all__ = ["SendReport", "notice_round_due", "notice_round_plan", "notices_send", "notices_sweep"]
