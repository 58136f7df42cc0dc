"""Writes to polls: creating and changing them, and the operator's transitions.

The state machine: draft -> scheduled -> open -> closed -> finalized (closing instead of closed
when an operator closes it early), and cancelled from draft, scheduled or open. Opening and
closing on time is `services.schedule`; finalizing from voting's final tally is
`services.results`. Every rule raises a ValidationError filed under the field it
is about (the API answers 400 with it, the admin shows it).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from ..models import MAX_LOVELACE, Cause, Poll, PollCause, PollStatus, ResultsVisibility
from ..signals import causes_batch
from .power import POWER_DEFAULTS, POWER_FIELDS, refuse_in_open_mode, validate_power

POLL_FIELDS = (
    "title",
    "description",
    "fund_lovelace",
    "opens_at",
    "closes_at",
    "results_visibility",
    *POWER_FIELDS,
)
_TEXT_FIELDS = frozenset({"title", "description"})
# What may still change in each state: the offer (causes, fund, times, visibility, voting power)
# is fixed once voters can see it, the wording is not; finalized, paid and cancelled are terminal.
CHANGEABLE = {
    PollStatus.DRAFT: frozenset({*POLL_FIELDS, "causes"}),
    PollStatus.SCHEDULED: frozenset({*POLL_FIELDS, "causes"}),
    PollStatus.OPEN: _TEXT_FIELDS,
    PollStatus.CLOSING: _TEXT_FIELDS,
    PollStatus.CLOSED: _TEXT_FIELDS,
    PollStatus.FINALIZED: frozenset(),
    PollStatus.PAID: frozenset(),
    PollStatus.CANCELLED: frozenset(),
}
MIN_CAUSES_TO_SCHEDULE = 2

CauseRef = Cause | uuid.UUID | str


def _cause_id(ref: CauseRef) -> uuid.UUID:
    if isinstance(ref, Cause):
        return ref.pk
    try:
        return ref if isinstance(ref, uuid.UUID) else uuid.UUID(str(ref))
    except ValueError:
        raise ValidationError({"causes": [f"“{ref}” is not a cause id."]}) from None


def _validate_values(values: dict[str, Any]) -> None:
    """The rules on a poll's own fields, all checked at once so a form shows every problem."""
    errors: dict[str, list[str]] = {}
    title = values.get("title")
    if not isinstance(title, str) or not title.strip():
        errors["title"] = ["Give the poll a title."]
    elif len(title) > 200:
        errors["title"] = ["At most 200 characters."]
    fund = values.get("fund_lovelace")
    if isinstance(fund, bool) or not isinstance(fund, int) or fund <= 0:
        errors["fund_lovelace"] = ["The fund must be a positive whole number of lovelace."]
    elif fund > MAX_LOVELACE:
        errors["fund_lovelace"] = [f"The fund cannot exceed {MAX_LOVELACE} lovelace."]
    for name in ("opens_at", "closes_at"):
        value = values.get(name)
        if not isinstance(value, datetime):
            errors[name] = ["Give a date and time."]
        elif timezone.is_naive(value):
            errors[name] = ["Give a time zone with the time."]
    if "opens_at" not in errors and "closes_at" not in errors:
        if values["opens_at"] >= values["closes_at"]:
            errors["closes_at"] = ["The poll must close after it opens."]
    if values.get("results_visibility") not in ResultsVisibility.values:
        errors["results_visibility"] = [f"Use one of: {', '.join(ResultsVisibility.values)}."]
    validate_power(values, errors)
    if errors:
        raise ValidationError(errors)


def _load_causes(refs: Iterable[CauseRef], *, lock: bool) -> list[Cause]:
    """The causes, in the order given. Locked when about to be stored, so a cause cannot be
    deactivated between this check and the commit (`cause_update` locks it too)."""
    ids = [_cause_id(ref) for ref in refs]
    duplicates = {str(i) for i in ids if ids.count(i) > 1}
    if duplicates:
        raise ValidationError(
            {"causes": [f"Cause {d} is listed twice." for d in sorted(duplicates)]}
        )
    queryset = Cause.objects.filter(pk__in=ids)
    found = {c.pk: c for c in (queryset.select_for_update() if lock else queryset)}
    missing = [str(i) for i in ids if i not in found]
    if missing:
        raise ValidationError({"causes": [f"No cause with id {m}." for m in missing]})
    causes = [found[i] for i in ids]
    inactive = [c for c in causes if not c.is_active]
    if inactive:
        raise ValidationError(
            {
                "causes": [
                    f"“{c.title}” is inactive; reactivate it to offer it in a poll."
                    for c in inactive
                ]
            }
        )
    return causes


