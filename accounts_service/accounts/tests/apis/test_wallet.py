"""Proving a stake address and signing in with a wallet over the API, with real Ed25519 keys and
real CIP-8 signatures: what works, and a 400 naming the problem for everything else."""

from datetime import timedelta

import pytest
from django.utils import timezone
from pycardano import Network, PaymentSigningKey
from pycardano.cip import cip8
from rest_framework.test import APIClient

from accounts.models import Account, StakeAddressChallenge
from accounts.tests.cip30_wallet import Wallet

from ..conftest import last_event, sign_in

pytestmark = pytest.mark.django_db
CHALLENGE = "/accounts/api/me/stake-address/challenge/"
VERIFY = "/accounts/api/me/stake-address/verify/"
WALLET_CHALLENGE = "/accounts/api/wallet/challenge/"
WALLET_TOKEN = "/accounts/api/wallet/token/"


@pytest.fixture(autouse=True)
def _on_mainnet(settings):
    settings.CARDANO_NETWORK = "mainnet"
    settings.STAKE_PROOF_DOMAIN = ""


def answer(challenge: dict, wallet: Wallet) -> dict:
    """What a client sends back: the challenge's id, and the wallet's signData result."""
    return {"challenge_id": challenge["challenge_id"], **wallet.sign_data(challenge["payload_hex"])}


def link(client, wallet: Wallet, **overrides):
    issued = client.post(CHALLENGE, format="json")
    assert issued.status_code == 201, issued.content
    challenge = issued.json()
    proof = {**answer(challenge, wallet), **overrides}
    return client.post(VERIFY, proof, format="json")


def wallet_sign_in(api, wallet: Wallet, **overrides):
    issued = api.post(WALLET_CHALLENGE, {"stake_address": wallet.stake_address}, format="json")
    assert issued.status_code == 201, issued.content
    challenge = issued.json()
    proof = {**answer(challenge, wallet), **overrides}
    return api.post(WALLET_TOKEN, proof, format="json")


# --- linking a stake address to my account ---------------------------------------------------


def test_a_challenge_names_the_domain_and_the_account_and_expires_in_minutes(
    as_delegator, delegator
):
    body = as_delegator.post(CHALLENGE, format="json").json()
    assert set(body) == {"challenge_id", "payload_hex", "text", "expires_at"}
    assert bytes.fromhex(body["payload_hex"]).decode("utf-8") == body["text"]
    assert "testserver" in body["text"] and delegator.email in body["text"]
    row = StakeAddressChallenge.objects.get(pk=body["challenge_id"])
    assert timedelta(minutes=1) < row.expires_at - timezone.now() <= timedelta(minutes=5)


def test_the_domain_setting_is_named_instead_of_the_host(as_delegator, settings):
    settings.STAKE_PROOF_DOMAIN = "vote.example.org"
    assert "vote.example.org asks you" in as_delegator.post(CHALLENGE).json()["text"]


def test_a_proof_links_the_address_and_publishes_it(as_delegator, delegator):
    wallet = Wallet()
    response = link(as_delegator, wallet)
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["stake_address"] == wallet.stake_address
    assert body["stake_address_verified_at"] is not None
    assert last_event(delegator)["data"]["stake_address"] == wallet.stake_address
    assert as_delegator.get("/accounts/api/me/").json()["stake_address"] == wallet.stake_address


def test_a_testnet_platform_takes_testnet_addresses(as_delegator, settings):
    settings.CARDANO_NETWORK = "preprod"
    wallet = Wallet(network=Network.TESTNET)
    response = link(as_delegator, wallet)
    assert response.status_code == 200, response.content
    assert response.json()["stake_address"].startswith("stake_test1")


def test_proving_an_address_moves_it_from_the_account_that_had_it(as_delegator, delegator, api):
    wallet = Wallet()
    assert link(as_delegator, wallet).status_code == 200
    from accounts.services import account_register

    other = account_register(email="other@example.org", password="correct horse battery staple")
    from rest_framework.test import APIClient

    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {sign_in(client, other.email)['access']}")
    assert link(client, wallet).status_code == 200
    delegator.refresh_from_db()
    other.refresh_from_db()
    assert (delegator.stake_address, delegator.stake_address_verified_at) == (None, None)
    assert other.stake_address == wallet.stake_address
    assert last_event(delegator)["data"]["stake_address"] is None
    assert last_event(other)["data"]["stake_address"] == wallet.stake_address


