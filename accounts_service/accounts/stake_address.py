"""Cardano stake (reward) addresses: bech32 with hrp `stake` (mainnet) or `stake_test` (testnets),
carrying a header byte and a 28-byte key or script hash (CIP-19)."""

from __future__ import annotations

from django.core.exceptions import ValidationError

_CHARSET = "qpzry9x8gf2tvdw0s3jn54khce6mua7l"
_GENERATOR = (0x3B6A57B2, 0x26508E6D, 0x1EA119FA, 0x3D4233DD, 0x2A1462B3)
_NETWORKS = {"stake": 1, "stake_test": 0}  # hrp -> network id in the header's low nibble


def _polymod(values: list[int]) -> int:
    checksum = 1
    for value in values:
        top = checksum >> 25
        checksum = (checksum & 0x1FFFFFF) << 5 ^ value
        for i in range(5):
            checksum ^= _GENERATOR[i] if (top >> i) & 1 else 0
    return checksum


def _hrp_expand(hrp: str) -> list[int]:
    return [ord(c) >> 5 for c in hrp] + [0] + [ord(c) & 31 for c in hrp]


def _convert_bits(data: list[int], from_bits: int, to_bits: int) -> list[int] | None:
    acc = bits = 0
    out = []
    maxv = (1 << to_bits) - 1
    for value in data:
        acc = (acc << from_bits) | value
        bits += from_bits
        while bits >= to_bits:
            bits -= to_bits
            out.append((acc >> bits) & maxv)
    if bits >= from_bits or ((acc << (to_bits - bits)) & maxv):
        return None  # leftover padding must be zero and short
    return out


def bech32_decode(text: str) -> tuple[str, bytes]:
    if text.lower() != text and text.upper() != text:
        raise ValueError("mixed case")
    text = text.lower()
    sep = text.rfind("1")
    if sep < 1 or sep + 7 > len(text):
        raise ValueError("no separator or too short")
    hrp, data_part = text[:sep], text[sep + 1 :]
    if any(c not in _CHARSET for c in data_part):
        raise ValueError("invalid character")
    data = [_CHARSET.index(c) for c in data_part]
    if _polymod(_hrp_expand(hrp) + data) != 1:  # 1 is bech32; bech32m would be 0x2BC830A3
        raise ValueError("bad checksum")
    payload = _convert_bits(data[:-6], 5, 8)
    if payload is None:
        raise ValueError("bad padding")
    return hrp, bytes(payload)


def bech32_encode(hrp: str, payload: bytes) -> str:
    data = _to_five_bit_groups(payload)
    values = _hrp_expand(hrp) + data
    polymod = _polymod(values + [0] * 6) ^ 1
    checksum = [(polymod >> 5 * (5 - i)) & 31 for i in range(6)]
    return hrp + "1" + "".join(_CHARSET[d] for d in data + checksum)


def _to_five_bit_groups(payload: bytes) -> list[int]:
    """Encoding pads the last group with zero bits (decoding checks they are zero)."""
    acc = bits = 0
    out = []
    for value in payload:
        acc = (acc << 8) | value
        bits += 8
        while bits >= 5:
            bits -= 5
            out.append((acc >> bits) & 31)
    if bits:
        out.append((acc << (5 - bits)) & 31)
    return out


def _from_wallet_hex(value: str) -> str:
    """CIP-30 wallets give addresses as the hex of their bytes (`getRewardAddresses()`): a
    stake address's 29 bytes become its bech32 form, named by the header's network."""
    if len(value) != 58:
        return value
    try:
        payload = bytes.fromhex(value)
    except ValueError:
        return value
    hrp = "stake" if payload[0] & 0x0F == 1 else "stake_test"
    return bech32_encode(hrp, payload)


def normalize_stake_address(value: str) -> str:
    """The canonical (lower-case) bech32 form of a valid stake address, given in bech32 or as
    the hex of its bytes (as CIP-30 wallets give it), or ValidationError."""
    value = _from_wallet_hex((value or "").strip())
    if len(value) > 120:
        raise ValidationError("A stake address is at most 120 characters.", code="invalid")
    try:
        hrp, payload = bech32_decode(value)
    except ValueError as exc:
        raise ValidationError(
            f"Not a valid bech32 stake address ({exc}).", code="invalid"
        ) from None
    if hrp not in _NETWORKS:
        raise ValidationError(
            "A stake address starts with stake1 (mainnet) or stake_test1.", code="invalid"
        )
    if len(payload) != 29:
        raise ValidationError(
            "A stake address holds a 1-byte header and a 28-byte hash.", code="invalid"
        )
    header_type, network = payload[0] >> 4, payload[0] & 0x0F
    if header_type not in (0b1110, 0b1111):
        raise ValidationError("That bech32 string is not a stake address.", code="invalid")
    if network != _NETWORKS[hrp]:
        raise ValidationError(
            f"The address header is for network {network}, not {hrp}.", code="invalid"
        )
    return value.lower()
