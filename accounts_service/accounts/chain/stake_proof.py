"""Proof that someone controls a Cardano stake address: the challenge they sign, and the check of
the CIP-8 message that CIP-30 `signData(rewardAddress, payloadHex)` (or a CLI signer such as
cardano-signer's `sign --cip8`) returns for it.

The cryptography is pycardano's (`pycardano.cip.cip8.verify`). What this module adds is what that
function leaves to its caller: the address must be a reward address on the expected network, the
payload must be exactly the issued challenge, and every way a client's input can be wrong is a
`StakeProofError` naming the problem, never an exception from cbor2, cose or pycardano.

pycardano is imported where a proof is checked, not at module load: it takes seconds of CPU and
some 35 MiB (with pydantic, ogmios and blockfrost) to import, and every process of accounts (the
admin, the worker, `events_status`) loads this module.
"""

from __future__ import annotations

import io
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING

import cbor2

if TYPE_CHECKING:
    from pycardano import Address

# CIP-19's network id of each network's addresses: preprod and preview are both testnets (0).
NETWORKS: dict[str, int] = {"mainnet": 1, "preprod": 0, "preview": 0}

# Far above what a wallet returns for a challenge of a few hundred bytes; bounds the work a
# client can make the decoder do.
MAX_SIGNATURE_HEX = 8192
MAX_KEY_HEX = 512

_COSE_SIGN1_TAG = 0xD2  # CBOR tag 18, one byte; CIP-30 wallets send the array untagged
_ALG_EDDSA = -8
_KTY_OKP, _CRV_ED25519 = 1, 6
_KEY_KTY, _KEY_ALG, _KEY_CRV, _KEY_X = 1, 3, -1, -2


class StakeProofError(Exception):
    """A proof refused; `field` is the request field at fault, `code` a stable name for it."""

    code = "invalid"

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field
        self.message = message


class MalformedProof(StakeProofError):
    code = "malformed"


class ForgedSignature(StakeProofError):
    code = "bad_signature"


class KeyMismatch(StakeProofError):
    code = "other_key"


class NotAStakeAddress(StakeProofError):
    code = "not_stake_address"


class WrongNetwork(StakeProofError):
    code = "wrong_network"


class AddressMismatch(StakeProofError):
    code = "other_address"


class PayloadMismatch(StakeProofError):
    code = "payload_mismatch"


@dataclass(frozen=True)
class Challenge:
    text: str
    nonce: str
    expires_at: datetime

    @property
    def payload(self) -> bytes:
        return self.text.encode("utf-8")

    @property
    def payload_hex(self) -> str:
        """What a CIP-30 wallet's signData takes: the hex of the text's UTF-8 bytes."""
        return self.payload.hex()


def build_link_challenge(*, domain: str, account: str, expires_at: datetime) -> Challenge:
    """A challenge that links the signer's stake address to an existing account."""
    return _build_challenge(
        domain=domain,
        purpose="link your Cardano stake address to your account",
        subject=("Account", account),
        expires_at=expires_at,
    )


def build_sign_in_challenge(*, domain: str, stake_address: str, expires_at: datetime) -> Challenge:
    """A challenge that signs the holder of `stake_address` in (creating their account)."""
    return _build_challenge(
        domain=domain,
        purpose="sign in with your Cardano stake address",
        subject=("Stake address", stake_address),
        expires_at=expires_at,
    )


def _build_challenge(
    *, domain: str, purpose: str, subject: tuple[str, str], expires_at: datetime
) -> Challenge:
    if expires_at.tzinfo is None:
        raise ValueError("expires_at must be timezone-aware")
    for value in (domain, subject[1]):
        # A line break in a value could forge another line of the text the signer reads.
        if not value or any(ord(char) < 32 for char in value):
            raise ValueError(f"{value!r} cannot appear in a challenge")
    nonce = secrets.token_hex(16)
    expires = expires_at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    text = (
        f"{domain} asks you to {purpose}.\n"
        f"\n"
        f"{subject[0]}: {subject[1]}\n"
        f"Nonce: {nonce}\n"
        f"Expires: {expires}\n"
        f"\n"
        f"Signing this message moves no funds and costs no fee."
    )
    return Challenge(text=text, nonce=nonce, expires_at=expires_at)


