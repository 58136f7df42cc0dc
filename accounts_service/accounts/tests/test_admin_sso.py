"""The accounts side of admin single sign-on: tickets only for signed-in operators."""

from urllib.parse import parse_qs, urlparse

import pytest

from shared_events.kit.identity.tokens import ADMIN_SSO, verify_token

from .conftest import PASSWORD

pytestmark = pytest.mark.django_db


def test_a_signed_in_operator_gets_a_one_minute_ticket_for_the_service(client, operator, settings):
    settings.SERVICE_PUBLIC_URLS = {
        **settings.SERVICE_PUBLIC_URLS,
        "polls": "http://127.0.0.1:8002",
    }
    client.login(email=operator.email, password=PASSWORD)
    response = client.get("/accounts/sso/admin/?service=polls&next=/polls/admin/polls/poll/")
    assert response.status_code == 302
    target = urlparse(response["Location"])
    assert (target.scheme, target.netloc, target.path) == (
        "http",
        "127.0.0.1:8002",
        "/polls/admin/sso/",
    )
    query = parse_qs(target.query)
    assert query["next"] == ["/polls/admin/polls/poll/"]
    claims = verify_token(query["token"][0], expected_type=ADMIN_SSO)
    assert (claims.subject, claims.role, claims.extra["svc"]) == (operator.pk, "operator", "polls")
    assert claims.expires_at - claims.issued_at == 60


def test_without_a_session_the_operator_signs_in_to_accounts_first(client):
    response = client.get("/accounts/sso/admin/?service=voting&next=/voting/admin/")
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/admin/login/?next=")


def test_a_delegator_gets_no_ticket(client, delegator):
    client.login(email=delegator.email, password=PASSWORD)
    response = client.get("/accounts/sso/admin/?service=polls")
    assert response["Location"].startswith("/accounts/admin/login/")


def test_unknown_services_and_foreign_next_urls_are_refused(client, operator):
    client.login(email=operator.email, password=PASSWORD)
    assert client.get("/accounts/sso/admin/?service=evil").status_code == 400
    for evil in ("https://evil.example/", "//evil.example/polls/", "/accounts/admin/"):
        response = client.get("/accounts/sso/admin/", {"service": "polls", "next": evil})
        assert parse_qs(urlparse(response["Location"]).query)["next"] == ["/polls/admin/"]
