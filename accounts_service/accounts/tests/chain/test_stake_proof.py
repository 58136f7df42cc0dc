"""Proofs of stake addresses with real Ed25519 keys and real CIP-8 signatures, and every way a
proof is refused."""

import random
from datetime import UTC, datetime, timedelta, timezone

import cbor2
import pytest
from pycardano import (
    Address,
    Network,
    PaymentSigningKey,
    ScriptHash,
    StakeSigningKey,
)

from accounts.chain.stake_proof import (
    MAX_SIGNATURE_HEX,
    AddressMismatch,
    ForgedSignature,
    KeyMismatch,
    MalformedProof,
    NotAStakeAddress,
    PayloadMismatch,
    StakeProofError,
    WrongNetwork,
    build_link_challenge,
    build_sign_in_challenge,
    check_signing_address,
    verify_stake_proof,
)
from accounts.tests.cip30_wallet import Wallet

EXPIRES = datetime(2030, 1, 2, 3, 4, 5, tzinfo=UTC)


def challenge():
    return build_link_challenge(
        domain="vote.example.org", account="dee@example.org", expires_at=EXPIRES
    )


def verify(proof, payload, network="mainnet", **kwargs):
    return verify_stake_proof(
        signature=proof["signature"], key=proof["key"], payload=payload, network=network, **kwargs
    )


def cose_key(public_key: bytes, labels=None) -> str:
    return cbor2.dumps({1: 1, 3: -8, -1: 6, -2: public_key, **(labels or {})}).hex()


def cose_sign1(
    payload, *, signing_key, address: bytes, protected=None, unprotected=None, signature=None
) -> str:
    """A COSE_Sign1 built field by field, to make the messages no well-behaved wallet makes."""
    protected = {1: -8, "address": address} if protected is None else protected
    protected_raw = cbor2.dumps(protected)
    to_be_signed = cbor2.dumps(["Signature1", protected_raw, b"", payload])
    if signature is None:
        signature = signing_key.sign(to_be_signed)
    unprotected = {"hashed": False} if unprotected is None else unprotected
    return cbor2.dumps([protected_raw, unprotected, payload, signature]).hex()


def public(signing_key) -> bytes:
    return signing_key.to_verification_key().payload


def reward_address(signing_key, network=Network.MAINNET) -> bytes:
    key_hash = signing_key.to_verification_key().hash()
    return Address(staking_part=key_hash, network=network).to_primitive()


# --- the challenge ---------------------------------------------------------------------------


def test_a_link_challenge_names_the_domain_the_account_a_nonce_and_the_expiry():
    issued = challenge()
    assert "vote.example.org" in issued.text
    assert "Account: dee@example.org" in issued.text
    assert f"Nonce: {issued.nonce}" in issued.text and len(issued.nonce) == 32
    assert "Expires: 2030-01-02T03:04:05Z" in issued.text
    assert issued.payload_hex == issued.text.encode("utf-8").hex()
    assert bytes.fromhex(issued.payload_hex).decode("utf-8") == issued.text


def test_a_sign_in_challenge_names_the_stake_address_and_the_expiry_in_utc():
    address = Wallet().stake_address
    issued = build_sign_in_challenge(
        domain="vote.example.org",
        stake_address=address,
        expires_at=datetime(2030, 1, 2, 5, 4, 5, tzinfo=timezone(timedelta(hours=2))),
    )
    assert f"Stake address: {address}" in issued.text
    assert "Expires: 2030-01-02T03:04:05Z" in issued.text


def test_every_challenge_has_its_own_nonce():
    assert len({challenge().nonce for _ in range(20)}) == 20


@pytest.mark.parametrize("account", ["dee@example.org\nAccount: mallory", "", "tab\there"])
def test_a_value_that_could_forge_a_line_of_the_text_is_refused(account):
    with pytest.raises(ValueError):
        build_link_challenge(domain="vote.example.org", account=account, expires_at=EXPIRES)


def test_a_naive_expiry_is_refused():
    with pytest.raises(ValueError, match="timezone"):
        build_link_challenge(domain="d", account="a", expires_at=datetime(2030, 1, 1))


# --- proofs that hold ------------------------------------------------------------------------


