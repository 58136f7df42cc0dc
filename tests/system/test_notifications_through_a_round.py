"""Email notifications through a whole round, real processes and a real SMTP server the test
starts: two delegators opt in after confirming their address by the emailed link; both hear
that the poll opened; only the one who has not voted hears it is about to close; both get the
results, once each; the operator records the payout and confirms it by hand, and both hear
the causes were paid."""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from urllib.parse import urlsplit

import pytest

from shared_events.core.testing import wait_until
from shared_events.kit.smtp_testing import SmtpServer, text_of
from tests.system.actors import PASSWORD, create_operator
from tests.system.harness import Platform, http

OPEN_SECONDS = 45  # the poll's length
CLOSING_SOON_SECONDS = 25  # the "closes soon" window: the last 25 seconds
DEADLINE = 60.0


class MailingPlatform(Platform):
    """The platform with accounts sending through the test's SMTP server, sweeping every
    second, and a short "closes soon" window."""

    def __init__(self, smtp: SmtpServer) -> None:
        super().__init__()
        self.smtp = smtp

    def environment(self) -> dict[str, str]:
        return {
            **super().environment(),
            "EMAIL_URL": f"smtp://127.0.0.1:{self.smtp.port}",
            "DEFAULT_FROM_EMAIL": "Pool votes <votes@pool.example>",
            "NOTIFY_SWEEP_INTERVAL_SECONDS": "1",
            "NOTIFY_CLOSING_SOON_SECONDS": str(CLOSING_SOON_SECONDS),
        }


@pytest.fixture(scope="module")
def mailing() -> Iterator[MailingPlatform]:
    smtp = SmtpServer().start()
    running = MailingPlatform(smtp)
    try:
        running.start()
    except BaseException:
        print(running.logs(tail=200))
        running.close(keep_files=True)
        smtp.stop()
        raise
    yield running
    running.close()
    smtp.stop()


def mail_to(platform: MailingPlatform, address: str, subject: str, count: int = 1):
    wait_until(
        lambda: (
            len([m for m in platform.smtp.inbox.to(address) if m["Subject"] == subject]) >= count
        ),
        timeout=DEADLINE,
        interval=0.2,
        message=f"{subject!r} to {address}",
    )
    return [m for m in platform.smtp.inbox.to(address) if m["Subject"] == subject]


def subscribed_delegator(platform: MailingPlatform) -> tuple[str, str, str]:
    """Register, confirm the address by the emailed link, opt in to every kind."""
    email = f"d-{uuid.uuid4().hex[:8]}@example.org"
    registered = platform.api(
        "POST", "accounts", "register/", {"email": email, "password": PASSWORD}
    )
    assert registered.status == 201, registered
    token = platform.api("POST", "accounts", "token/", {"email": email, "password": PASSWORD}).body[
        "access"
    ]
    refused = platform.api("PATCH", "accounts", "me/notifications/", {"results": True}, token=token)
    assert refused.status == 409, refused
    sent = platform.api("POST", "accounts", "me/notifications/confirm-email/", token=token)
    assert sent.status == 202, sent
    (confirm,) = mail_to(platform, email, "Confirm your email address for poll notifications")
    link = re.search(
        r"http://\S+/accounts/api/me/notifications/confirm/\?token=\S+", text_of(confirm)
    )
    confirmed = http("GET", link.group(0))  # as from the mail client: no sign-in
    assert confirmed.status == 200 and confirmed.body["email"] == email, confirmed
    every = {"poll_opened": True, "closing_soon": True, "results": True, "paid": True}
    opted = platform.api("PATCH", "accounts", "me/notifications/", every, token=token)
    assert opted.status == 200 and opted.body["email_confirmed"], opted
    return registered.body["id"], email, token


