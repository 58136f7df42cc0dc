"""Reads for the notices: what a message of one kind says about one poll, and a delegator's
notices."""

from __future__ import annotations

import uuid
from decimal import Decimal
from typing import Any

from django.db.models import QuerySet

from shared_events.core.schemas.polls import PayoutStatus

from ..models import Account, Notice, NoticeCause, NoticePayout, NoticePoll, NoticeResult
from ..notifications.links import service_url

_LOVELACE_PER_ADA = Decimal(1_000_000)


def ada(lovelace: int) -> str:
    return f"{Decimal(lovelace) / _LOVELACE_PER_ADA:,.6f}".rstrip("0").rstrip(".")


def notice_context(*, poll_id: uuid.UUID, kind: str) -> dict[str, Any]:
    """The template context of a notice of `kind` about the poll."""
    poll = NoticePoll.objects.get(pk=poll_id)
    titles = dict(NoticeCause.objects.filter(pk__in=poll.causes).values_list("id", "title"))
    context: dict[str, Any] = {
        "poll": {
            "title": poll.title,
            "opens_at": poll.opens_at,
            "closes_at": poll.closes_at,
            "fund_ada": ada(poll.fund_lovelace),
            "url": service_url("polls", f"api/polls/{poll.pk}/"),
            "results_url": service_url("polls", f"api/polls/{poll.pk}/results/"),
        },
        "causes": [
            {"title": c.title, "url": c.url}
            for c in sorted(
                NoticeCause.objects.filter(pk__in=poll.causes, is_deleted=False),
                key=lambda c: poll.causes.index(str(c.pk)),
            )
        ],
    }
    result = NoticeResult.objects.filter(pk=poll_id, is_deleted=False).first()
    if result is not None:
        context["result"] = {
            "ballots": result.ballots,
            "fund_ada": ada(result.fund_lovelace),
            "causes": [
                {**c, "payout_ada": ada(c["payout_lovelace"])}
                for c in sorted(result.causes, key=lambda c: -c["payout_lovelace"])
            ],
        }
    payouts = NoticePayout.objects.filter(poll_id=poll_id, is_deleted=False).order_by("tx_hash")
    context["payouts"] = [
        {
            "tx_hash": p.tx_hash,
            "explorer_url": p.explorer_url,
            "status_text": PayoutStatus(p.status).label
            if p.status in PayoutStatus.values
            else p.status,
            "lines": [
                {
                    "title": titles.get(uuid.UUID(line["cause_id"]), line["cause_id"]),
                    "ada": ada(line["expected_lovelace"]),
                }
                for line in p.lines
            ],
        }
        for p in payouts
    ]
    return context


def notices_of(*, account: Account) -> QuerySet[Notice]:
    return Notice.objects.filter(account=account).order_by("-created_at")