def verify_stake_proof(
    *,
    signature: object,
    key: object,
    payload: bytes,
    network: str,
    stake_address: str | None = None,
) -> str:
    """The bech32 reward address that `signature` (a COSE_Sign1) and `key` (a COSE_Key), both hex
    CBOR as CIP-30 returns them, prove control of; or a StakeProofError naming what is wrong.

    `payload` is the challenge the signer had to sign, `network` one of NETWORKS (a setting, so an
    unknown one is a ValueError), `stake_address` the address the challenge was issued for, if any.
    """
    if network not in NETWORKS:
        raise ValueError(f"unknown Cardano network {network!r}; one of {sorted(NETWORKS)}")

    cose_sign1 = _hex_bytes(signature, field="signature", limit=MAX_SIGNATURE_HEX)
    if cose_sign1[:1] == bytes([_COSE_SIGN1_TAG]):
        cose_sign1 = cose_sign1[1:]  # pycardano adds the tag itself
    cose_key = _hex_bytes(key, field="key", limit=MAX_KEY_HEX)

    signed_payload, hashed, address_bytes = _read_cose_sign1(cose_sign1)
    public_key = _read_cose_key(cose_key)
    address = _read_reward_address(address_bytes)

    _refuse_other_network(address, network=network, field="signature")
    if stake_address is not None and str(address) != stake_address:
        raise AddressMismatch(
            "signature",
            f"The message was signed for {address}, not for {stake_address} named in the "
            f"challenge.",
        )
    if signed_payload != payload:
        if hashed:
            raise PayloadMismatch(
                "signature",
                "The wallet signed a hash of the challenge (hashed: true); sign its payload_hex "
                "itself.",
            )
        raise PayloadMismatch(
            "signature",
            "The signed message is not this challenge: sign exactly its payload_hex.",
        )

    from pycardano import StakeVerificationKey
    from pycardano.cip import cip8

    try:
        result = cip8.verify(
            {"signature": cose_sign1.hex(), "key": cose_key.hex()}, attach_cose_key=True
        )
    except Exception as exc:  # cose and pycardano raise many types; each means unreadable
        raise MalformedProof("signature", f"The COSE_Sign1 cannot be verified ({exc}).") from None

    key_hash = StakeVerificationKey.from_primitive(public_key).hash()
    if key_hash != address.staking_part:
        raise KeyMismatch(
            "key",
            f"The key is not the stake key of {address}: its hash is {key_hash}, the "
            f"address's is {address.staking_part}.",
        )
    if result["verified"] is not True:
        raise ForgedSignature(
            "signature",
            "The signature does not verify for this message and key: it is forged or altered.",
        )
    if result["signing_address"] != address or result["message"].encode("utf-8") != payload:
        # pycardano read the message differently from us; refuse rather than guess which is right.
        raise MalformedProof("signature", "The COSE_Sign1 is ambiguous.")
    return str(address)


def check_signing_address(stake_address: str, *, network: str) -> None:
    """Refuse, before anything is signed, a bech32 stake address that cannot prove itself here:
    a script's (no key to sign with) or another network's. A StakeProofError on field
    `stake_address`."""
    from pycardano import Address

    try:
        address = Address.decode(stake_address)
    except Exception:  # pycardano raises several types for a string that is no address
        raise MalformedProof("stake_address", "Not a Cardano address.") from None
    _refuse_unless_reward_address(address, field="stake_address")
    _refuse_other_network(address, network=network, field="stake_address")


def _hex_bytes(value: object, *, field: str, limit: int) -> bytes:
    if not isinstance(value, str):
        raise MalformedProof(field, f"The {field} must be a hex string.")
    value = value.strip()
    if not value:
        raise MalformedProof(field, f"The {field} is empty.")
    if len(value) > limit:
        raise MalformedProof(field, f"The {field} is longer than {limit} hex characters.")
    try:
        return bytes.fromhex(value)
    except ValueError:
        raise MalformedProof(
            field, f"The {field} is not hex (an even number of 0-9 and a-f characters)."
        ) from None


def _cbor_item(raw: bytes, *, field: str, what: str) -> object:
    stream = io.BytesIO(raw)
    try:
        item = cbor2.CBORDecoder(stream).decode()
    except Exception as exc:  # cbor2 raises several types for bad input
        raise MalformedProof(field, f"{what} is not valid CBOR ({exc}).") from None
    if stream.tell() != len(raw):
        raise MalformedProof(field, f"{what} has {len(raw) - stream.tell()} bytes after its end.")
    return item