def test_a_challenge_is_good_for_one_proof(as_delegator):
    wallet = Wallet()
    challenge = as_delegator.post(CHALLENGE).json()
    proof = answer(challenge, wallet)
    assert as_delegator.post(VERIFY, proof, format="json").status_code == 200
    again = as_delegator.post(VERIFY, proof, format="json")
    assert again.status_code == 400
    assert "used already" in again.json()["challenge_id"][0]


def test_an_expired_challenge_is_refused(as_delegator):
    wallet = Wallet()
    challenge = as_delegator.post(CHALLENGE).json()
    StakeAddressChallenge.objects.filter(pk=challenge["challenge_id"]).update(
        expires_at=timezone.now() - timedelta(seconds=1)
    )
    proof = answer(challenge, wallet)
    refused = as_delegator.post(VERIFY, proof, format="json")
    assert refused.status_code == 400 and "expired" in refused.json()["challenge_id"][0]


def test_another_accounts_challenge_is_unknown(as_delegator, operator):
    from rest_framework.test import APIClient

    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {sign_in(client, operator.email)['access']}")
    theirs = client.post(CHALLENGE).json()
    proof = answer(theirs, Wallet())
    refused = as_delegator.post(VERIFY, proof, format="json")
    assert refused.status_code == 400 and "No such challenge" in refused.json()["challenge_id"][0]


def test_a_sign_in_challenge_cannot_link(as_delegator, api):
    wallet = Wallet()
    theirs = api.post(
        WALLET_CHALLENGE, {"stake_address": wallet.stake_address}, format="json"
    ).json()
    proof = answer(theirs, wallet)
    assert as_delegator.post(VERIFY, proof, format="json").status_code == 400


def forged(proof):
    raw = bytearray.fromhex(proof["signature"])
    raw[-1] ^= 1
    return {"signature": raw.hex()}


@pytest.mark.parametrize(
    "tamper, field, says",
    [
        (
            lambda wallet, payload_hex: forged(wallet.sign_data(payload_hex)),
            "signature",
            "forged or altered",
        ),
        (
            lambda wallet, payload_hex: {
                "signature": wallet.sign_data(payload_hex)["signature"][:-6]
            },
            "signature",
            "not valid CBOR",
        ),
        (
            lambda wallet, payload_hex: {"key": Wallet().sign_data(payload_hex)["key"]},
            "key",
            "not the stake key",
        ),
        (
            lambda wallet, payload_hex: cip8.sign(
                bytes.fromhex(payload_hex).decode(),
                PaymentSigningKey.generate(),
                attach_cose_key=True,
            ),
            "signature",
            "payment address",
        ),
        (
            lambda wallet, payload_hex: Wallet(network=Network.TESTNET).sign_data(payload_hex),
            "signature",
            "runs on mainnet",
        ),
        (
            lambda wallet, payload_hex: wallet.sign_data(b"another text".hex()),
            "signature",
            "not this challenge",
        ),
        (lambda wallet, payload_hex: {"signature": "not hex"}, "signature", "not hex"),
        (lambda wallet, payload_hex: {"key": "a0"}, "key", "Ed25519 COSE_Key"),
        (lambda wallet, payload_hex: {"signature": "ab" * 5000}, "signature", "no more than"),
        (lambda wallet, payload_hex: {"challenge_id": "nope"}, "challenge_id", "UUID"),
        (lambda wallet, payload_hex: {"signature": None}, "signature", "null"),
        (lambda wallet, payload_hex: {"extra": 1}, "extra", "Unknown field"),
    ],
)
def test_every_bad_proof_is_a_400_naming_the_problem(as_delegator, delegator, tamper, field, says):
    wallet = Wallet()
    challenge = as_delegator.post(CHALLENGE).json()
    proof = answer(challenge, wallet)
    proof.update(tamper(wallet, challenge["payload_hex"]))
    refused = as_delegator.post(VERIFY, proof, format="json")
    assert refused.status_code == 400, refused.content
    assert says in " ".join(refused.json()[field]), refused.json()
    delegator.refresh_from_db()
    assert delegator.stake_address is None


