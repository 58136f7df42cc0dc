"""Splitting a fund among causes in proportion to their points, in whole lovelace.

Pure arithmetic on integers (no floats, no database), so it is exact and easy to test:

1. each cause gets floor(fund x points / total points);
2. the lovelace left over (fewer than the number of causes) go one each to the causes with the
   largest remainders, ties broken by cause id in string order (of the UUID), so the same
   inputs always give the same split;
3. the payouts then sum exactly to the fund, and each is within one lovelace of its exact share.

With no points at all there is nothing to split by: every payout is 0 (the caller records that
the poll had no payouts).

A pure module beside the layers rather than in one: finalizing (`services.results`) pays out
with it and the live results (`selectors.results`) show shares with it, and a selector should
not depend on a service.
"""

from __future__ import annotations

from collections.abc import Hashable, Mapping
from decimal import ROUND_HALF_EVEN, Decimal
from typing import TypeVar

K = TypeVar("K", bound=Hashable)

SHARE_PLACES = Decimal("0.000001")


def split_fund(fund: int, points: Mapping[K, int]) -> dict[K, int]:
    """Payout per cause, in lovelace. Keys are cause ids (UUIDs or strings); `str(key)` orders
    ties."""
    if isinstance(fund, bool) or not isinstance(fund, int) or fund < 0:
        raise ValueError(f"the fund must be a non-negative integer, not {fund!r}")
    for key, value in points.items():
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            raise ValueError(f"points of {key} must be a non-negative integer, not {value!r}")
    if len({str(k) for k in points}) != len(points):
        raise ValueError("two causes have the same id as a string; ties could not be broken")
    total = sum(points.values())
    if total == 0:
        return {key: 0 for key in points}
    payouts: dict[K, int] = {}
    remainders: dict[K, int] = {}
    for key, value in points.items():
        payouts[key], remainders[key] = divmod(fund * value, total)
    leftover = fund - sum(payouts.values())
    # leftover = sum(remainders) / total < number of non-zero remainders, so only causes with a
    # remainder (and so with points) ever get one more lovelace.
    by_remainder = sorted(points, key=lambda k: (-remainders[k], str(k)))
    for key in by_remainder[:leftover]:
        payouts[key] += 1
    return payouts


def share_of(points: int, total: int) -> Decimal:
    """points / total as a fraction with six decimals (0 when there are no points)."""
    if total <= 0:
        return Decimal("0").quantize(SHARE_PLACES)
    return (Decimal(points) / Decimal(total)).quantize(SHARE_PLACES, rounding=ROUND_HALF_EVEN)
