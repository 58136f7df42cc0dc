"""Looking up payout transactions on chain, through the source `CHAIN_SOURCE` names and with
the same settings as accounts' stake distribution (shared_events.kit.chain_clients):

- `blockfrost`: `txs/{hash}`, `txs/{hash}/utxos` and `blocks/latest` (blockfrost.py),
- `koios`: `tx_info` and `tip` (koios.py),
- `file` or `none`: no lookup; the operator confirms payouts by hand.
"""

from __future__ import annotations

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

from shared_events.kit.chain_clients.settings import retry_policy_from_settings
from shared_events.kit.chain_mode import checked_chain_source

from .seen import TxLookup, TxSeen

__all__ = ["TxLookup", "TxSeen", "configured_tx_lookup"]


def configured_tx_lookup() -> TxLookup | None:
    """The source that verifies payouts, or None when the operator confirms them by hand."""
    kind = checked_chain_source(settings.CHAIN_SOURCE)
    if kind == "blockfrost":
        from shared_events.kit.chain_clients.blockfrost import default_api_url

        from .blockfrost import BlockfrostTxLookup

        if not settings.BLOCKFROST_PROJECT_ID and not settings.BLOCKFROST_API_URL:
            raise ImproperlyConfigured(
                "CHAIN_SOURCE=blockfrost needs BLOCKFROST_PROJECT_ID (or BLOCKFROST_API_URL "
                "of a self-hosted instance)"
            )
        return BlockfrostTxLookup(
            project_id=settings.BLOCKFROST_PROJECT_ID or "",
            api_url=settings.BLOCKFROST_API_URL or default_api_url(settings.CARDANO_NETWORK),
            policy=retry_policy_from_settings(),
        )
    if kind == "koios":
        from shared_events.kit.chain_clients.koios import DEFAULT_API_URLS

        from .koios import KoiosTxLookup

        return KoiosTxLookup(
            api_url=settings.KOIOS_API_URL or DEFAULT_API_URLS[settings.CARDANO_NETWORK],
            token=settings.KOIOS_API_TOKEN or None,
            policy=retry_policy_from_settings(),
        )
    return None
