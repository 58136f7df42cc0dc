"""Whether voting power comes from the chain or the platform runs in the open mode.

Every service reads the same two settings (`service_settings`): `CHAIN_SOURCE`, where accounts
gets the pool's stake distribution (only accounts talks to the chain), and `OPEN_ELIGIBILITY`.
Open mode is `CHAIN_SOURCE=none`, or `OPEN_ELIGIBILITY=true` set explicitly: every active
delegator may vote with their points, so one person with many accounts gets many votes. Chain
mode otherwise: a delegator may vote iff their verified stake address is in the pool's stake
distribution of the poll's snapshot epoch.
"""

from __future__ import annotations

import logging

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

CHAIN_SOURCES = ("none", "blockfrost", "koios", "file")


def checked_chain_source(value: str) -> str:
    """`value` if it names a chain source; raises ImproperlyConfigured naming it otherwise."""
    if value not in CHAIN_SOURCES:
        raise ImproperlyConfigured(
            f"CHAIN_SOURCE={value!r} is not one of {', '.join(CHAIN_SOURCES)}"
        )
    return value


def open_eligibility() -> bool:
    """True in the open mode (every active delegator may vote, power = points)."""
    return bool(settings.OPEN_ELIGIBILITY) or settings.CHAIN_SOURCE == "none"


def mode_summary() -> str:
    """One line for start-up logs and the admins."""
    if not open_eligibility():
        return (
            f"chain mode (CHAIN_SOURCE={settings.CHAIN_SOURCE}): only the pool's "
            "delegators with a verified stake address may vote"
        )
    why = "CHAIN_SOURCE=none" if settings.CHAIN_SOURCE == "none" else "OPEN_ELIGIBILITY=true"
    return (
        f"open mode ({why}): every active delegator may vote with their points, so one "
        "person with many accounts has many votes; stake formulas need a chain source"
    )


def announce_mode(log: logging.Logger) -> None:
    """Say the mode once, in the log of a service's web server (`config/wsgi.py`): the open
    mode as a warning, for it lets one person with many accounts vote many times. Only the web
    says it, so a service's Celery worker, beat and consumer do not repeat the line."""
    if open_eligibility():
        log.warning("%s", mode_summary())
    else:
        log.info("%s", mode_summary())
