"""The notification API over a real SMTP server: opting in needs a confirmed address, the
emailed link confirms it (signed, expiring), and a message's one-click unsubscribe works
without signing in."""

from __future__ import annotations

import re
from urllib.parse import urlsplit

import pytest
from rest_framework.test import APIClient

from accounts.models import NotificationSettings
from accounts.notifications import links
from accounts.services import account_update_profile
from shared_events.kit.smtp_testing import text_of

pytestmark = pytest.mark.django_db(transaction=True)

SETTINGS = "/accounts/api/me/notifications/"


def confirm_link(smtp, address: str) -> str:
    (message,) = smtp.inbox.to(address)
    assert message["From"] == "Charity vote <votes@pool.example>"
    assert message["To"] == address
    url = re.search(r"https://pool\.example(\S+)", text_of(message)).group(1)
    assert url in text_of(message, "html").replace("&amp;", "&")
    return url


def test_opt_in_needs_the_address_confirmed_by_the_emailed_link(
    as_delegator, delegator, smtp, eager_celery
):
    assert as_delegator.get(SETTINGS).json() == {
        "poll_opened": False,
        "closing_soon": False,
        "results": False,
        "paid": False,
        "email": "dee@example.org",
        "email_confirmed": False,
        "confirmed_at": None,
    }
    refused = as_delegator.patch(SETTINGS, {"results": True}, format="json")
    assert refused.status_code == 409 and "Confirm your email address" in refused.json()["detail"]

    sent = as_delegator.post(f"{SETTINGS}confirm-email/")
    assert sent.status_code == 202 and sent.json() == {"sent_to": "dee@example.org"}
    link = confirm_link(smtp, "dee@example.org")
    assert link.startswith("/accounts/api/me/notifications/confirm/?token=")

    confirmed = APIClient().get(link)  # from the mail client: no sign-in
    assert confirmed.status_code == 200 and confirmed.json()["email"] == "dee@example.org"
    changed = as_delegator.patch(SETTINGS, {"results": True, "poll_opened": True}, format="json")
    assert changed.status_code == 200, changed.content
    assert changed.json() | {"confirmed_at": None} == {
        "poll_opened": True,
        "closing_soon": False,
        "results": True,
        "paid": False,
        "email": "dee@example.org",
        "email_confirmed": True,
        "confirmed_at": None,
    }


def test_a_bad_or_expired_or_outdated_link_is_refused(
    as_delegator, delegator, smtp, eager_celery, settings
):
    as_delegator.post(f"{SETTINGS}confirm-email/")
    link = confirm_link(smtp, "dee@example.org")
    token = link.split("token=")[1]
    assert APIClient().get(link[:-3] + "xyz").status_code == 409
    missing = APIClient().get("/accounts/api/me/notifications/confirm/")
    assert missing.status_code == 400 and "token" in missing.json()

    settings.NOTIFY_CONFIRM_MAX_AGE_SECONDS = -1
    expired = APIClient().get(link)
    assert expired.status_code == 409 and "expired" in expired.json()["detail"]
    settings.NOTIFY_CONFIRM_MAX_AGE_SECONDS = 3600

    account_update_profile(account=delegator, email="new@example.org")
    outdated = APIClient().get(f"/accounts/api/me/notifications/confirm/?token={token}")
    assert outdated.status_code == 409 and "changed" in outdated.json()["detail"]


def test_a_changed_address_must_be_confirmed_again(as_delegator, delegator, smtp, eager_celery):
    as_delegator.post(f"{SETTINGS}confirm-email/")
    assert APIClient().get(confirm_link(smtp, "dee@example.org")).status_code == 200
    assert as_delegator.patch(SETTINGS, {"paid": True}, format="json").status_code == 200
    account_update_profile(account=delegator, email="moved@example.org")
    after = as_delegator.get(SETTINGS).json()
    assert (after["paid"], after["email_confirmed"], after["email"]) == (
        True,
        False,
        "moved@example.org",
    )
    assert as_delegator.patch(SETTINGS, {"results": True}, format="json").status_code == 409


def test_bad_input_is_a_clear_4xx(as_delegator):
    unknown = as_delegator.patch(SETTINGS, {"weekly": True}, format="json")
    assert unknown.status_code == 400 and "weekly" in unknown.json()
    not_bool = as_delegator.patch(SETTINGS, {"paid": "sometimes"}, format="json")
    assert not_bool.status_code == 400 and "paid" in not_bool.json()
    read_only = as_delegator.patch(SETTINGS, {"email_confirmed": True}, format="json")
    assert read_only.status_code == 400
    assert APIClient().get(SETTINGS).status_code == 401


def test_one_click_unsubscribe_needs_no_sign_in_and_turns_off_one_kind(delegator):
    NotificationSettings.objects.create(
        account=delegator, confirmed_email=delegator.email, results=True, paid=True
    )
    token = links.unsubscribe_token(account_id=delegator.pk, kind="results")
    path = urlsplit(links.public_url(f"api/notifications/unsubscribe/{token}/")).path
    page = APIClient().get(path)
    assert page.status_code == 200 and b'method="post"' in page.content
    assert NotificationSettings.objects.get(account=delegator).results  # a GET changes nothing

    done = APIClient().post(
        path, "List-Unsubscribe=One-Click", content_type="application/x-www-form-urlencoded"
    )
    assert done.status_code == 200 and done.json()["kind"] == "results"
    stored = NotificationSettings.objects.get(account=delegator)
    assert (stored.results, stored.paid) == (False, True)
    assert APIClient().post(path).status_code == 200  # again: nothing more to change

    forged = APIClient().post(path.replace(token, token[:-2] + "zz"))
    assert forged.status_code == 409 and "not valid" in forged.json()["detail"]
