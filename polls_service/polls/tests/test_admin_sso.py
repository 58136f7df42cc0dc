"""polls_service's admin trusts one-use tickets from accounts_service; it has no passwords."""

import uuid

import pytest

from shared_events.kit.testing import make_token

pytestmark = pytest.mark.django_db


def ticket(role="operator", svc="polls", **claims):
    return make_token(
        uuid.uuid4(),
        role,
        token_type="admin_sso",
        ttl=60,
        svc=svc,
        email="op@example.org",
        **claims,
    )


def test_the_admin_login_page_sends_the_browser_to_accounts(client):
    response = client.get("/polls/admin/")
    assert response.status_code == 302 and response["Location"].startswith("/polls/admin/login/")
    login = client.get(response["Location"])
    assert login.status_code == 302
    assert login["Location"] == "/accounts/sso/admin/?service=polls&next=%2Fpolls%2Fadmin%2F"


def test_a_valid_ticket_opens_an_admin_session_once(client, settings):
    token = ticket()
    response = client.get("/polls/admin/sso/", {"token": token, "next": "/polls/admin/"})
    assert response.status_code == 302 and response["Location"] == "/polls/admin/"
    assert client.get("/polls/admin/").status_code == 200
    assert client.session.get_expiry_age() == settings.ADMIN_SSO_SESSION_SECONDS
    from django.contrib.auth.models import User

    user = User.objects.get()
    assert user.email == "op@example.org" and not user.has_usable_password()
    client.logout()
    replay = client.get("/polls/admin/sso/", {"token": token})
    assert replay.status_code == 403 and b"already used" in replay.content


@pytest.mark.parametrize(
    "token, reason",
    [
        (lambda: ticket(role="delegator"), b"Only operators"),
        (lambda: ticket(svc="voting"), b"another service"),
        (lambda: make_token(uuid.uuid4(), "operator"), b"expected an admin_sso"),
        (
            lambda: make_token(
                uuid.uuid4(), "operator", token_type="admin_sso", ttl=-120, svc="polls"
            ),
            b"expired",
        ),
        (lambda: "forged", b"malformed"),
    ],
)
def test_bad_tickets_are_refused(client, token, reason):
    response = client.get("/polls/admin/sso/", {"token": token()})
    assert response.status_code == 403 and reason in response.content
    assert client.get("/polls/admin/").status_code == 302


def test_next_cannot_leave_the_service(client):
    response = client.get("/polls/admin/sso/", {"token": ticket(), "next": "https://evil.example/"})
    assert response["Location"] == "/polls/admin/"


def test_an_admin_session_goes_back_to_accounts_after_the_recheck_interval(client, settings):
    import time

    client.get("/polls/admin/sso/", {"token": ticket()})
    assert client.get("/polls/admin/").status_code == 200
    session = client.session
    session["admin_sso_checked_at"] = time.time() - settings.ADMIN_SSO_RECHECK_SECONDS - 1
    session.save()
    # A deactivated operator would be refused at accounts; an active one comes straight back.
    response = client.get("/polls/admin/polls/cause/")
    assert response.status_code == 302
    assert response["Location"] == "/polls/admin/login/?next=%2Fpolls%2Fadmin%2Fpolls%2Fcause%2F"
    assert client.get("/polls/admin/").status_code == 302  # signed out meanwhile


def test_a_ticket_that_cannot_be_marked_used_gets_503_while_the_cache_is_away(client, settings):
    from shared_events.core.testing import free_port

    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": f"redis://127.0.0.1:{free_port()}/1",
        }
    }
    response = client.get("/polls/admin/sso/", {"token": ticket()})
    assert response.status_code == 503 and response["Retry-After"]
    assert client.get("/polls/admin/").status_code == 302
