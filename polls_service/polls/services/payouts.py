"""Payouts on chain: the operator records the transactions that paid a finalized poll's
causes, polls checks each through the chain source, and the poll becomes `paid` once every
cause with a payout is.

A record is pending until the transaction is `PAYOUT_CONFIRMATIONS` blocks deep; it then is
confirmed if it paid each of its causes' addresses at least their payout, a mismatch if not.
One never seen on chain within `PAYOUT_GIVE_UP_SECONDS` is not_found. Without a chain source
to ask (`file`, `none`) the operator confirms by hand, with a note, and the record says it was
not verified. A settled record never changes (`payout_models.Payout.save`).

The chain is asked outside any transaction (`payouts_check_pending`); what it said is applied
under the record's row lock (`payout_apply_check`), so a slow source holds no lock.
"""

from __future__ import annotations

import logging
import re
import uuid
from collections.abc import Sequence
from datetime import datetime, timedelta

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from shared_events.core.schemas.polls import PayoutStatus
from shared_events.kit.chain_clients.errors import ChainSourceError
from shared_events.kit.errors import Conflict, Refused

from ..chain import TxLookup, TxSeen, configured_tx_lookup
from ..models import Payout, PayoutLine, Poll, PollResult, PollStatus, lovelace_to_ada
from ..payout_models import PAYING_STATUSES, PayoutSettled
from ..selectors.payouts import causes_awaiting, causes_paid

log = logging.getLogger(__name__)

_TX_HASH = re.compile(r"^[0-9a-f]{64}$")
# One beat run checks at most this many pending records (oldest checked first).
CHECK_BATCH = 100


def tx_hash_checked(value: object) -> str:
    """The transaction id in lower case, or a ValidationError saying what it should be."""
    text = value.strip().lower() if isinstance(value, str) else ""
    if not _TX_HASH.match(text):
        shown = repr(value)[:80]
        raise ValidationError(
            {"tx_hash": [f"a transaction id is 64 hexadecimal digits; got {shown}"]}
        )
    return text


def chain_verifies() -> bool:
    return settings.CHAIN_SOURCE in ("blockfrost", "koios")


@transaction.atomic
def payout_record(
    *,
    poll: Poll,
    tx_hash: str,
    causes: Sequence[uuid.UUID] | None = None,
    recorded_by: uuid.UUID | None = None,
) -> Payout:
    """Record a transaction that pays `causes` of the finalized poll (default: every cause with
    a payout not yet paid nor awaiting another pending transaction). It starts pending."""
    tx_hash = tx_hash_checked(tx_hash)
    poll = Poll.objects.select_for_update().get(pk=poll.pk)
    if poll.status == PollStatus.PAID:
        raise Conflict(f"poll “{poll.title}” is paid: every cause's payout is confirmed")
    if poll.status != PollStatus.FINALIZED:
        raise Conflict(
            f"poll “{poll.title}” is {poll.status}: payouts are recorded once it is finalized"
        )
    if poll.no_payouts:
        raise Conflict(f"poll “{poll.title}” has no payouts: nobody allocated points")
    # A record given up as never seen does not count: the transaction may have landed since.
    earlier = (
        Payout.objects.filter(tx_hash=tx_hash)
        .exclude(status=PayoutStatus.NOT_FOUND)
        .select_related("poll")
        .first()
    )
    if earlier is not None:
        raise Conflict(
            f"transaction {tx_hash} is already recorded for poll “{earlier.poll.title}” "
            f"({earlier.status}, recorded {earlier.recorded_at.isoformat()})"
        )
    due = {
        r.cause_id: r
        for r in PollResult.objects.filter(poll=poll, payout_lovelace__gt=0)
        .select_related("cause")
        .order_by("position")
    }
    paid = causes_paid(poll=poll)
    awaiting = causes_awaiting(poll=poll)
    if causes is None:
        chosen = [c for c in due if c not in paid and c not in awaiting]
        if not chosen:
            raise Conflict(
                f"every cause of poll “{poll.title}” is paid or awaits a pending transaction"
            )
    else:
        chosen = list(dict.fromkeys(causes))
        if not chosen:
            raise ValidationError({"causes": ["name at least one cause, or leave causes out"]})
        for cause_id in chosen:
            if cause_id not in due:
                raise ValidationError(
                    {"causes": [f"{cause_id} is not a cause with a payout in this poll"]}
                )
            title = due[cause_id].cause.title
            if cause_id in paid:
                raise Conflict(f"“{title}” is already paid")
            if cause_id in awaiting:
                raise Conflict(f"“{title}” awaits pending transaction {awaiting[cause_id]}")
    lines = _lines(poll, [due[c] for c in chosen])
    payout = Payout(poll=poll, tx_hash=tx_hash, recorded_by=recorded_by)
    if not chain_verifies():
        payout.finding = (
            f"CHAIN_SOURCE={settings.CHAIN_SOURCE}: not verified on chain; "
            "confirm it by hand, with a note, once you have checked the payment"
        )
    payout.full_clean(exclude=["poll"])
    payout.save()
    for line in lines:
        line.payout = payout
    PayoutLine.objects.bulk_create(lines)
    payout.republish()  # the state with its lines
    log.info("payout %s recorded for poll %s (%d causes)", tx_hash, poll.pk, len(lines))
    return payout


