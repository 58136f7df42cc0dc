"""The settings of every service that reads the chain through `CHAIN_SOURCE` (accounts: the
pool's stake distribution; polls: payout transactions): one set of names, read the same way."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ImproperlyConfigured

from ..service_settings import env, env_count
from .retry import RetryPolicy
from .values import NETWORKS


def chain_client_settings(ns: dict[str, Any]) -> None:
    """Set the chain clients' settings in a settings module's namespace (`globals()`)."""
    ns["BLOCKFROST_PROJECT_ID"] = env("BLOCKFROST_PROJECT_ID", "")
    # Default: Blockfrost's own, per network.
    ns["BLOCKFROST_API_URL"] = env("BLOCKFROST_API_URL", "")
    # Default: api.koios.rest's, per network.
    ns["KOIOS_API_URL"] = env("KOIOS_API_URL", "")
    ns["KOIOS_API_TOKEN"] = env("KOIOS_API_TOKEN", "")
    ns["CHAIN_SOURCE_TIMEOUT_SECONDS"] = float(env("CHAIN_SOURCE_TIMEOUT_SECONDS", "30"))
    # Per request, the first included.
    ns["CHAIN_SOURCE_ATTEMPTS"] = env_count("CHAIN_SOURCE_ATTEMPTS", 5)
    if ns["CHAIN_SOURCE_ATTEMPTS"] < 1:
        raise ImproperlyConfigured("CHAIN_SOURCE_ATTEMPTS must be at least 1")
    ns["CHAIN_SOURCE_FIRST_RETRY_DELAY_SECONDS"] = float(
        env("CHAIN_SOURCE_FIRST_RETRY_DELAY_SECONDS", "1")
    )
    ns["CHAIN_SOURCE_MAX_WAIT_SECONDS"] = float(env("CHAIN_SOURCE_MAX_WAIT_SECONDS", "60"))
    # The network whose addresses count (stake addresses in accounts, payout addresses in polls).
    ns["CARDANO_NETWORK"] = env("CARDANO_NETWORK", "mainnet")
    if ns["CARDANO_NETWORK"] not in NETWORKS:
        raise ImproperlyConfigured(
            f"CARDANO_NETWORK is {ns['CARDANO_NETWORK']!r}; use mainnet, preprod or preview."
        )


def retry_policy_from_settings() -> RetryPolicy:
    """The RetryPolicy the settings above describe."""
    from django.conf import settings

    return RetryPolicy(
        attempts=settings.CHAIN_SOURCE_ATTEMPTS,
        first_delay=settings.CHAIN_SOURCE_FIRST_RETRY_DELAY_SECONDS,
        max_delay=settings.CHAIN_SOURCE_MAX_WAIT_SECONDS,
        timeout=settings.CHAIN_SOURCE_TIMEOUT_SECONDS,
    )
