"""A poll's voting power settings: which formula voting applies, the minimum stake, the cap,
and the epoch whose stake distribution counts. Voting computes every delegator's power from
them once, when the poll opens, so they are fixed from then on (`services.polls.CHANGEABLE`).

The stake formulas (and a minimum stake) read the pool's stake distribution, which only a chain
source gives: in the open mode (`shared_events.kit.chain_mode`) they are refused, not quietly
turned into points.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, TypeGuard

from django.core.exceptions import ValidationError
from django.utils import timezone

from shared_events.core.schemas.polls import STAKE_FORMULAS, PowerFormula
from shared_events.kit.chain_mode import open_eligibility
from shared_events.kit.epochs import epoch_at

from ..models import MAX_LOVELACE

POWER_FIELDS = ("power_formula", "min_stake_lovelace", "cap_percent", "snapshot_epoch")
POWER_DEFAULTS: dict[str, Any] = {
    "power_formula": PowerFormula.POINTS.value,
    "min_stake_lovelace": 0,
    "cap_percent": None,
    "snapshot_epoch": None,
}
MAX_EPOCH = 2**31 - 1  # the column's limit; epochs are 5 days, so never near it
NEEDS_A_CHAIN_SOURCE = (
    "needs a chain source: this platform runs in the open mode "
    "(CHAIN_SOURCE=none or OPEN_ELIGIBILITY=true), where nobody's stake "
    "is known and every active delegator votes with their points."
)


def opening_epoch(opens_at: datetime) -> int:
    """The epoch a poll opens in: its snapshot epoch unless the operator chose an earlier one
    (within the column's range, whatever the epoch clock's settings make of far-off times)."""
    return min(max(epoch_at(opens_at), 0), MAX_EPOCH)


def _whole(value: Any) -> TypeGuard[int]:
    return isinstance(value, int) and not isinstance(value, bool)


def validate_power(values: dict[str, Any], errors: dict[str, list[str]]) -> None:
    """File what is wrong with the voting power settings in `values` into `errors`."""
    if values.get("power_formula") not in PowerFormula.values:
        errors["power_formula"] = [f"Use one of: {', '.join(PowerFormula.values)}."]
    minimum = values.get("min_stake_lovelace")
    if not _whole(minimum) or minimum < 0:
        errors["min_stake_lovelace"] = [
            "The minimum stake must be a whole number of lovelace, 0 or more."
        ]
    elif minimum > MAX_LOVELACE:
        errors["min_stake_lovelace"] = [f"The minimum stake cannot exceed {MAX_LOVELACE} lovelace."]
    cap = values.get("cap_percent")
    if cap is not None and (not _whole(cap) or not 1 <= cap <= 100):
        errors["cap_percent"] = [
            "The cap is a whole percentage from 1 to 100 (or none, for no cap)."
        ]
    epoch = values.get("snapshot_epoch")
    opens_at = values.get("opens_at")
    if epoch is None:
        return
    if not _whole(epoch) or not 0 <= epoch <= MAX_EPOCH:
        errors["snapshot_epoch"] = ["The snapshot epoch must be an epoch number, 0 or more."]
    elif isinstance(opens_at, datetime) and timezone.is_aware(opens_at):
        latest = opening_epoch(opens_at)
        if epoch > latest:
            # Power is frozen when the poll opens: a later epoch's distribution is not known
            # then, so nobody could vote until it is.
            errors["snapshot_epoch"] = [
                f"The snapshot epoch cannot be after the epoch the poll opens in ({latest}): "
                "voting power is computed when the poll opens."
            ]


def refuse_in_open_mode(values: dict[str, Any], *, chosen: set[str]) -> None:
    """In the open mode, a stake formula or a minimum stake among the `chosen` fields is a
    400 naming the field."""
    if not open_eligibility():
        return
    errors = {}
    if "power_formula" in chosen and values.get("power_formula") in STAKE_FORMULAS:
        errors["power_formula"] = [f"“{values['power_formula']}” {NEEDS_A_CHAIN_SOURCE}"]
    if "min_stake_lovelace" in chosen and values.get("min_stake_lovelace"):
        errors["min_stake_lovelace"] = [f"A minimum stake {NEEDS_A_CHAIN_SOURCE}"]
    if errors:
        raise ValidationError(errors)