def _read_cose_sign1(raw: bytes) -> tuple[bytes, bool, bytes]:
    """(payload, whether it claims to be hashed, the protected header's address bytes)."""
    message = _cbor_item(raw, field="signature", what="The signature")
    if not (isinstance(message, list) and len(message) == 4):
        raise MalformedProof(
            "signature", "The signature is not a COSE_Sign1 (a CBOR array of four items)."
        )
    protected_raw, unprotected, payload, signature = message
    if not (
        isinstance(protected_raw, bytes)
        and isinstance(unprotected, dict)
        and isinstance(payload, bytes | None)
        and isinstance(signature, bytes)
    ):
        raise MalformedProof(
            "signature",
            "The signature's items are not COSE_Sign1's (protected bytes, unprotected map, "
            "payload bytes, signature bytes).",
        )
    if payload is None:
        raise MalformedProof(
            "signature", "The COSE_Sign1 has no payload: sign the challenge's payload_hex with it."
        )
    if len(signature) != 64:
        raise ForgedSignature(
            "signature",
            f"The Ed25519 signature is {len(signature)} bytes, not 64: truncated or not one.",
        )
    protected = _cbor_item(protected_raw, field="signature", what="The protected header")
    if not isinstance(protected, dict):
        raise MalformedProof("signature", "The protected header is not a CBOR map.")
    if protected.get(1) != _ALG_EDDSA:
        raise MalformedProof(
            "signature", "The protected header's algorithm (label 1) is not EdDSA (-8)."
        )
    address = protected.get("address")
    if not isinstance(address, bytes):
        raise MalformedProof(
            "signature",
            "The protected header has no 'address' (bytes): CIP-30 signData puts the signing "
            "address there.",
        )
    return payload, unprotected.get("hashed") is True, address


def _read_cose_key(raw: bytes) -> bytes:
    """The Ed25519 public key in a COSE_Key."""
    cose_key = _cbor_item(raw, field="key", what="The key")
    if not isinstance(cose_key, dict):
        raise MalformedProof("key", "The key is not a COSE_Key (a CBOR map).")
    if cose_key.get(_KEY_KTY) != _KTY_OKP or cose_key.get(_KEY_CRV) != _CRV_ED25519:
        raise MalformedProof("key", "The key is not an Ed25519 COSE_Key (kty OKP, crv Ed25519).")
    if cose_key.get(_KEY_ALG, _ALG_EDDSA) != _ALG_EDDSA:
        raise MalformedProof("key", "The key's algorithm (label 3) is not EdDSA (-8).")
    public_key = cose_key.get(_KEY_X)
    if not (isinstance(public_key, bytes) and len(public_key) == 32):
        raise MalformedProof("key", "The key's public key (label -2) is not 32 bytes.")
    return public_key


def _read_reward_address(raw: bytes) -> Address:
    from pycardano import Address

    try:
        address = Address.from_primitive(raw)
    except Exception:  # pycardano raises IndexError, AssertionError, ValueError, ...
        raise MalformedProof(
            "signature", "The protected header's address is not a Cardano address."
        ) from None
    _refuse_unless_reward_address(address, field="signature")
    # A header byte and a 28-byte hash (CIP-19). pycardano checks the hash's size with an
    # assert, which `python -O` drops.
    if len(raw) != 29:
        raise MalformedProof("signature", "The protected header's address is malformed.")
    return address


def _refuse_unless_reward_address(address: Address, *, field: str) -> None:
    from pycardano import AddressType

    if address.address_type == AddressType.NONE_KEY:
        return
    if address.address_type == AddressType.NONE_SCRIPT:
        raise NotAStakeAddress(
            field, f"{address} is a script's stake address; only a stake key's address can sign."
        )
    raise NotAStakeAddress(
        field,
        f"{address} is a payment address, not a stake (reward) address: sign with the stake "
        f"address.",
    )


def _refuse_other_network(address: Address, *, network: str, field: str) -> None:
    if address.network.value != NETWORKS[network]:
        raise WrongNetwork(
            field,
            f"{address} is a {'mainnet' if address.network.value == 1 else 'testnet'} "
            f"stake address; this platform runs on {network}.",
        )