@pytest.mark.parametrize(
    "network, cardano_network, prefix",
    [
        ("mainnet", Network.MAINNET, "stake1"),
        ("preprod", Network.TESTNET, "stake_test1"),
        ("preview", Network.TESTNET, "stake_test1"),
    ],
)
def test_a_wallet_proves_its_stake_address(network, cardano_network, prefix):
    wallet = Wallet(network=cardano_network)
    issued = challenge()
    proof = wallet.sign_data(issued.payload_hex)
    proven = verify(proof, issued.payload, network=network)
    assert proven == wallet.stake_address and proven.startswith(prefix)


def test_a_sign_in_proof_holds_for_the_address_the_challenge_names():
    wallet = Wallet()
    issued = build_sign_in_challenge(
        domain="vote.example.org", stake_address=wallet.stake_address, expires_at=EXPIRES
    )
    proof = wallet.sign_data(issued.payload_hex)
    assert verify(proof, issued.payload, stake_address=wallet.stake_address) == wallet.stake_address


def test_a_browser_wallets_signdata_result_verifies():
    # signData output of a browser wallet on a testnet, published with the Cardano Foundation's
    # cip30-data-signature-parser: a message that pycardano's own sign() did not make.
    proof = {
        "signature": (
            "84582aa201276761646472657373581de0ab2a3abab6339252c9fdb9a51ae58099654e2391ce0761"
            "6f0e1b734ba166686173686564f4584b393964663265613931346364636664353130363933363531"
            "353861303037373830393637333137643538653063376539633666393663396337313663613666"
            "367c3170373737667935637658404e9b80972aa07ca8dbe91a17641e3962c68812345c598a0e572a"
            "500f4788e304e51dff0ccd67d9f38622ff34e202264b67078d71390669840ec6515132f07707"
        ),
        "key": (
            "a4010103272006215820752c7e93380225fb5dd8563ffc95dd84fe0ff689dc51f14c51315bb2fff053c1"
        ),
    }
    payload = b"99df2ea914cdcfd51069365158a007780967317d58e0c7e9c6f96c9c716ca6f6|1p777fy5cv"
    assert (
        verify(proof, payload, network="preview")
        == "stake_test1uz4j5w46kceey5kflku62xh9szvk2n3rj88qwct0pcdhxjc4vk9ws"
    )
    with pytest.raises(PayloadMismatch):
        verify(proof, payload + b" ", network="preview")


def test_a_tagged_cose_sign1_and_upper_case_hex_are_accepted():
    wallet = Wallet()
    issued = challenge()
    proof = wallet.sign_data(issued.payload_hex)
    tagged = {"signature": "D2" + proof["signature"].upper(), "key": proof["key"].upper()}
    assert verify(tagged, issued.payload) == wallet.stake_address


def test_the_field_by_field_builder_makes_a_proof_that_holds():
    # The refusals below change one thing in what this builder makes.
    key = StakeSigningKey.generate()
    issued = challenge()
    proof = {
        "signature": cose_sign1(issued.payload, signing_key=key, address=reward_address(key)),
        "key": cose_key(public(key)),
    }
    assert verify(proof, issued.payload).startswith("stake1")


# --- refusals --------------------------------------------------------------------------------


def test_a_forged_signature_is_refused():
    issued = challenge()
    proof = Wallet().sign_data(issued.payload_hex)
    raw = bytearray.fromhex(proof["signature"])
    raw[-1] ^= 0x01  # the last byte of the Ed25519 signature
    with pytest.raises(ForgedSignature, match="forged or altered") as refused:
        verify({**proof, "signature": raw.hex()}, issued.payload)
    assert refused.value.field == "signature" and refused.value.code == "bad_signature"


def test_a_payload_changed_after_signing_is_refused():
    key = StakeSigningKey.generate()
    signed, sent = challenge(), challenge()
    signature = cbor2.loads(
        bytes.fromhex(cose_sign1(signed.payload, signing_key=key, address=reward_address(key)))
    )[3]
    proof = {
        "signature": cose_sign1(
            sent.payload, signing_key=key, address=reward_address(key), signature=signature
        ),
        "key": cose_key(public(key)),
    }
    with pytest.raises(ForgedSignature):
        verify(proof, sent.payload)


def test_the_victims_public_key_beside_an_attackers_signature_is_refused():
    victim, attacker = StakeSigningKey.generate(), StakeSigningKey.generate()
    issued = challenge()
    proof = {
        "signature": cose_sign1(
            issued.payload, signing_key=attacker, address=reward_address(victim)
        ),
        "key": cose_key(public(victim)),
    }
    with pytest.raises(ForgedSignature):
        verify(proof, issued.payload)


