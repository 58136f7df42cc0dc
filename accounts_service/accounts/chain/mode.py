"""Whether accounts runs in the open mode: `CHAIN_SOURCE=none`, or `OPEN_ELIGIBILITY=true` set
explicitly. Then every active delegator earns points every epoch, as before the chain source
existed, so one person with many accounts earns many times. Otherwise (chain mode) only a
delegator whose proven stake address is in an epoch's stored distribution earns that epoch.

The one place accounts asks; `shared_events.kit.chain_mode.open_eligibility()` is meant to
answer the same for every service once it is there, and then this defers to it.
"""

from __future__ import annotations

from django.conf import settings


def open_eligibility() -> bool:
    return settings.CHAIN_SOURCE == "none" or bool(settings.OPEN_ELIGIBILITY)


def mode_summary() -> str:
    """One line for the start-up log and the admin."""
    if not open_eligibility():
        return (f"chain mode (CHAIN_SOURCE={settings.CHAIN_SOURCE}): only a delegator whose "
                "proven stake address is in an epoch's stake distribution earns its points")
    why = "CHAIN_SOURCE=none" if settings.CHAIN_SOURCE == "none" else "OPEN_ELIGIBILITY=true"
    return (f"open mode ({why}): every active delegator earns points every epoch and may vote, "
            "so one person with many accounts has many votes")
