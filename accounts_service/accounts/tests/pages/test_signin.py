"""The sign-in page: email and password, or a wallet's signature (real keys, real CIP-8), then
the cookie every service accepts and back to a `next` of this platform only."""

import json
from urllib.parse import quote

import pytest
from django.conf import settings
from django.test import Client

from accounts.models import Account
from accounts.tests.cip30_wallet import Wallet
from shared_events.kit.identity.tokens import verify_token

from ..conftest import PASSWORD

pytestmark = pytest.mark.django_db
PAGE = "/accounts/signin/"
WALLET = "/accounts/signin/wallet/"


@pytest.fixture(autouse=True)
def _one_host(settings):
    settings.SERVICE_PUBLIC_URLS = {"accounts": "", "polls": "", "voting": ""}
    settings.CARDANO_NETWORK = "mainnet"
    settings.STAKE_PROOF_DOMAIN = ""


def signed_in_as(client: Client) -> str | None:
    cookie = client.cookies.get(settings.BROWSER_TOKEN_COOKIE)
    if cookie is None or not cookie.value:
        return None
    return str(verify_token(cookie.value).subject)


def test_the_page_offers_both_ways_in_with_labelled_fields(client):
    page = client.get(f"{PAGE}?next=/voting/polls/")
    html = page.content.decode()
    assert page.status_code == 200
    assert '<label for="id_username">Email</label>' in html
    assert '<label for="id_password">Password</label>' in html
    assert 'name="next" value="/voting/polls/"' in html
    assert 'data-challenge-url="/accounts/api/wallet/challenge/"' in html
    assert 'data-signin-url="/accounts/signin/wallet/"' in html
    assert '<main id="main"' in html and 'href="#main"' in html
    assert "/accounts/static/kit/page.css" in html


def test_an_email_sign_in_sets_the_cookie_and_goes_to_next(client, delegator):
    answer = client.post(
        PAGE, {"username": "DEE@example.org", "password": PASSWORD, "next": "/voting/history/"}
    )
    assert answer.status_code == 302 and answer["Location"] == "/voting/history/"
    assert signed_in_as(client) == str(delegator.id)
    cookie = client.cookies[settings.BROWSER_TOKEN_COOKIE]
    assert cookie["httponly"] and cookie["path"] == "/" and cookie["samesite"] == "Lax"
    delegator.refresh_from_db()
    assert delegator.last_login is not None


def test_next_defaults_to_the_polls_and_never_leaves_the_platform(client, delegator, settings):
    settings.SERVICE_PUBLIC_URLS = {
        "accounts": "http://127.0.0.1:8001",
        "polls": "http://127.0.0.1:8002",
        "voting": "http://127.0.0.1:8003",
    }
    default = client.post(PAGE, {"username": delegator.email, "password": PASSWORD})
    assert default["Location"] == "http://127.0.0.1:8003/voting/"
    elsewhere = client.post(
        PAGE, {"username": delegator.email, "password": PASSWORD, "next": "https://evil.example/"}
    )
    assert elsewhere["Location"] == "http://127.0.0.1:8003/voting/"
    other_port = client.post(
        PAGE,
        {"username": delegator.email, "password": PASSWORD, "next": "http://127.0.0.1:8003/x/"},
    )
    assert other_port["Location"] == "http://127.0.0.1:8003/x/"


def test_a_wrong_password_is_shown_and_the_email_kept(client, delegator):
    answer = client.post(PAGE, {"username": delegator.email, "password": "not it"})
    html = answer.content.decode()
    assert answer.status_code == 400
    assert "Wrong email or password." in html
    assert f'value="{delegator.email}"' in html
    assert signed_in_as(client) is None


def test_the_page_s_script_gets_json_answers(client, delegator):
    json_accept = {"HTTP_ACCEPT": "application/json"}
    wrong = client.post(PAGE, {"username": delegator.email, "password": "x"}, **json_accept)
    assert wrong.status_code == 400
    assert wrong.json() == {"non_field_errors": ["Wrong email or password."]}
    missing = client.post(PAGE, {"username": delegator.email}, **json_accept)
    assert missing.json() == {"password": ["This field is required."]}
    right = client.post(
        PAGE,
        {"username": delegator.email, "password": PASSWORD, "next": "/accounts/me/"},
        **json_accept,
    )
    assert right.status_code == 200 and right.json() == {"next": "/accounts/me/"}
    assert signed_in_as(client) == str(delegator.id)


def test_failed_sign_ins_are_counted_per_email(client, delegator, settings):
    limit = 5  # THROTTLE_LOGIN_EMAIL's default, 5/min
    assert settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"]["login_email"] == f"{limit}/min"
    for _ in range(limit):
        assert client.post(PAGE, {"username": delegator.email, "password": "x"}).status_code == 400
    refused = client.post(PAGE, {"username": delegator.email, "password": PASSWORD})
    assert refused.status_code == 429 and "Too many failed sign-ins" in refused.content.decode()
    assert signed_in_as(client) is None


