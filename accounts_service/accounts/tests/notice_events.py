"""Events of polls and voting as accounts' consumer receives them, applied through the real
consumer path (inbox, version guard, one transaction)."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime, timedelta
from itertools import count

from shared_events.core.consumer.apply import Action, IncomingMessage, apply_batch

_seq = count(1)


def message(
    aggregate: str,
    aggregate_id: str,
    version: int,
    data: dict,
    *,
    verb: str = "updated",
    event_id: uuid.UUID | None = None,
) -> IncomingMessage:
    producer = aggregate.split(".")[0]
    return IncomingMessage(
        producer.upper(),
        next(_seq),
        f"{aggregate}.{aggregate_id}",
        json.dumps(
            {
                "id": str(event_id or uuid.uuid4()),
                "type": f"{aggregate}.{verb}",
                "schema_version": 1,
                "aggregate_id": aggregate_id,
                "version": version,
                "occurred_at": datetime.now(UTC).isoformat(),
                "data": data,
            }
        ).encode(),
    )


def deliver(*messages: IncomingMessage) -> None:
    outcomes = apply_batch(list(messages))
    assert all(o.action is Action.ACK for o in outcomes), outcomes


def cause(title: str = "Clean water", *, url: str = "https://water.example") -> dict:
    return {
        "id": str(uuid.uuid4()),
        "title": title,
        "description": "",
        "url": url,
        "image_url": "",
        "is_active": True,
    }


def poll(
    causes: list[dict], *, status: str = "open", closes_in: timedelta = timedelta(days=3), **kw
) -> dict:
    now = datetime.now(UTC)
    return {
        "id": kw.pop("id", str(uuid.uuid4())),
        "title": kw.pop("title", "Round 7 & friends"),
        "description": "",
        "fund_lovelace": kw.pop("fund_lovelace", 1_000_000_000),
        "opens_at": (now - timedelta(hours=1)).isoformat(),
        "closes_at": (now + closes_in).isoformat(),
        "status": status,
        "results_visibility": "live",
        "causes": [c["id"] for c in causes],
        **kw,
    }


def result(poll_state: dict, causes: list[dict], payouts: list[int]) -> dict:
    return {
        "poll_id": poll_state["id"],
        "fund_lovelace": poll_state["fund_lovelace"],
        "causes": [
            {
                "cause_id": c["id"],
                "title": c["title"],
                "points": p // 1_000_000,
                "voters": 1,
                "payout_lovelace": p,
            }
            for c, p in zip(causes, payouts, strict=True)
        ],
        "ballots": 2,
        "receipts_digest": None,
        "finalized_at": datetime.now(UTC).isoformat(),
    }


def payout(
    poll_state: dict, causes: list[dict], amounts: list[int], *, status: str = "confirmed"
) -> dict:
    return {
        "id": str(uuid.uuid4()),
        "poll_id": poll_state["id"],
        "tx_hash": "ab" * 32,
        "status": status,
        "verified": True,
        "note": "",
        "lines": [
            {
                "cause_id": c["id"],
                "address": "addr_test1qz",
                "expected_lovelace": a,
                "found_lovelace": a,
            }
            for c, a in zip(causes, amounts, strict=True)
        ],
        "confirmations": 12,
        "explorer_url": f"https://explorer.example/tx/{'ab' * 32}",
        "recorded_at": datetime.now(UTC).isoformat(),
        "confirmed_at": datetime.now(UTC).isoformat(),
    }


def participation(poll_id: str, account_id: str, voted: bool) -> dict:
    return {
        "poll_id": poll_id,
        "account_id": account_id,
        "voted": voted,
        "at": datetime.now(UTC).isoformat(),
    }