def test_notifications_from_opt_in_to_the_results(mailing: MailingPlatform):
    platform = mailing
    operator = create_operator(platform)

    # 1. Two delegators opt in after confirming their addresses.
    _ann_id, ann, ann_token = subscribed_delegator(platform)
    _bob_id, bob, bob_token = subscribed_delegator(platform)

    # 2. A poll with two causes opens in a few seconds and stays open OPEN_SECONDS.
    causes = [
        platform.api("POST", "polls", "causes/", {"title": t}, token=operator.token).body["id"]
        for t in ("Clean water", "School meals")
    ]
    opens_at = datetime.now(UTC) + timedelta(seconds=4)
    created = platform.api(
        "POST",
        "polls",
        "polls/",
        {
            "title": "Notified round",
            "fund_lovelace": 500_000_000,
            "opens_at": opens_at.isoformat(),
            "closes_at": (opens_at + timedelta(seconds=OPEN_SECONDS)).isoformat(),
            "causes": causes,
            "results_visibility": "live",
        },
        token=operator.token,
    )
    assert created.status == 201, created
    poll_id = created.body["id"]
    assert (
        platform.api("POST", "polls", f"polls/{poll_id}/schedule/", token=operator.token).status
        == 200
    )

    # 3. Both hear that it opened, with its causes and closing time, and the one-click headers.
    for address in (ann, bob):
        (opened,) = mail_to(platform, address, "Poll open: Notified round")
        assert opened["From"] == "Pool votes <votes@pool.example>" and opened["To"] == address
        assert opened["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
        assert "Clean water" in text_of(opened) and "School meals" in text_of(opened, "html")

    # 4. Ann votes before the "closes soon" window; Bob does not.
    def voted() -> bool:
        body = {
            "allocations": [{"cause": causes[0], "points": 60}, {"cause": causes[1], "points": 40}]
        }
        r = platform.api("PUT", "voting", f"polls/{poll_id}/ballot/", body, token=ann_token)
        return r.status in (200, 201)

    wait_until(voted, timeout=DEADLINE, interval=0.3, message="Ann's ballot to be accepted")

    # 5. Bob unsubscribes from "poll opened" with one click (RFC 8058), without signing in.
    (bob_opened,) = mail_to(platform, bob, "Poll open: Notified round")
    unsubscribe = bob_opened["List-Unsubscribe"].strip().strip("<>")
    clicked = http("POST", unsubscribe, form={"List-Unsubscribe": "One-Click"})
    assert clicked.status == 200 and clicked.body["kind"] == "poll_opened", clicked
    mine = platform.api("GET", "accounts", "me/notifications/", token=bob_token).body
    assert (mine["poll_opened"], mine["results"]) == (False, True)

    # 6. In the last CLOSING_SOON_SECONDS only Bob, who has not voted, is reminded.
    (reminder,) = mail_to(platform, bob, "Last day to vote: Notified round")
    assert "you have not voted" in text_of(reminder)

    # 7. The poll closes and is finalized: both get the results, once.
    wait_until(
        lambda: platform.api("GET", "polls", f"polls/{poll_id}/results/", token=ann_token).body.get(
            "final"
        ),
        timeout=DEADLINE + OPEN_SECONDS,
        interval=0.5,
        message="polls to finalize the poll",
    )
    for address in (ann, bob):
        (results,) = mail_to(platform, address, "Results: Notified round")
        assert "Clean water: 300 ada" in text_of(results), text_of(results)
    assert not [m for m in platform.smtp.inbox.to(ann) if m["Subject"].startswith("Last day")]

    # 8. Each delegator got one message per kind, nothing twice.
    subjects = sorted(m["Subject"] for m in platform.smtp.inbox.messages)
    assert subjects == sorted(
        ["Confirm your email address for poll notifications"] * 2
        + ["Poll open: Notified round"] * 2
        + ["Last day to vote: Notified round"]
        + ["Results: Notified round"] * 2
    ), subjects
    assert urlsplit(unsubscribe).path.startswith("/accounts/api/notifications/unsubscribe/")

    # 9. The operator records the payout transaction and, with no chain source, confirms it by
    # hand: the poll is paid, and both hear it, with the transaction.
    payouts = f"polls/{poll_id}/payouts/"
    for cause in causes:
        address = {"payout_address": shelley_address()}
        patched = platform.api("PATCH", "polls", f"causes/{cause}/", address, token=operator.token)
        assert patched.status == 200, patched
    tx_hash = uuid.uuid4().hex * 2
    recorded = platform.api("POST", "polls", payouts, {"tx_hash": tx_hash}, token=operator.token)
    assert recorded.status == 201, recorded
    confirmed = platform.api(
        "POST",
        "polls",
        f"{payouts}{recorded.body['id']}/confirm/",
        {"note": "seen in the pool's wallet"},
        token=operator.token,
    )
    assert confirmed.status == 200, confirmed
    for address in (ann, bob):
        (paid,) = mail_to(platform, address, "Paid: the causes of Notified round")
        assert f"Transaction {tx_hash}" in text_of(paid), text_of(paid)
        assert "School meals: 200 ada" in text_of(paid)
    paid_count = sum(m["Subject"].startswith("Paid: ") for m in platform.smtp.inbox.messages)
    assert paid_count == 2 and len(platform.smtp.inbox.messages) == len(subjects) + 2


def shelley_address() -> str:
    """A new mainnet base address (CARDANO_NETWORK's default), as a cause's payout address."""
    from pycardano import Address, Network, PaymentSigningKey, StakeSigningKey

    payment = PaymentSigningKey.generate().to_verification_key().hash()
    stake = StakeSigningKey.generate().to_verification_key().hash()
    return str(Address(payment_part=payment, staking_part=stake, network=Network.MAINNET))