def _lines(poll: Poll, results: list[PollResult]) -> list[PayoutLine]:
    missing = [r.cause.title for r in results if not r.cause.payout_address]
    if missing:
        raise ValidationError(
            {
                "causes": [
                    f"“{title}” has no payout address: set it on the cause first"
                    for title in missing
                ]
            }
        )
    addresses: dict[str, str] = {}
    for r in results:
        address = r.cause.payout_address.lower()
        if address in addresses:
            raise ValidationError(
                {
                    "causes": [
                        f"“{addresses[address]}” and “{r.cause.title}” have the same payout "
                        "address: record their transactions separately"
                    ]
                }
            )
        addresses[address] = r.cause.title
    return [
        PayoutLine(
            cause_id=r.cause_id,
            position=position,
            address=r.cause.payout_address.lower(),
            expected_lovelace=r.payout_lovelace,
        )
        for position, r in enumerate(results)
    ]


def payouts_check_pending(
    *, lookup: TxLookup | None = None, now: datetime | None = None
) -> dict[str, int]:
    """Ask the chain about every pending record (the beat task). Nothing to do without a
    chain source: those are confirmed by hand."""
    lookup = lookup or configured_tx_lookup()
    if lookup is None:
        return {"checked": 0}
    pending = list(
        Payout.objects.filter(status=PayoutStatus.PENDING)
        .order_by(F("checked_at").asc(nulls_first=True), "recorded_at")
        .values_list("pk", "tx_hash")[:CHECK_BATCH]
    )
    outcome: dict[str, int] = {"checked": len(pending)}
    for payout_id, tx_hash in pending:
        try:
            seen, error = lookup.transaction(tx_hash), None
        except ChainSourceError as problem:
            seen, error = None, str(problem)
            log.warning("payout %s not checked: %s", tx_hash, problem)
        status = payout_apply_check(payout_id=payout_id, seen=seen, error=error, now=now).status
        outcome[status] = outcome.get(status, 0) + 1
    return outcome