def _validate_schedulable(*, closes_at: datetime, causes: Sequence[Cause], now: datetime) -> None:
    errors: dict[str, list[str]] = {}
    active = [c for c in causes if c.is_active]
    if len(active) < MIN_CAUSES_TO_SCHEDULE:
        errors["causes"] = [
            f"A poll needs at least {MIN_CAUSES_TO_SCHEDULE} active causes to be "
            f"scheduled; it has {len(active)}."
        ]
    elif len(active) < len(causes):
        errors["causes"] = [
            "Every cause on offer must be active: remove or reactivate "
            + ", ".join(f"“{c.title}”" for c in causes if not c.is_active)
            + "."
        ]
    if closes_at <= now:
        errors["closes_at"] = ["The poll must close in the future to be scheduled."]
    if errors:
        raise ValidationError(errors)


def _current_causes(poll: Poll) -> list[Cause]:
    return list(Cause.objects.filter(poll_entries__poll=poll).order_by("poll_entries__position"))


def poll_check_changes(
    *, poll: Poll | None, changes: dict[str, Any], lock: bool = False
) -> list[Cause] | None:
    """Every rule a change (or, with `poll=None`, a new poll) must meet, without writing.
    Returns the new causes if `changes` has any. The admin's forms call it to show errors next
    to their fields; the services below call it before they write."""
    unknown = set(changes) - {*POLL_FIELDS, "causes"}
    if unknown:
        raise TypeError(f"not poll fields: {sorted(unknown)}")
    if poll is not None:
        current = {name: getattr(poll, name) for name in POLL_FIELDS}
        changed = {
            name for name, value in changes.items() if name != "causes" and value != current[name]
        }
        if "causes" in changes and [_cause_id(c) for c in changes["causes"]] != poll.cause_ids():
            changed.add("causes")
        refused = sorted(changed - CHANGEABLE[PollStatus(poll.status)])
        if refused:
            reason = (
                "A {status} poll cannot be changed."
                if poll.is_terminal
                else "This cannot change once the poll is {status}."
            )
            raise ValidationError({name: [reason.format(status=poll.status)] for name in refused})
    else:
        current = {
            "description": "",
            "results_visibility": ResultsVisibility.LIVE,
            **POWER_DEFAULTS,
        }
        changed = set(changes) - {"causes"}
    values = {**current, **{k: v for k, v in changes.items() if k != "causes"}}
    _validate_values(values)
    refuse_in_open_mode(values, chosen=changed)
    causes = _load_causes(changes["causes"], lock=lock) if "causes" in changes else None
    if poll is not None and poll.status == PollStatus.SCHEDULED:
        # A scheduled poll must stay schedulable through its changes.
        _validate_schedulable(
            closes_at=values["closes_at"],
            causes=causes if causes is not None else _current_causes(poll),
            now=timezone.now(),
        )
    return causes


def _replace_causes(poll: Poll, causes: Sequence[Cause]) -> None:
    # Batched: the caller saves the poll once afterwards, which publishes the new list.
    with causes_batch(poll):
        PollCause.objects.filter(poll=poll).delete()
        for position, cause in enumerate(causes):
            PollCause(poll=poll, cause=cause, position=position).save()


def _locked(poll: Poll) -> Poll:
    return Poll.objects.select_for_update().get(pk=poll.pk)