def test_an_expired_session_is_said_so(client, delegator, settings):
    settings.JWT_BROWSER_TTL_SECONDS = -60  # issued already expired (past the 10 s leeway)
    from accounts.services import browser_sign_in

    token, _ = browser_sign_in(account=delegator)
    client.cookies[settings.BROWSER_TOKEN_COOKIE] = token
    page = client.get(PAGE)
    assert 'id="session-expired"' in page.content.decode()
    fresh = Client().get(PAGE)
    assert 'id="session-expired"' not in fresh.content.decode()


def test_the_header_offers_sign_out_once_signed_in(client, delegator):
    client.post(PAGE, {"username": delegator.email, "password": PASSWORD})
    html = client.get(PAGE).content.decode()
    assert 'action="/accounts/api/auth/logout/"' in html and "Sign out" in html
    signed_out = client.post("/accounts/api/auth/logout/", {"next": "/accounts/signin/"})
    assert signed_out["Location"] == "/accounts/signin/"
    assert signed_in_as(client) is None


# --- the wallet path ---------------------------------------------------------------------------


def wallet_answer(client: Client, wallet: Wallet, **overrides) -> dict:
    issued = client.post(
        "/accounts/api/wallet/challenge/",
        {"stake_address": wallet.stake_address},
        content_type="application/json",
    )
    assert issued.status_code == 201, issued.content
    challenge = issued.json()
    return {
        "challenge_id": challenge["challenge_id"],
        **wallet.sign_data(challenge["payload_hex"]),
        "stake_address": wallet.stake_address,
        **overrides,
    }


def post_json(client: Client, body) -> object:
    return client.post(WALLET, json.dumps(body), content_type="application/json")


def test_a_first_wallet_sign_in_makes_the_account_and_sets_the_cookie(client):
    wallet = Wallet()
    answer = post_json(client, wallet_answer(client, wallet, next="/voting/results/"))
    assert answer.status_code == 200, answer.content
    assert answer.json() == {"next": "/voting/results/"}
    account = Account.objects.get(stake_address=wallet.stake_address)
    assert account.email is None and not account.has_usable_password()
    assert signed_in_as(client) == str(account.id)
    again = Client()
    assert post_json(again, wallet_answer(again, wallet)).json() == {"next": "/voting/"}
    assert signed_in_as(again) == str(account.id)
    assert Account.objects.filter(stake_address=wallet.stake_address).count() == 1


def test_a_bad_signature_is_refused_by_field(client):
    wallet, stranger = Wallet(), Wallet()
    body = wallet_answer(client, wallet)
    body["key"] = stranger.sign_data(b"x".hex())["key"]
    answer = post_json(client, body)
    assert answer.status_code == 400 and set(answer.json()) & {"key", "signature"}
    assert signed_in_as(client) is None


def test_failed_wallet_sign_ins_are_counted_per_stake_address(client, settings):
    wallet = Wallet()
    limit = 5  # THROTTLE_LOGIN_STAKE_ADDRESS's default, 5/min
    assert settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"]["login_stake_address"] == "5/min"
    good = wallet_answer(Client(), wallet)
    # A refused proof leaves its challenge for another try: one challenge, many tries.
    forged = wallet_answer(client, wallet, signature="84" + "00" * 10)
    for _ in range(limit):
        assert post_json(client, forged).status_code == 400
    late = post_json(client, good)  # even a good proof, for now
    assert late.status_code == 429 and "Too many failed" in late.json()["non_field_errors"][0]
    assert signed_in_as(client) is None
    other = post_json(client, wallet_answer(Client(), Wallet()))  # another address: its own count
    assert other.status_code == 200


@pytest.mark.parametrize(
    "raw, says",
    [
        (b"not json", "JSON object"),
        (b"[1, 2]", "JSON object"),
        (b"[" * 15000, "JSON object"),
        (b"\xff\xfe", "JSON object"),
        (json.dumps({"challenge_id": "nope", "signature": "a", "key": "b"}).encode(), "valid UUID"),
        (json.dumps({"signature": "a", "key": "b"}).encode(), "required"),
    ],
)
def test_malformed_wallet_answers_are_a_400_naming_the_problem(client, raw, says):
    answer = client.post(WALLET, raw, content_type="application/json")
    assert answer.status_code == 400 and says in answer.content.decode()


def test_the_wallet_endpoint_needs_the_page_s_csrf_token():
    client = Client(enforce_csrf_checks=True)
    refused = client.post(WALLET, "{}", content_type="application/json")
    assert refused.status_code == 403
    page = client.get(PAGE)
    token = page.context["csrf_token"]
    allowed = client.post(
        WALLET, "{}", content_type="application/json", HTTP_X_CSRFTOKEN=str(token)
    )
    assert allowed.status_code == 400  # past the CSRF check, to the form's own refusal


def test_a_foreign_next_is_not_followed_by_a_wallet_sign_in(client):
    body = wallet_answer(client, Wallet(), next="https://evil.example/" + quote("x"))
    assert post_json(client, body).json() == {"next": "/voting/"}