@transaction.atomic
def payout_apply_check(
    *,
    payout_id: uuid.UUID,
    seen: TxSeen | None,
    error: str | None = None,
    now: datetime | None = None,
) -> Payout:
    """Apply what the chain said of the record's transaction (`seen`: None when the source
    does not know it; `error` when the source could not say)."""
    payout = Payout.objects.select_for_update().select_related("poll").get(pk=payout_id)
    if payout.is_settled:
        return payout  # a check that raced a confirmation changes nothing
    now = now or timezone.now()
    payout.checked_at = now
    if error is not None:
        payout.finding = f"not checked: the chain source did not answer ({error})"
        payout.save(update_fields=["finding", "checked_at"])  # nothing others see changed
        return payout
    lines = list(payout.lines.select_related("cause").order_by("position"))
    required = settings.PAYOUT_CONFIRMATIONS
    given_up = now >= payout.recorded_at + timedelta(seconds=settings.PAYOUT_GIVE_UP_SECONDS)
    before = (payout.status, payout.confirmations, [line.found_lovelace for line in lines])
    if seen is None:
        if given_up:
            payout.status = PayoutStatus.NOT_FOUND
            payout.finding = (
                f"never seen on chain in the {_duration(settings.PAYOUT_GIVE_UP_SECONDS)} "
                "after it was recorded: record the transaction that paid (this one again "
                "once the chain shows it)"
            )
        else:
            payout.finding = "not on chain yet (or not yet seen by the chain source)"
    else:
        for line in lines:
            line.found_lovelace = seen.paid.get(line.address, 0)
        PayoutLine.objects.bulk_update(lines, ["found_lovelace"])
        payout.confirmations = seen.confirmations
        problems = [_shortfall(line, seen) for line in lines if not _in_full(line)]
        if seen.confirmations >= required:
            payout.status = PayoutStatus.MISMATCH if problems else PayoutStatus.CONFIRMED
            if not problems:
                payout.confirmed_at = now
            payout.finding = "; ".join(problems)
        elif given_up:
            payout.status = PayoutStatus.NOT_FOUND
            payout.finding = (
                f"only {seen.confirmations} of {required} confirmations in the "
                f"{_duration(settings.PAYOUT_GIVE_UP_SECONDS)} after it was recorded"
            )
        else:
            payout.finding = "; ".join(
                [f"{seen.confirmations} of {required} confirmations", *problems]
            )
    after = (payout.status, payout.confirmations, [line.found_lovelace for line in lines])
    if after == before:
        payout.save(update_fields=["finding", "checked_at"])
        return payout
    payout.save()
    if payout.status in PAYING_STATUSES:
        poll_mark_paid_if_complete(poll=payout.poll)
    return payout


def _in_full(line: PayoutLine) -> bool:
    return (line.found_lovelace or 0) >= line.expected_lovelace


def _shortfall(line: PayoutLine, seen: TxSeen) -> str:
    expected = f"expected {lovelace_to_ada(line.expected_lovelace):f} ada at {line.address}"
    found = line.found_lovelace or 0
    if found:
        return (
            f"“{line.cause.title}”: {expected}, found {lovelace_to_ada(found):f} ada "
            f"(short by {lovelace_to_ada(line.expected_lovelace - found):f})"
        )
    others = ", ".join(
        f"{address} {lovelace_to_ada(amount):f} ada"
        for address, amount in sorted(seen.paid.items())[:5]
    )
    return (
        f"“{line.cause.title}”: {expected}, found nothing paid to that address"
        f" (the transaction paid {others or 'no address'})"
    )


def _duration(seconds: int) -> str:
    return f"{seconds // 3600} h" if seconds >= 3600 else f"{seconds} s"


@transaction.atomic
def payout_confirm_by_hand(*, payout: Payout, note: str) -> Payout:
    """Confirm a pending record without the chain (the `file` mode, or none): the operator
    says, in the note, how they checked the payment; the record says it was not verified."""
    if chain_verifies():
        raise Refused(
            f"CHAIN_SOURCE={settings.CHAIN_SOURCE} verifies payouts on chain; confirming by "
            "hand is for the file mode (or none)"
        )
    note = (note or "").strip()
    if not note:
        raise ValidationError(
            {"note": ["say how you checked the payment: the note stays with the record"]}
        )
    payout = Payout.objects.select_for_update().select_related("poll").get(pk=payout.pk)
    if payout.is_settled:
        raise PayoutSettled(f"payout {payout.tx_hash} is {payout.status}; it no longer changes")
    payout.status = PayoutStatus.CONFIRMED_BY_HAND
    payout.verified = False
    payout.note = note
    payout.confirmed_at = timezone.now()
    payout.finding = "confirmed by hand; not verified on chain"
    payout.full_clean(exclude=["poll"])
    payout.save()
    poll_mark_paid_if_complete(poll=payout.poll)
    return payout


def poll_mark_paid_if_complete(*, poll: Poll) -> bool:
    """The poll becomes paid once every cause with a payout above 0 is paid. Returns whether
    it did now."""
    with transaction.atomic():
        poll = Poll.objects.select_for_update().get(pk=poll.pk)
        if poll.status != PollStatus.FINALIZED:
            return False
        due = set(
            PollResult.objects.filter(poll=poll, payout_lovelace__gt=0).values_list(
                "cause_id", flat=True
            )
        )
        if not due or not due <= causes_paid(poll=poll):
            return False
        poll.status = PollStatus.PAID
        poll.save()
        log.info("poll %s paid: every cause's payout is confirmed", poll.pk)
        return True
