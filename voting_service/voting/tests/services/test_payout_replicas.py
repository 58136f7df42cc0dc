"""polls' final results and payout transactions replicated: applied through the consumer's
own path (apply_batch), newest wins, and read back per cause for the results page; a
delegator's history says when the round they voted in was paid."""

import json
import uuid
from datetime import UTC, datetime

import pytest

from shared_events.core.consumer.apply import Action, IncomingMessage, apply_batch
from shared_events.core.consumer.registry import subscriptions
from shared_events.core.schemas.polls import (
    CauseResult,
    PayoutLine,
    PayoutState,
    PollResultState,
)
from voting import selectors
from voting.models import PayoutReplica, PollResultReplica
from voting.tests.factories import (
    cast,
    client_for,
    make_poll,
    make_voter,
    poll_message,
    poll_state_of,
)

pytestmark = pytest.mark.django_db

TX_A = "a" * 64
TX_B = "b" * 64


def message(aggregate: str, state, version: int, aggregate_id: str) -> IncomingMessage:
    return IncomingMessage(
        "POLLS",
        version,
        f"{aggregate}.{aggregate_id}",
        json.dumps(
            {
                "id": str(uuid.uuid4()),
                "type": f"{aggregate}.{'created' if version == 1 else 'updated'}",
                "schema_version": 1,
                "aggregate_id": aggregate_id,
                "version": version,
                "occurred_at": datetime.now(UTC).isoformat(),
                "data": state.to_dict(),
            }
        ).encode(),
    )


def result_state(poll_id: str, causes: list[tuple[str, str, int]]) -> PollResultState:
    return PollResultState(
        poll_id=poll_id,
        fund_lovelace=sum(lovelace for _, _, lovelace in causes),
        causes=[
            CauseResult(cause_id=cause, title=title, points=1, voters=1, payout_lovelace=lovelace)
            for cause, title, lovelace in causes
        ],
        ballots=3,
        receipts_digest="cd" * 32,
        finalized_at="2026-12-07T12:00:00+00:00",
    )


def payout_state(poll_id, tx, status, lines, *, payout_id=None, verified=True) -> PayoutState:
    return PayoutState(
        id=payout_id or str(uuid.uuid4()),
        poll_id=poll_id,
        tx_hash=tx,
        status=status,
        verified=verified,
        note="" if verified else "seen on my node",
        lines=[
            PayoutLine(
                cause_id=cause, address=f"addr1{cause[:8]}", expected_lovelace=e, found_lovelace=f
            )
            for cause, e, f in lines
        ],
        confirmations=12 if status != "pending" else 2,
        explorer_url=f"https://cardanoscan.io/transaction/{tx}",
        recorded_at="2026-12-07T13:00:00+00:00",
        confirmed_at="2026-12-07T14:00:00+00:00" if status.startswith("confirmed") else None,
    )


def test_voting_follows_polls_results_and_payouts():
    assert {"polls.result.*", "polls.payout.*"} <= set(subscriptions()["POLLS"])


def test_results_and_payouts_are_replicated_newest_wins_and_shown_per_cause():
    poll_id, wells, schools, zero = (str(uuid.uuid4()) for _ in range(4))
    result = result_state(
        poll_id, [(wells, "Wells", 3_000_000), (schools, "Schools", 1_000_000), (zero, "Zero", 0)]
    )
    payout_id = str(uuid.uuid4())
    pending = payout_state(
        poll_id, TX_A, "pending", [(wells, 3_000_000, None)], payout_id=payout_id
    )
    confirmed = payout_state(
        poll_id, TX_A, "confirmed", [(wells, 3_000_000, 3_000_000)], payout_id=payout_id
    )
    outcomes = apply_batch(
        [
            message("polls.result", result, 1, poll_id),
            message("polls.payout", pending, 1, payout_id),
            message("polls.payout", confirmed, 3, payout_id),
            message("polls.payout", pending, 2, payout_id),  # late: older, no effect
            message("polls.result", result, 1, poll_id),  # redelivered
        ]
    )
    assert [o.action for o in outcomes] == [Action.ACK] * 5
    assert PollResultReplica.objects.get(pk=poll_id).ballots == 3
    assert PayoutReplica.objects.get(pk=payout_id).status == "confirmed"

    assert selectors.poll_payouts_per_cause(poll_id=uuid.UUID(poll_id)) == [
        {
            "cause_title": "Wells",
            "lovelace": 3_000_000,
            "tx_hash": TX_A,
            "status": "confirmed",
            "explorer_url": f"https://cardanoscan.io/transaction/{TX_A}",
        },
        {
            "cause_title": "Schools",
            "lovelace": 1_000_000,
            "tx_hash": "",
            "status": "unpaid",
            "explorer_url": "",
        },
        {
            "cause_title": "Zero",
            "lovelace": 0,
            "tx_hash": "",
            "status": "no_payout",
            "explorer_url": "",
        },
    ]


def test_a_mismatch_shows_per_cause_which_was_paid_and_a_later_payment_wins():
    poll_id, wells, schools = (str(uuid.uuid4()) for _ in range(3))
    result = result_state(poll_id, [(wells, "Wells", 2_000_000), (schools, "Schools", 1_000_000)])
    short = payout_state(
        poll_id, TX_A, "mismatch", [(wells, 2_000_000, 2_000_000), (schools, 1_000_000, 900_000)]
    )
    apply_batch(
        [message("polls.result", result, 1, poll_id), message("polls.payout", short, 4, short.id)]
    )
    per_cause = selectors.poll_payouts_per_cause(poll_id=uuid.UUID(poll_id))
    assert [(r["cause_title"], r["status"], r["tx_hash"]) for r in per_cause] == [
        ("Wells", "confirmed", TX_A),
        ("Schools", "mismatch", TX_A),
    ]
    by_hand = payout_state(
        poll_id, TX_B, "confirmed_by_hand", [(schools, 1_000_000, None)], verified=False
    )
    apply_batch([message("polls.payout", by_hand, 2, by_hand.id)])
    per_cause = selectors.poll_payouts_per_cause(poll_id=uuid.UUID(poll_id))
    assert [(r["cause_title"], r["status"], r["tx_hash"]) for r in per_cause] == [
        ("Wells", "confirmed", TX_A),
        ("Schools", "confirmed_by_hand", TX_B),
    ]


def test_no_results_yet_means_no_rows():
    assert selectors.poll_payouts_per_cause(poll_id=uuid.uuid4()) == []


def test_my_ballots_say_when_the_round_was_paid():
    voter = make_voter()
    poll = make_poll(causes=2)
    cast(voter, poll, 5, 5)
    client = client_for(voter.pk)
    (ballot,) = client.get("/voting/api/me/ballots/").json()["results"]
    assert (ballot["poll_status"], ballot["poll_paid"]) == ("open", False)

    for version, status in enumerate(("closed", "finalized", "paid"), start=2):
        apply_batch([poll_message(poll_state_of(poll, status=status), version)])
    (ballot,) = client.get("/voting/api/me/ballots/").json()["results"]
    assert (ballot["poll_status"], ballot["poll_paid"]) == ("paid", True)
