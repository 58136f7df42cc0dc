"""Checks every value a source hands over must pass: stake and payment addresses of the
configured network, pool ids, lovelace amounts. A value that fails is a nonsense answer, never
corrected.

pycardano is imported where it is used: it takes seconds of CPU to import, and every process of
accounts (the admin imports this) would pay that at start for a source it may never ask.
"""

from __future__ import annotations

from functools import lru_cache
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from pycardano import Network

NETWORKS = ("mainnet", "preprod", "preview")  # the testnets share pycardano's TESTNET id
# All the ada there will ever be (45 billion); a larger stake is not a stake.
MAX_LOVELACE = 45_000_000_000 * 1_000_000
_MAX_ADDRESS_CHARS = 120  # bounds the decoder's work on garbage


def network_of(name: str) -> Network:
    from pycardano import Network

    if name not in NETWORKS:
        raise ValueError(f"CARDANO_NETWORK={name!r} is not one of {', '.join(NETWORKS)}")
    return Network.MAINNET if name == "mainnet" else Network.TESTNET


def stake_address(value: object, network: Network) -> str:
    """The canonical (lower-case bech32) form of a stake address of `network`, or ValueError."""
    if not isinstance(value, str) or not value or len(value) > _MAX_ADDRESS_CHARS:
        raise ValueError(f"not a stake address: {_shorten(value)}")
    return _checked_stake_address(value, network)


# The same delegators come back every epoch; decoding bech32 in Python is the costly part.
@lru_cache(maxsize=200_000)
def _checked_stake_address(value: str, network: Network) -> str:
    from pycardano import Address
    from pycardano.address import AddressType

    try:
        address = Address.from_primitive(value)
    except Exception:  # pycardano raises several types (DecodingException, ValueError, …)
        raise ValueError(f"not a valid Cardano address: {_shorten(value)}") from None
    if address.address_type not in (AddressType.NONE_KEY, AddressType.NONE_SCRIPT):
        raise ValueError(f"not a stake (reward) address: {_shorten(value)}")
    if address.network != network:
        raise ValueError(f"stake address of another network: {_shorten(value)}")
    return value.lower()  # bech32 ignores case (mixed case fails to decode); lower is canonical


def payment_address(value: object, network: Network) -> str:
    """The canonical (lower-case bech32) form of a Shelley payment address of `network` (base,
    pointer or enterprise: `addr1…`, `addr_test1…`), or ValueError saying what is wrong."""
    if not isinstance(value, str) or not value.strip() or len(value.strip()) > _MAX_ADDRESS_CHARS:
        raise ValueError(f"not a bech32 Shelley address: {_shorten(value)}")
    from pycardano import Address
    from pycardano.address import AddressType

    text = value.strip()
    try:
        address = Address.from_primitive(text)
    except Exception:  # pycardano raises several types (DecodingException, ValueError, …)
        raise ValueError(f"not a bech32 Shelley address: {_shorten(value)}") from None
    if address.address_type in (AddressType.NONE_KEY, AddressType.NONE_SCRIPT):
        raise ValueError(
            f"a stake (reward) address, not a payment address (addr1…): {_shorten(value)}"
        )
    if address.address_type == AddressType.BYRON:
        raise ValueError(f"a Byron address, not a Shelley one: {_shorten(value)}")
    if address.network != network:
        raise ValueError(f"an address of another network than this platform's: {_shorten(value)}")
    return text.lower()


def pool_id(value: object) -> str:
    """A bech32 pool id (`pool1…`), or ValueError."""
    from pycardano.pool_params import PoolId

    if isinstance(value, str) and len(value) <= _MAX_ADDRESS_CHARS:
        try:
            return str(PoolId(value.strip().lower()))
        except ValueError:
            pass
    raise ValueError(f"not a bech32 pool id (pool1…): {_shorten(value)}")


def lovelace(value: object) -> int:
    """A whole, non-negative amount of lovelace from a JSON number or a string of digits."""
    if isinstance(value, bool):
        raise ValueError(f"not an amount of lovelace: {_shorten(value)}")
    if isinstance(value, str) and value.isascii() and value.isdigit() and len(value) <= 20:
        amount = int(value)
    elif isinstance(value, int):
        amount = value
    else:
        raise ValueError(f"not an amount of lovelace: {_shorten(value)}")
    if amount < 0:
        raise ValueError(f"negative stake: {amount}")
    if amount > MAX_LOVELACE:
        raise ValueError(f"stake above the total ada supply: {amount}")
    return amount


def epoch_number(value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ValueError(f"not an epoch number: {_shorten(value)}")
    return value


def _shorten(value: object) -> str:
    text = repr(value)
    return text if len(text) <= 70 else f"{text[:67]}..."
