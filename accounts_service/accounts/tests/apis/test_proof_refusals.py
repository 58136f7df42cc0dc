"""Every refusal of a stake address proof (issue 15 §1) over the API, for both flows that take a
proof (linking an address to my account, and signing in with a wallet), on mainnet and on a
testnet: real Ed25519 keys, real CIP-8 signatures made with pycardano, then spoiled one way
each. Each is a 400 under the field at fault, naming the problem, and changes nothing."""

from datetime import timedelta

import cbor2
import pytest
from django.utils import timezone
from pycardano import Network, PaymentSigningKey
from pycardano.cip import cip8

from accounts.models import Account, StakeAddressChallenge
from accounts.tests.cip30_wallet import Wallet

pytestmark = pytest.mark.django_db

NETWORKS = {"mainnet": Network.MAINNET, "preprod": Network.TESTNET}
OTHER_NETWORK = {Network.MAINNET: Network.TESTNET, Network.TESTNET: Network.MAINNET}


@pytest.fixture(params=sorted(NETWORKS))
def network(request, settings) -> Network:
    settings.CARDANO_NETWORK = request.param
    settings.STAKE_PROOF_DOMAIN = ""
    return NETWORKS[request.param]


@pytest.fixture(params=["link", "sign_in"])
def flow(request, as_delegator, api):
    """(ask for a challenge for a wallet, send a proof): for my account, or a wallet's sign-in."""
    if request.param == "link":
        return (
            lambda wallet: as_delegator.post("/accounts/api/me/stake-address/challenge/"),
            lambda proof: as_delegator.post(
                "/accounts/api/me/stake-address/verify/", proof, format="json"
            ),
        )
    return (
        lambda wallet: api.post(
            "/accounts/api/wallet/challenge/",
            {"stake_address": wallet.stake_address},
            format="json",
        ),
        lambda proof: api.post("/accounts/api/wallet/token/", proof, format="json"),
    )


def cut_ed25519_signature(signature_hex: str) -> str:
    """The same COSE_Sign1 with its Ed25519 signature one byte short: valid CBOR."""
    message = cbor2.loads(bytes.fromhex(signature_hex))
    items = list(message.value if isinstance(message, cbor2.CBORTag) else message)
    items[3] = items[3][:63]
    return cbor2.dumps(items).hex()


def flip_last_byte(signature_hex: str) -> str:
    raw = bytearray.fromhex(signature_hex)
    raw[-1] ^= 1
    return raw.hex()


# (what is done to a good proof, the field at fault, what the answer says). Each `spoil` gets
# the wallet, the challenge's payload_hex and the good proof, and returns the fields to change.
REFUSALS = {
    "forged": (
        lambda w, payload, good: {"signature": flip_last_byte(good["signature"])},
        "signature",
        "forged or altered",
    ),
    "ed25519_truncated": (
        lambda w, payload, good: {"signature": cut_ed25519_signature(good["signature"])},
        "signature",
        "63 bytes, not 64",
    ),
    "cbor_truncated": (
        lambda w, payload, good: {"signature": good["signature"][:-6]},
        "signature",
        "not valid CBOR",
    ),
    "key_cbor_truncated": (
        lambda w, payload, good: {"key": good["key"][:-4]},
        "key",
        "not valid CBOR",
    ),
    "odd_hex": (lambda w, payload, good: {"signature": good["signature"][:-1]}, "signature", "hex"),
    "not_hex": (lambda w, payload, good: {"key": "zz" * 20}, "key", "not hex"),
    "other_key": (
        lambda w, payload, good: {"key": Wallet(network=w.network).sign_data(payload)["key"]},
        "key",
        "not the stake key",
    ),
    "payment_address": (
        lambda w, payload, good: cip8.sign(
            bytes.fromhex(payload).decode(),
            PaymentSigningKey.generate(),
            attach_cose_key=True,
            network=w.network,
        ),
        "signature",
        "payment address",
    ),
    "wrong_network": (
        lambda w, payload, good: cip8.sign(
            bytes.fromhex(payload).decode(),
            w.signing_key,
            attach_cose_key=True,
            network=OTHER_NETWORK[w.network],
        ),
        "signature",
        "this platform runs on",
    ),
    "other_payload": (
        lambda w, payload, good: w.sign_data(b"another text".hex()),
        "signature",
        "not this challenge",
    ),
}


@pytest.mark.parametrize("refusal", sorted(REFUSALS))
def test_a_spoiled_proof_is_a_400_naming_the_problem(network, flow, refusal, delegator):
    spoil, field, says = REFUSALS[refusal]
    ask, send = flow
    wallet = Wallet(network=network)
    issued = ask(wallet)
    assert issued.status_code == 201, issued.content
    challenge = issued.json()
    good = {"challenge_id": challenge["challenge_id"], **wallet.sign_data(challenge["payload_hex"])}
    refused = send({**good, **spoil(wallet, challenge["payload_hex"], good)})
    assert refused.status_code == 400, refused.content
    assert says in " ".join(refused.json()[field]), refused.json()
    assert not Account.objects.filter(stake_address=wallet.stake_address).exists()
    # The challenge waits for a good proof: a refusal does not use it up.
    assert send(good).status_code == 200


def test_the_good_proof_holds_on_each_network(network, flow):
    ask, send = flow
    wallet = Wallet(network=network)
    challenge = ask(wallet).json()
    proof = {
        "challenge_id": challenge["challenge_id"],
        **wallet.sign_data(challenge["payload_hex"]),
    }
    assert send(proof).status_code == 200
    account = Account.objects.get(stake_address=wallet.stake_address)
    prefix = "stake1" if network == Network.MAINNET else "stake_test1"
    assert account.stake_address.startswith(prefix) and account.stake_address_verified_at


def test_an_expired_or_reused_challenge_is_refused(network, flow):
    ask, send = flow
    wallet = Wallet(network=network)
    challenge = ask(wallet).json()
    proof = {
        "challenge_id": challenge["challenge_id"],
        **wallet.sign_data(challenge["payload_hex"]),
    }
    StakeAddressChallenge.objects.filter(pk=challenge["challenge_id"]).update(
        expires_at=timezone.now() - timedelta(seconds=1)
    )
    expired = send(proof)
    assert expired.status_code == 400 and "expired" in expired.json()["challenge_id"][0]

    challenge = ask(wallet).json()
    proof = {
        "challenge_id": challenge["challenge_id"],
        **wallet.sign_data(challenge["payload_hex"]),
    }
    assert send(proof).status_code == 200
    reused = send(proof)
    assert reused.status_code == 400 and "used already" in reused.json()["challenge_id"][0]
