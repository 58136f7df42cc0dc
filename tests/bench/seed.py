"""Seeding the platform through its own service code (run as agents inside a service): many
delegators at once in accounts (a bulk write records their events like any other), and causes
plus an open poll in polls."""

from __future__ import annotations

from datetime import timedelta
from typing import Any


def agent_create_delegators(
    n: int, *, label: str, points: int = 1000, tokens: bool = False, chunk: int = 1000
) -> dict[str, Any]:
    from django.contrib.auth.hashers import make_password
    from django.db import transaction
    from django.utils import timezone

    from accounts.models import Account, Role
    from accounts.services import browser_token_issue
    from shared_events.kit.epochs import epoch_at
    from tests.bench.agent import progress

    unusable = make_password(None)
    now = timezone.now()
    epoch = epoch_at(now)
    created: list[Account] = []
    for start in range(0, n, chunk):
        with transaction.atomic():
            created += Account.objects.bulk_create(
                [
                    Account(
                        email=f"{label}-{i}@bench.example",
                        password=unusable,
                        role=Role.DELEGATOR,
                        points=points,
                        date_joined=now,
                        accrued_through_epoch=epoch,
                    )
                    for i in range(start, min(n, start + chunk))
                ]
            )
        progress(min(n, start + chunk), n, f"creating {label} delegators")
    result: dict[str, Any] = {"ids": [str(a.pk) for a in created]}
    if tokens:
        # Access tokens as accounts signs them (2 hours: the browser cookie's lifetime).
        result["tokens"] = [browser_token_issue(account=a)[0] for a in created]
    return result


def agent_create_poll(*, causes: int, closes_in: float) -> dict[str, Any]:
    from django.utils import timezone

    from polls.services import cause_create, poll_create, poll_schedule

    made = [
        cause_create(title=f"Bench cause {i + 1}", description="bench").pk for i in range(causes)
    ]
    now = timezone.now()
    poll = poll_create(
        title="Bench round",
        fund_lovelace=1_000_000_000,
        opens_at=now - timedelta(seconds=1),
        closes_at=now + timedelta(seconds=closes_in),
        causes=made,
    )
    poll_schedule(poll=poll)  # the scheduler opens it on its next tick (about a second)
    return {"poll": str(poll.pk), "causes": [str(c) for c in made]}
