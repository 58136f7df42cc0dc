"""Where the pool's stake distribution comes from: one small interface (`ChainSource`, base.py)
and its sources, chosen by the `CHAIN_SOURCE` setting:

- `blockfrost`: the official blockfrost-python SDK (blockfrost.py),
- `koios`: Koios' REST API (koios.py),
- `file`: distributions exported from the pool's own db-sync, imported by an operator
  (snapshot_file.py; `manage.py import_stake_snapshot`), never polled,
- `none`: no source at all (the open mode).
"""

from __future__ import annotations

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

from shared_events.kit.chain_clients import values
from shared_events.kit.chain_clients.retry import RetryPolicy
from shared_events.kit.chain_clients.settings import retry_policy_from_settings
from shared_events.kit.chain_mode import checked_chain_source

from .base import (
    ChainSource,
    ChainSourceError,
    ChainSourceInvalidAnswer,
    ChainSourceRefused,
    ChainSourceUnavailable,
    StakeRow,
    StakeSnapshotFileError,
)

POLLED_SOURCES = ("blockfrost", "koios")

__all__ = [
    "ChainSource",
    "ChainSourceError",
    "ChainSourceInvalidAnswer",
    "ChainSourceRefused",
    "ChainSourceUnavailable",
    "StakeRow",
    "StakeSnapshotFileError",
    "POLLED_SOURCES",
    "configured_source",
    "retry_policy",
]


def retry_policy() -> RetryPolicy:
    return retry_policy_from_settings()


def configured_source() -> ChainSource | None:
    """The remote source the sync task polls, or None (`none`, or `file`: imported by hand)."""
    kind = checked_chain_source(settings.CHAIN_SOURCE)
    if kind not in POLLED_SOURCES:
        return None
    network_name = settings.CARDANO_NETWORK
    try:
        network = values.network_of(network_name)
    except ValueError as problem:
        raise ImproperlyConfigured(str(problem)) from None
    if kind == "blockfrost":
        from .blockfrost import BlockfrostSource, default_api_url

        if not settings.BLOCKFROST_PROJECT_ID and not settings.BLOCKFROST_API_URL:
            raise ImproperlyConfigured(
                "CHAIN_SOURCE=blockfrost needs BLOCKFROST_PROJECT_ID (or BLOCKFROST_API_URL "
                "of a self-hosted instance)"
            )
        return BlockfrostSource(
            project_id=settings.BLOCKFROST_PROJECT_ID or "",
            api_url=settings.BLOCKFROST_API_URL or default_api_url(network_name),
            network=network,
            policy=retry_policy(),
        )
    from .koios import DEFAULT_API_URLS, KoiosSource

    return KoiosSource(
        api_url=settings.KOIOS_API_URL or DEFAULT_API_URLS[network_name],
        token=settings.KOIOS_API_TOKEN or None,
        network=network,
        policy=retry_policy(),
    )