def test_a_stake_address_cannot_be_set_without_a_proof(as_delegator, api):
    wallet = Wallet()
    refused = as_delegator.patch(
        "/accounts/api/me/", {"stake_address": wallet.stake_address}, format="json"
    )
    assert refused.status_code == 400 and "proof" in refused.json()["stake_address"][0]
    registered = api.post(
        "/accounts/api/register/",
        {
            "email": "new@example.org",
            "password": "correct horse battery staple",
            "stake_address": wallet.stake_address,
        },
        format="json",
    )
    assert registered.status_code == 400 and "proof" in registered.json()["stake_address"][0]


def test_clearing_my_stake_address_unlinks_it(as_delegator, delegator):
    assert link(as_delegator, Wallet()).status_code == 200
    cleared = as_delegator.patch("/accounts/api/me/", {"stake_address": None}, format="json")
    assert cleared.status_code == 200
    assert (cleared.json()["stake_address"], cleared.json()["stake_address_verified_at"]) == (
        None,
        None,
    )
    assert last_event(delegator)["data"]["stake_address"] is None


def test_signing_in_is_needed_to_link(api):
    assert api.post(CHALLENGE).status_code == 401


# --- signing in with a wallet ----------------------------------------------------------------


def test_the_first_wallet_sign_in_makes_the_account_and_the_next_finds_it(api):
    wallet = Wallet()
    first = wallet_sign_in(api, wallet)
    assert first.status_code == 200, first.content
    assert set(first.json()) >= {"access", "refresh", "token_type"}
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {first.json()['access']}")
    me = api.get("/accounts/api/me/").json()
    assert (me["email"], me["stake_address"], me["role"]) == (
        None,
        wallet.stake_address,
        "delegator",
    )
    assert me["stake_address_verified_at"] is not None
    account = Account.objects.get(pk=me["id"])
    assert not account.has_usable_password()
    assert last_event(account)["data"]["stake_address"] == wallet.stake_address

    api.credentials()
    second = wallet_sign_in(api, wallet)
    assert second.status_code == 200
    assert Account.objects.filter(stake_address=wallet.stake_address).count() == 1
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {second.json()['access']}")
    assert api.get("/accounts/api/me/").json()["id"] == me["id"]


def test_a_wallet_account_adds_an_email_later(api):
    tokens = wallet_sign_in(api, Wallet()).json()
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {tokens['access']}")
    changed = api.patch("/accounts/api/me/", {"email": "Later@Example.org"}, format="json")
    assert changed.status_code == 200 and changed.json()["email"] == "later@example.org"


def test_a_wallet_account_sets_its_first_password_without_a_current_one(api):
    tokens = wallet_sign_in(api, Wallet()).json()
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {tokens['access']}")
    api.patch("/accounts/api/me/", {"email": "keys@example.org"}, format="json")
    first = api.patch("/accounts/api/me/", {"password": "a first good secret"}, format="json")
    assert first.status_code == 200, first.content
    sign_in(APIClient(), "keys@example.org", "a first good secret")
    # Once it has one, changing it needs it, as for any account.
    again = api.patch("/accounts/api/me/", {"password": "another good secret"}, format="json")
    assert again.status_code == 400 and "current_password" in again.json()


def test_a_wallet_challenge_takes_the_hex_address_a_cip30_wallet_gives(api):
    from accounts.stake_address import bech32_decode

    wallet = Wallet()
    raw_hex = bech32_decode(wallet.stake_address)[1].hex()
    issued = api.post(WALLET_CHALLENGE, {"stake_address": raw_hex}, format="json")
    assert issued.status_code == 201, issued.content
    assert wallet.stake_address in issued.json()["text"]
    signed_in = api.post(WALLET_TOKEN, answer(issued.json(), wallet), format="json")
    assert signed_in.status_code == 200, signed_in.content


def test_a_wallet_sign_in_reaches_the_account_that_proved_the_address(as_delegator, delegator, api):
    wallet = Wallet()
    assert link(as_delegator, wallet).status_code == 200
    tokens = wallet_sign_in(api, wallet).json()
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {tokens['access']}")
    assert api.get("/accounts/api/me/").json()["id"] == str(delegator.pk)