def test_a_truncated_ed25519_signature_is_refused():
    key = StakeSigningKey.generate()
    issued = challenge()
    good = cbor2.loads(
        bytes.fromhex(cose_sign1(issued.payload, signing_key=key, address=reward_address(key)))
    )[3]
    proof = {
        "signature": cose_sign1(
            issued.payload, signing_key=key, address=reward_address(key), signature=good[:63]
        ),
        "key": cose_key(public(key)),
    }
    with pytest.raises(ForgedSignature, match="63 bytes, not 64"):
        verify(proof, issued.payload)


@pytest.mark.parametrize("keep", [2, 10, 60, -2, -1])
def test_a_truncated_hex_signature_is_refused_as_malformed(keep):
    issued = challenge()
    proof = Wallet().sign_data(issued.payload_hex)
    cut = proof["signature"][:keep] if keep > 0 else proof["signature"][: keep * 2]
    with pytest.raises(MalformedProof):
        verify({**proof, "signature": cut}, issued.payload)


def test_another_key_than_the_signers_is_refused():
    issued = challenge()
    proof = Wallet().sign_data(issued.payload_hex)
    other = Wallet().sign_data(issued.payload_hex)
    with pytest.raises(KeyMismatch, match="not the stake key of stake1") as refused:
        verify({**proof, "key": other["key"]}, issued.payload)
    assert refused.value.field == "key"


def test_signing_for_someone_elses_address_with_ones_own_key_is_refused():
    victim, attacker = StakeSigningKey.generate(), StakeSigningKey.generate()
    issued = challenge()
    proof = {
        "signature": cose_sign1(
            issued.payload, signing_key=attacker, address=reward_address(victim)
        ),
        "key": cose_key(public(attacker)),
    }
    with pytest.raises(KeyMismatch):
        verify(proof, issued.payload)


def test_a_payment_address_is_refused():
    # What pycardano (and a wallet asked for a payment address) signs with a payment key.
    from pycardano.cip import cip8

    issued = challenge()
    proof = cip8.sign(issued.text, PaymentSigningKey.generate(), attach_cose_key=True)
    with pytest.raises(NotAStakeAddress, match="payment address"):
        verify(proof, issued.payload)


def test_a_base_address_is_refused_even_with_its_stake_key():
    payment, stake = PaymentSigningKey.generate(), StakeSigningKey.generate()
    base = Address(
        payment_part=payment.to_verification_key().hash(),
        staking_part=stake.to_verification_key().hash(),
        network=Network.MAINNET,
    )
    issued = challenge()
    proof = {
        "signature": cose_sign1(issued.payload, signing_key=stake, address=base.to_primitive()),
        "key": cose_key(public(stake)),
    }
    with pytest.raises(NotAStakeAddress, match="payment address"):
        verify(proof, issued.payload)


def test_a_script_stake_address_is_refused():
    key = StakeSigningKey.generate()
    script = Address(staking_part=ScriptHash(bytes(28)), network=Network.MAINNET)
    issued = challenge()
    proof = {
        "signature": cose_sign1(issued.payload, signing_key=key, address=script.to_primitive()),
        "key": cose_key(public(key)),
    }
    with pytest.raises(NotAStakeAddress, match="script"):
        verify(proof, issued.payload)


@pytest.mark.parametrize(
    "signed_on, platform_on, says",
    [
        (Network.TESTNET, "mainnet", "testnet stake address; this platform runs on mainnet"),
        (Network.MAINNET, "preprod", "mainnet stake address; this platform runs on preprod"),
        (Network.MAINNET, "preview", "mainnet stake address; this platform runs on preview"),
    ],
)
def test_the_wrong_network_is_refused(signed_on, platform_on, says):
    issued = challenge()
    proof = Wallet(network=signed_on).sign_data(issued.payload_hex)
    with pytest.raises(WrongNetwork, match=says):
        verify(proof, issued.payload, network=platform_on)


def test_another_challenge_than_the_issued_one_is_refused():
    wallet = Wallet()
    proof = wallet.sign_data(challenge().payload_hex)
    with pytest.raises(PayloadMismatch, match="exactly its payload_hex"):
        verify(proof, challenge().payload)


