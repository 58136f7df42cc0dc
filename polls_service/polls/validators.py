"""Checks of values an operator types in that are not this platform's own rules."""

from __future__ import annotations

from django.conf import settings
from django.core.exceptions import ValidationError

from shared_events.kit.chain_clients import values


def validate_payout_address(value: str) -> None:
    """A bech32 Shelley payment address of CARDANO_NETWORK (pycardano decodes it); "" is
    allowed (not set yet). The message names what is wrong with it."""
    if not value:
        return
    try:
        values.payment_address(value, values.network_of(settings.CARDANO_NETWORK))
    except ValueError as problem:
        raise ValidationError(
            f"{problem} (expected a {settings.CARDANO_NETWORK} address: "
            f"{'addr1…' if settings.CARDANO_NETWORK == 'mainnet' else 'addr_test1…'})",
            code="invalid_payout_address",
        ) from None