def test_an_unproven_claim_on_the_address_gives_way_to_the_key_holder(api, delegator):
    wallet = Wallet()
    # An address typed in before proofs existed: it never signs anyone into that account.
    Account.objects.filter(pk=delegator.pk).update(stake_address=wallet.stake_address)
    tokens = wallet_sign_in(api, wallet).json()
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {tokens['access']}")
    me = api.get("/accounts/api/me/").json()
    assert me["id"] != str(delegator.pk) and me["stake_address"] == wallet.stake_address
    delegator.refresh_from_db()
    assert delegator.stake_address is None


def test_a_deactivated_account_cannot_sign_in_with_its_wallet(as_delegator, delegator, api):
    from accounts.services import account_set_active

    wallet = Wallet()
    assert link(as_delegator, wallet).status_code == 200
    account_set_active(account=delegator, is_active=False)
    refused = wallet_sign_in(api, wallet)
    assert refused.status_code == 403 and "deactivated" in refused.json()["detail"]


def test_a_sign_in_signed_for_another_address_is_refused(api):
    wallet, other = Wallet(), Wallet()
    challenge = api.post(
        WALLET_CHALLENGE, {"stake_address": other.stake_address}, format="json"
    ).json()
    proof = answer(challenge, wallet)
    refused = api.post(WALLET_TOKEN, proof, format="json")
    assert refused.status_code == 400 and other.stake_address in refused.json()["signature"][0]
    assert not Account.objects.filter(stake_address=wallet.stake_address).exists()


def test_a_wallet_sign_in_challenge_is_good_for_one_sign_in(api):
    wallet = Wallet()
    challenge = api.post(
        WALLET_CHALLENGE, {"stake_address": wallet.stake_address}, format="json"
    ).json()
    proof = answer(challenge, wallet)
    assert api.post(WALLET_TOKEN, proof, format="json").status_code == 200
    again = api.post(WALLET_TOKEN, proof, format="json")
    assert again.status_code == 400 and "used already" in again.json()["challenge_id"][0]


@pytest.mark.parametrize(
    "body, says",
    [
        ({"stake_address": "stake1nope"}, "bech32"),
        (
            {
                "stake_address": "addr1qx2fxv2umyhttkxyxp8x0dlpdt3k6cwng5pxj3"
                "jhsydzer3n0d3vllmyqwsx5w"
                "ktcd8cc3"
                "sq835lu7drv2xwl2wywfgse35a3x"
            },
            "stake1",
        ),
        (
            {"stake_address": "stake_test1uqehkck0lajq8gr28t9uxnuvgcqrc6070x3k9r8048z8y5gssrtvn"},
            "runs on mainnet",
        ),
        # A script's stake address (CIP-19 vector): no key can sign for it.
        (
            {"stake_address": "stake178phkx6acpnf78fuvxn0mkew3l0fd058hzquvz7w36x4gtcccycj5"},
            "script's stake address",
        ),
        ({"stake_address": "x" * 121}, "no more than"),
        ({}, "required"),
        ({"stake_address": 12}, ""),
    ],
)
def test_a_bad_stake_address_for_a_wallet_challenge_is_a_400(api, body, says):
    refused = api.post(WALLET_CHALLENGE, body, format="json")
    assert refused.status_code == 400, refused.content
    assert says in " ".join(refused.json()["stake_address"])


def test_wallet_challenges_are_throttled_per_stake_address(api, settings):
    from accounts.throttles import FailOpenRateThrottle

    rates = {**settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"], "login_stake_address": "2/min"}
    original = FailOpenRateThrottle.THROTTLE_RATES
    FailOpenRateThrottle.THROTTLE_RATES = rates
    try:
        wallet = Wallet()
        codes = [
            api.post(
                WALLET_CHALLENGE, {"stake_address": wallet.stake_address}, format="json"
            ).status_code
            for _ in range(3)
        ]
        other = api.post(
            WALLET_CHALLENGE, {"stake_address": Wallet().stake_address}, format="json"
        ).status_code
    finally:
        FailOpenRateThrottle.THROTTLE_RATES = original
    assert codes == [201, 201, 429] and other == 201