def test_a_hashed_payload_is_refused_with_a_hint():
    import hashlib

    key = StakeSigningKey.generate()
    issued = challenge()
    digest = hashlib.blake2b(issued.payload, digest_size=28).digest()
    proof = {
        "signature": cose_sign1(
            digest, signing_key=key, address=reward_address(key), unprotected={"hashed": True}
        ),
        "key": cose_key(public(key)),
    }
    with pytest.raises(PayloadMismatch, match="hashed: true"):
        verify(proof, issued.payload)


def test_a_proof_for_another_address_than_the_challenge_names_is_refused():
    wallet, other = Wallet(), Wallet()
    issued = build_sign_in_challenge(
        domain="vote.example.org", stake_address=other.stake_address, expires_at=EXPIRES
    )
    proof = wallet.sign_data(issued.payload_hex)
    with pytest.raises(AddressMismatch, match=other.stake_address):
        verify(proof, issued.payload, stake_address=other.stake_address)


@pytest.mark.parametrize(
    "signature, says",
    [
        (None, "must be a hex string"),
        (42, "must be a hex string"),
        (["84"], "must be a hex string"),
        ("", "is empty"),
        ("   ", "is empty"),
        ("xyz0", "not hex"),
        ("845", "not hex"),
        ("84" * (MAX_SIGNATURE_HEX // 2 + 1), "longer than"),
        ("1c", "not valid CBOR"),
        ("5a00", "not valid CBOR"),
        ("ff", "not a COSE_Sign1"),
        ("a0", "not a COSE_Sign1"),
        ("83404040", "not a COSE_Sign1"),
        ("8401020304", "items are not COSE_Sign1's"),
        ("8443a10127a0f65840" + "00" * 64, "no payload"),
        ("8440a0405840" + "00" * 64, "protected header is not valid CBOR"),
        ("844101a0405840" + "00" * 64, "protected header is not a CBOR map"),
        ("8443a10127a0405840" + "00" * 64, "no 'address'"),
        ("8443a10126a0405840" + "00" * 64, "not EdDSA"),
        ("8443a10127a0405840" + "00" * 64 + "00", "1 bytes after its end"),
    ],
)
def test_malformed_signatures_are_refused(signature, says):
    issued = challenge()
    key = Wallet().sign_data(issued.payload_hex)["key"]
    with pytest.raises(MalformedProof, match=says) as refused:
        verify({"signature": signature, "key": key}, issued.payload)
    assert refused.value.field == "signature" and refused.value.code == "malformed"


def test_a_header_address_that_is_no_address_is_refused():
    key = StakeSigningKey.generate()
    issued = challenge()
    for address in (b"", b"\xe1" + bytes(27), b"\xef" + bytes(28), b"\x99" * 29):
        proof = {
            "signature": cose_sign1(issued.payload, signing_key=key, address=address),
            "key": cose_key(public(key)),
        }
        with pytest.raises((MalformedProof, NotAStakeAddress)):
            verify(proof, issued.payload)


@pytest.mark.parametrize(
    "key, says",
    [
        ("zz", "not hex"),
        ("a1", "not valid CBOR"),
        ("80", "not a COSE_Key"),
        (cose_key(bytes(32), {1: 2}), "not an Ed25519 COSE_Key"),
        (cose_key(bytes(32), {-1: 7}), "not an Ed25519 COSE_Key"),
        (cose_key(bytes(32), {3: -7}), "algorithm"),
        (cose_key(bytes(31)), "not 32 bytes"),
        (cose_key(bytes(64)), "not 32 bytes"),
        (cose_key("x" * 32), "not 32 bytes"),
        ("a" * 514, "longer than"),
    ],
)
def test_malformed_keys_are_refused(key, says):
    issued = challenge()
    signature = Wallet().sign_data(issued.payload_hex)["signature"]
    with pytest.raises(MalformedProof, match=says) as refused:
        verify({"signature": signature, "key": key}, issued.payload)
    assert refused.value.field == "key"


def test_an_unknown_network_setting_is_a_configuration_error():
    issued = challenge()
    proof = Wallet().sign_data(issued.payload_hex)
    with pytest.raises(ValueError, match="unknown Cardano network"):
        verify(proof, issued.payload, network="testnet")


@pytest.mark.parametrize(
    "address, network, refusal, says",
    [
        (
            "stake178phkx6acpnf78fuvxn0mkew3l0fd058hzquvz7w36x4gtcccycj5",
            "mainnet",
            NotAStakeAddress,
            "script's stake address",
        ),
        (
            "addr1qx2fxv2umyhttkxyxp8x0dlpdt3k6cwng5pxj3jhsydzer3n0d3vllmyqwsx5wktcd8cc3sq835lu7drv2"
            "xwl2wywfgse35a3x",
            "mainnet",
            NotAStakeAddress,
            "payment address",
        ),
        (
            "stake1uyehkck0lajq8gr28t9uxnuvgcqrc6070x3k9r8048z8y5gh6ffgw",
            "preview",
            WrongNetwork,
            "runs on preview",
        ),
        (
            "stake_test1uqehkck0lajq8gr28t9uxnuvgcqrc6070x3k9r8048z8y5gssrtvn",
            "mainnet",
            WrongNetwork,
            "runs on mainnet",
        ),
        ("stake1nope", "mainnet", MalformedProof, "Not a Cardano address"),
    ],
)
def test_an_address_that_cannot_sign_here_is_refused_before_a_challenge(
    address, network, refusal, says
):
    with pytest.raises(refusal, match=says) as refused:
        check_signing_address(address, network=network)
    assert refused.value.field == "stake_address"


@pytest.mark.parametrize("network", ["mainnet", "preprod"])
def test_a_key_stake_address_of_the_network_may_sign(network):
    wallet = Wallet(network=Network.MAINNET if network == "mainnet" else Network.TESTNET)
    check_signing_address(wallet.stake_address, network=network)


# --- fuzzing: whatever a client sends, the answer is a proof or a StakeProofError -----------


def outcome(proof, payload):
    try:
        return verify(proof, payload)
    except StakeProofError as refused:
        assert refused.message and refused.field in {"signature", "key"}
        return None


def test_random_bytes_are_refused():
    rng = random.Random(15)
    issued = challenge()
    proof = Wallet().sign_data(issued.payload_hex)
    for _ in range(400):
        noise = rng.randbytes(rng.randint(1, 300)).hex()
        assert outcome({**proof, "signature": noise}, issued.payload) is None
        assert outcome({**proof, "key": noise[:MAX_SIGNATURE_HEX]}, issued.payload) is None


def test_every_truncation_is_refused():
    issued = challenge()
    proof = Wallet().sign_data(issued.payload_hex)
    for end in range(2, len(proof["signature"]), 2):
        assert outcome({**proof, "signature": proof["signature"][:end]}, issued.payload) is None
    for end in range(2, len(proof["key"]), 2):
        assert outcome({**proof, "key": proof["key"][:end]}, issued.payload) is None


def test_every_single_byte_change_is_refused_or_leaves_the_proof_intact():
    # Bytes of the unprotected header are not signed, so changing them may leave a valid proof.
    rng = random.Random(8)
    wallet = Wallet()
    issued = challenge()
    proof = wallet.sign_data(issued.payload_hex)
    for field in ("signature", "key"):
        raw = bytes.fromhex(proof[field])
        for position in range(len(raw)):
            changed = bytearray(raw)
            changed[position] ^= rng.randint(1, 255)
            result = outcome({**proof, field: changed.hex()}, issued.payload)
            assert result in (None, wallet.stake_address)


@pytest.mark.parametrize(
    "value",
    [
        cbor2.dumps(None),
        cbor2.dumps(1.5),
        cbor2.dumps("text"),
        cbor2.dumps({"a": [1, {2: 3}]}),
        cbor2.dumps([[], {}, [], []]),
        cbor2.dumps([b"", {}, b"", b""]),
        cbor2.dumps([cbor2.dumps([]), {}, b"x", bytes(64)]),
        cbor2.dumps([cbor2.dumps({1: "EdDSA", "address": "stake1"}), {}, b"x", bytes(64)]),
        cbor2.dumps([cbor2.dumps({1: -8, "address": 7}), {}, b"x", bytes(64)]),
        cbor2.dumps(cbor2.CBORTag(18, "not an array")),
        cbor2.dumps(cbor2.CBORTag(99, [1, 2, 3, 4])),
    ],
)
def test_cbor_of_the_wrong_types_is_refused(value):
    issued = challenge()
    proof = Wallet().sign_data(issued.payload_hex)
    assert outcome({**proof, "signature": value.hex()}, issued.payload) is None
    assert outcome({**proof, "key": value.hex()}, issued.payload) is None
