import pytest
from django.core.exceptions import ValidationError

from accounts.stake_address import bech32_decode, normalize_stake_address

# CIP-19 test vectors: key-hash and script-hash stake addresses on mainnet and testnet.
VALID = [
    "stake1uyehkck0lajq8gr28t9uxnuvgcqrc6070x3k9r8048z8y5gh6ffgw",
    "stake178phkx6acpnf78fuvxn0mkew3l0fd058hzquvz7w36x4gtcccycj5",
    "stake_test1uqehkck0lajq8gr28t9uxnuvgcqrc6070x3k9r8048z8y5gssrtvn",
    "stake_test17rphkx6acpnf78fuvxn0mkew3l0fd058hzquvz7w36x4gtcljw6kf",
]


@pytest.mark.parametrize("address", VALID)
def test_cip19_stake_addresses_are_accepted(address):
    assert normalize_stake_address(address) == address


def test_upper_case_is_accepted_and_stored_lower_case():
    assert normalize_stake_address(VALID[0].upper()) == VALID[0]


@pytest.mark.parametrize(
    "address, reason",
    [
        (VALID[0][:-1] + ("q" if VALID[0][-1] != "q" else "p"), "bad checksum"),
        (VALID[0][:10] + VALID[0][10:].upper(), "mixed case"),
        (
            "addr1qx2fxv2umyhttkxyxp8x0dlpdt3k6cwng5pxj3jhsydzer3n0d3vllmyqwsx5wktcd8cc3sq835lu7drv2xwl2"
            "wywfgse35a3x",
            "stake1",
        ),  # a payment address, not a stake address
        ("stake1" + "q" * 10, "bad checksum"),
        ("", "too short"),
        ("stake1uyehkck0lajq8gr28t9uxnuvgcqrc6070x3k9r8048z8y5gh6ffgb", "invalid character"),
        ("x" * 121, "at most 120"),
    ],
)
def test_anything_else_is_refused_with_a_reason(address, reason):
    with pytest.raises(ValidationError, match=reason):
        normalize_stake_address(address)


def test_a_testnet_header_under_the_mainnet_prefix_is_refused():
    from accounts.stake_address import _CHARSET, _hrp_expand, _polymod, bech32_decode

    _, payload = bech32_decode(VALID[2])  # testnet header (network 0)
    data = []
    acc = bits = 0
    for byte in payload:
        acc, bits = (acc << 8) | byte, bits + 8
        while bits >= 5:
            bits -= 5
            data.append((acc >> bits) & 31)
    if bits:
        data.append((acc << (5 - bits)) & 31)
    polymod = _polymod(_hrp_expand("stake") + data + [0] * 6) ^ 1
    checksum = [(polymod >> 5 * (5 - i)) & 31 for i in range(6)]
    forged = "stake1" + "".join(_CHARSET[d] for d in data + checksum)
    with pytest.raises(ValidationError, match="network 0"):
        normalize_stake_address(forged)


@pytest.mark.parametrize("address", VALID)
def test_the_hex_a_cip30_wallet_gives_becomes_the_bech32_address(address):
    _, payload = bech32_decode(address)
    assert normalize_stake_address(payload.hex()) == address
    assert normalize_stake_address(payload.hex().upper()) == address


def test_hex_of_something_else_is_refused():
    with pytest.raises(ValidationError):
        normalize_stake_address("e0" + "ab" * 27)  # 28 bytes: one short
