"""Notices driven by polls' and voting's events, sent to a real SMTP server: what each kind
says, its headers, and never a second message for one delegator, poll and kind, whatever is
redelivered, reordered or retried."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from urllib.parse import urlsplit

import pytest
from rest_framework.test import APIClient

from accounts.models import Notice, NoticeParticipation, NoticeRound, NotificationSettings
from accounts.services import account_register
from accounts.services.notices import notices_send, notices_sweep
from shared_events.kit.smtp_testing import text_of

from .. import notice_events as ev
from ..conftest import PASSWORD

pytestmark = pytest.mark.django_db(transaction=True)


def subscriber(email: str, **kinds: bool):
    account = account_register(email=email, password=PASSWORD)
    wanted = {"poll_opened": True, "closing_soon": True, "results": True, "paid": True} | kinds
    NotificationSettings.objects.create(account=account, confirmed_email=email, **wanted)
    return account


@pytest.fixture
def round_(db):
    causes = [ev.cause("Clean water"), ev.cause("Seeds <for> schools", url="")]
    ev.deliver(*(ev.message("polls.cause", c["id"], 1, c) for c in causes))
    return causes


def test_a_poll_opening_mails_each_subscriber_once_with_the_one_click_headers(
    smtp, eager_celery, round_
):
    ann = subscriber("ann@example.org")
    subscriber("bob@example.org", poll_opened=False)
    unconfirmed = account_register(email="cy@example.org", password=PASSWORD)
    NotificationSettings.objects.create(account=unconfirmed, poll_opened=True)
    poll = ev.poll(round_)
    opened = ev.message("polls.poll", poll["id"], 2, poll, event_id=uuid.uuid4())

    ev.deliver(opened)

    assert [m["To"] for m in smtp.inbox.messages] == ["ann@example.org"]
    (message,) = smtp.inbox.messages
    assert message["From"] == "Charity vote <votes@pool.example>"
    assert message["Subject"] == "Poll open: Round 7 & friends"
    unsubscribe = message["List-Unsubscribe"].strip()  # folded: a long line
    assert unsubscribe.startswith("<https://pool.example/accounts/api/notifications/unsubscribe/")
    assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    text, html = text_of(message), text_of(message, "html")
    assert "Clean water (https://water.example)" in text and "Seeds <for> schools" in text
    assert "Seeds &lt;for&gt; schools" in html and "1,000 ada" in text
    assert unsubscribe.strip("<>") in text and unsubscribe.strip("<>") in html

    # The same event again, the same state under a new event id, a newer state still open,
    # the planning task and the send task run again: nothing more is sent.
    ev.deliver(opened)
    ev.deliver(ev.message("polls.poll", poll["id"], 2, poll))
    ev.deliver(ev.message("polls.poll", poll["id"], 3, poll | {"title": "Round 7, renamed"}))
    eager_celery.tasks["accounts.notice_round_plan"].delay(NoticeRound.objects.get().pk)
    notice = Notice.objects.get(account=ann)
    eager_celery.tasks["accounts.notices_send"].delay([str(notice.pk)])
    assert notices_send(notice_ids=[notice.pk]).sent == 0
    assert len(smtp.inbox.messages) == 1
    assert (notice.status, notice.email, notice.attempts) == ("sent", "ann@example.org", 1)

    # One click (RFC 8058), no sign-in: the next opening is not sent to ann.
    clicked = APIClient().post(
        urlsplit(unsubscribe.strip("<>")).path,
        "List-Unsubscribe=One-Click",
        content_type="application/x-www-form-urlencoded",
    )
    assert clicked.status_code == 200
    other = ev.poll(round_, title="Round 8")
    ev.deliver(ev.message("polls.poll", other["id"], 1, other, verb="created"))
    assert len(smtp.inbox.messages) == 1


def test_closing_soon_goes_to_those_who_have_not_voted_whatever_the_order(
    smtp, eager_celery, round_
):
    voter, retracted, idle = (
        subscriber("voter@example.org"),
        subscriber("retracted@example.org"),
        subscriber("idle@example.org"),
    )
    poll = ev.poll(round_, closes_in=timedelta(hours=30))
    ev.deliver(ev.message("polls.poll", poll["id"], 1, poll | {"status": "scheduled"}))

    def took_part(account, version, voted):
        aggregate = f"{poll['id']}:{account.pk}"
        data = ev.participation(poll["id"], str(account.pk), voted)
        return ev.message("voting.participation", aggregate, version, data)

    # The retraction (version 3) arrives before the vote it undoes (version 1).
    ev.deliver(took_part(voter, 1, True), took_part(retracted, 3, False))
    ev.deliver(took_part(retracted, 1, True))
    assert dict(NoticeParticipation.objects.values_list("account_id", "voted")) == {
        voter.pk: True,
        retracted.pk: False,
    }
    notices_sweep()
    assert smtp.inbox.messages == []  # closes in 30 hours: not yet

    soon = poll | {
        "status": "open",
        "closes_at": (datetime.now(UTC) + timedelta(hours=20)).isoformat(),
    }
    ev.deliver(ev.message("polls.poll", poll["id"], 2, soon))
    smtp.inbox.clear()  # the opening
    notices_sweep()
    notices_sweep()
    assert sorted(m["To"] for m in smtp.inbox.messages) == [
        "idle@example.org",
        "retracted@example.org",
    ]
    assert smtp.inbox.messages[0]["Subject"] == "Last day to vote: Round 7 & friends"
    assert Notice.objects.filter(account=voter, kind="closing_soon").count() == 0
    assert Notice.objects.get(account=idle, kind="closing_soon").status == "sent"


def test_results_and_paid_notices_tell_the_payouts(smtp, eager_celery, round_):
    subscriber("ann@example.org", poll_opened=False)
    poll = ev.poll(round_, status="finalized")
    ev.deliver(ev.message("polls.poll", poll["id"], 5, poll))
    result = ev.result(poll, round_, [700_000_000, 300_000_000])
    ev.deliver(ev.message("polls.result", poll["id"], 1, result, verb="created"))
    ev.deliver(ev.message("polls.result", poll["id"], 1, result, verb="created"))

    (results,) = smtp.inbox.messages
    assert results["Subject"] == "Results: Round 7 & friends"
    assert "- Clean water: 700 ada (700 points from 1 voter)" in text_of(results)
    assert "https://pool.example/polls/api/polls/" not in text_of(results)  # polls' own URL
    assert f"/polls/api/polls/{poll['id']}/results/" in text_of(results)

    payout = ev.payout(poll, round_, [700_000_000, 300_000_000])
    ev.deliver(ev.message("polls.payout", payout["id"], 2, payout))
    ev.deliver(ev.message("polls.poll", poll["id"], 6, poll | {"status": "paid"}))
    ev.deliver(ev.message("polls.poll", poll["id"], 6, poll | {"status": "paid"}))
    paid = smtp.inbox.messages[1]
    assert (
        len(smtp.inbox.messages) == 2 and paid["Subject"] == "Paid: the causes of Round 7 & friends"
    )
    text = text_of(paid)
    assert f"Transaction {'ab' * 32} (https://explorer.example/tx/{'ab' * 32})" in text
    assert "confirmed on chain" in text and "- Seeds <for> schools: 300 ada" in text


def test_a_failing_smtp_server_is_retried_and_the_notice_sent_once(smtp, settings, round_):
    ann = subscriber("ann@example.org")
    poll = ev.poll(round_)
    ev.deliver(ev.message("polls.poll", poll["id"], 1, poll))  # not eager: queued only
    notices_sweep()  # plans the round; its send task is not run here
    notice = Notice.objects.get(account=ann)
    assert notice.status == "pending"

    settings.EMAIL_PORT = smtp.port + 1 if smtp.port < 65535 else smtp.port - 1  # nobody there
    with pytest.raises(OSError):
        notices_send(notice_ids=[notice.pk])
    notice.refresh_from_db()
    assert (notice.status, notice.attempts) == ("pending", 1) and notice.last_error

    settings.EMAIL_PORT = smtp.port
    assert notices_send(notice_ids=[notice.pk]).sent == 1  # the task's retry
    assert notices_send(notice_ids=[notice.pk]).sent == 0  # a redelivered retry
    assert [m["To"] for m in smtp.inbox.messages] == ["ann@example.org"]


def test_the_last_failed_attempt_marks_the_notice_failed(smtp, settings, round_):
    ann = subscriber("ann@example.org")
    poll = ev.poll(round_)
    ev.deliver(ev.message("polls.poll", poll["id"], 1, poll))
    notices_sweep()
    settings.EMAIL_PORT = smtp.port + 1 if smtp.port < 65535 else smtp.port - 1
    notice = Notice.objects.get(account=ann)
    with pytest.raises(OSError):
        notices_send(notice_ids=[notice.pk], last_attempt=True)
    notice.refresh_from_db()
    assert notice.status == "failed"
