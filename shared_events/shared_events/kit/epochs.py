"""Cardano epochs, the clock of voting power for every service: accounts credits loyalty per
epoch, polls fixes a poll's snapshot epoch when it opens, voting reads that epoch's stake.
Mainnet: epoch 208 began 2020-07-29T21:44:51Z and every epoch lasts 432,000 s (5 days). Both
are settings (`service_settings`), so a testnet or a local demo can run on short epochs."""

from __future__ import annotations

from datetime import datetime, timedelta

from django.conf import settings


def _reference() -> tuple[int, datetime, int]:
    return (
        settings.CARDANO_EPOCH_REFERENCE_NUMBER,
        datetime.fromisoformat(settings.CARDANO_EPOCH_REFERENCE_START),
        settings.CARDANO_EPOCH_LENGTH_SECONDS,
    )


def epoch_at(moment: datetime) -> int:
    """The epoch running at `moment` (before the reference epoch: earlier numbers, floored)."""
    number, start, length = _reference()
    return number + int((moment - start).total_seconds() // length)


def epoch_start(epoch: int) -> datetime:
    number, start, length = _reference()
    return start + timedelta(seconds=(epoch - number) * length)