@transaction.atomic
def poll_create(
    *,
    title: str,
    fund_lovelace: int,
    opens_at: datetime,
    closes_at: datetime,
    description: str = "",
    results_visibility: str = ResultsVisibility.LIVE,
    causes: Sequence[CauseRef] = (),
    **power: Any,
) -> Poll:
    """A new poll, in draft. `power`: any of POWER_FIELDS (their defaults otherwise)."""
    unknown = set(power) - set(POWER_FIELDS)
    if unknown:
        raise TypeError(f"not poll fields: {sorted(unknown)}")
    values = {
        "title": title,
        "description": description,
        "fund_lovelace": fund_lovelace,
        "opens_at": opens_at,
        "closes_at": closes_at,
        "results_visibility": results_visibility,
        **POWER_DEFAULTS,
        **power,
    }
    offered = poll_check_changes(poll=None, changes={**values, "causes": causes}, lock=True)
    poll = Poll(**values)
    poll.full_clean(exclude=["causes"])
    poll.save()
    if offered:
        _replace_causes(poll, offered)
        poll.republish()
    return poll


@transaction.atomic
def poll_update(*, poll: Poll, **changes: Any) -> Poll:
    """Change a poll's fields and/or its causes (`causes=[ids]`, in display order): one event
    for the whole change, none if nothing changed."""
    poll = _locked(poll)
    causes = poll_check_changes(poll=poll, changes=changes, lock=True)
    changed = False
    for name in POLL_FIELDS:
        if name in changes and changes[name] != getattr(poll, name):
            setattr(poll, name, changes[name])
            changed = True
    if causes is not None and [c.pk for c in causes] != poll.cause_ids():
        _replace_causes(poll, causes)
        changed = True
    if changed:
        poll.full_clean(exclude=["causes"])
        poll.save()  # its event reads the causes just stored
    return poll


def _refuse_transition(poll: Poll, action: str, allowed: Sequence[str], hint: str = "") -> None:
    if poll.status not in allowed:
        states = " or ".join(
            [", ".join(allowed[:-1]), allowed[-1]] if len(allowed) > 1 else allowed
        )
        raise ValidationError(
            {
                "status": [
                    f"Only a {states} poll can be {action}; this one is {poll.status}."
                    + (f" {hint}" if hint else "")
                ]
            }
        )


@transaction.atomic
def poll_schedule(*, poll: Poll) -> Poll:
    """draft -> scheduled: from then on the scheduler opens it at opens_at."""
    poll = _locked(poll)
    _refuse_transition(poll, "scheduled", [PollStatus.DRAFT])
    causes = list(
        Cause.objects.select_for_update()
        .filter(poll_entries__poll=poll)
        .order_by("poll_entries__position")
    )
    _validate_schedulable(closes_at=poll.closes_at, causes=causes, now=timezone.now())
    # A draft made in chain mode cannot go ahead in the open mode: nobody's stake is known.
    refuse_in_open_mode({f: getattr(poll, f) for f in POWER_FIELDS}, chosen=set(POWER_FIELDS))
    poll.status = PollStatus.SCHEDULED
    poll.save(update_fields=["status", "updated_at"])
    return poll


@transaction.atomic
def poll_close(*, poll: Poll) -> Poll:
    """An operator closes an open poll early. It becomes `closing`, with closes_at set
    POLL_CLOSE_GRACE_SECONDS ahead (never later than it was): voting, hearing of it before
    then, stops taking ballots at that instant. Voting has the last word, since only it knows
    which ballots it accepted: its final tally says when it stopped (later, if it heard late),
    and finalizing records that as closes_at (`services.results`)."""
    from .results import poll_finalize_if_ready

    poll = _locked(poll)
    _refuse_transition(poll, "closed", [PollStatus.OPEN], "Cancel a poll that has not opened yet.")
    requested = timezone.now() + timedelta(seconds=settings.POLL_CLOSE_GRACE_SECONDS)
    # The check constraint wants opens_at < closes_at, even when closed the instant it opened.
    poll.closes_at = min(poll.closes_at, max(requested, poll.opens_at + timedelta(microseconds=1)))
    poll.status = PollStatus.CLOSING
    poll.save(update_fields=["status", "closes_at", "updated_at"])
    poll_finalize_if_ready(poll_id=poll.pk)
    poll.refresh_from_db()
    return poll


@transaction.atomic
def poll_cancel(*, poll: Poll) -> Poll:
    poll = _locked(poll)
    _refuse_transition(poll, "cancelled", [PollStatus.DRAFT, PollStatus.SCHEDULED, PollStatus.OPEN])
    poll.status = PollStatus.CANCELLED
    poll.save(update_fields=["status", "updated_at"])
    return poll
