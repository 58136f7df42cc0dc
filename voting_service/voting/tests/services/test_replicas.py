"""voting_service's replicas, fed the way the consumer feeds them."""

import dataclasses
import json
import uuid
from datetime import UTC, datetime

import pytest

from shared_events.core.consumer.apply import Action, IncomingMessage, apply_batch
from shared_events.core.consumer.registry import subscriptions
from voting.models import CauseReplica, PollReplica, PollTally, Voter

from ..factories import account_message, poll_message, poll_state

pytestmark = pytest.mark.django_db


def test_voting_follows_accounts_and_causes():
    assert subscriptions() == {
        "ACCOUNTS": ["accounts.account.*", "accounts.epoch_stake.*"],
        "POLLS": ["polls.cause.*", "polls.payout.*", "polls.poll.*", "polls.result.*"],
    }


def test_account_states_become_voters_newest_wins():
    account = uuid.uuid4()
    outcomes = apply_batch(
        [
            account_message(account, 1, verb="created"),
            account_message(account, 3, points=150),
            account_message(account, 2, points=120),
        ]
    )
    assert [o.action for o in outcomes] == [Action.ACK] * 3
    voter = Voter.objects.get(pk=account)
    assert (voter.points, voter.source_version, voter.can_vote) == (150, 3, True)


def test_every_field_of_a_voter_arrives_as_sent():
    # A batch of account states is one upsert (on PostgreSQL its rows travel as JSON): each
    # type must come back exactly, a null as a null, a time with its microseconds and offset.
    plain, odd = uuid.uuid4(), uuid.uuid4()
    apply_batch(
        [
            account_message(plain, 1, points=0),
            account_message(
                odd,
                2,
                points=2**62,
                is_active=False,
                role="operator",
                stake_address="stake1u\\\"quoted' ünïcode",
                joined_at="2026-03-04T05:06:07.123456+02:00",
            ),
        ]
    )
    voters = {v.pk: v for v in Voter.objects.all()}
    assert (voters[plain].points, voters[plain].stake_address, voters[plain].is_active) == (
        0,
        None,
        True,
    )
    got = voters[odd]
    assert (got.points, got.is_active, got.role, got.stake_address, got.source_version) == (
        2**62,
        False,
        "operator",
        "stake1u\\\"quoted' ünïcode",
        2,
    )
    assert got.joined_at == datetime.fromisoformat("2026-03-04T05:06:07.123456+02:00")


def test_a_deactivated_account_cannot_vote():
    account = uuid.uuid4()
    apply_batch([account_message(account, 1), account_message(account, 2, is_active=False)])
    assert not Voter.objects.get(pk=account).can_vote


def test_cause_states_become_cause_replicas():
    cause = uuid.uuid4()
    apply_batch(
        [
            IncomingMessage(
                "POLLS",
                1,
                f"polls.cause.{cause}",
                json.dumps(
                    {
                        "id": str(uuid.uuid4()),
                        "type": "polls.cause.created",
                        "schema_version": 1,
                        "aggregate_id": str(cause),
                        "version": 1,
                        "occurred_at": datetime.now(UTC).isoformat(),
                        "data": {
                            "id": str(cause),
                            "title": "Wells",
                            "description": "",
                            "url": "",
                            "image_url": "",
                            "is_active": True,
                        },
                    }
                ).encode(),
            )
        ]
    )
    assert CauseReplica.objects.get(pk=cause).title == "Wells"


def test_poll_states_become_poll_replicas_newest_wins():
    created = poll_state(causes=2, status="scheduled", title="Round 7")
    newer = dataclasses.replace(created, status="open", causes=[*created.causes, str(uuid.uuid4())])
    older = dataclasses.replace(created, status="draft", title="Draft title")
    outcomes = apply_batch(
        [poll_message(created, 1, verb="created"), poll_message(newer, 3), poll_message(older, 2)]
    )
    assert [o.action for o in outcomes] == [Action.ACK] * 3
    poll = PollReplica.objects.get(pk=created.id)
    assert (poll.title, poll.status, poll.source_version) == ("Round 7", "open", 3)
    assert poll.causes == newer.causes  # the order polls_service gave
    assert poll.opens_at == datetime.fromisoformat(created.opens_at)
    assert (poll.fund_lovelace, poll.results_visibility) == (10_000_000, "live")


def test_cause_ids_are_stored_in_canonical_form():
    cause = uuid.uuid4()
    state = poll_state(causes=[str(cause).upper()])
    apply_batch([poll_message(state, 1, verb="created")])
    assert PollReplica.objects.get(pk=state.id).causes == [str(cause)]


def test_a_deleted_poll_is_a_tombstone_an_older_state_cannot_revive():
    state = poll_state()
    apply_batch(
        [
            poll_message(state, 1, verb="created"),
            poll_message(dataclasses.replace(state, deleted=True), 3, verb="deleted"),
            poll_message(state, 2),
        ]
    )
    poll = PollReplica.objects.get(pk=state.id)
    assert (poll.is_deleted, poll.source_version) == (True, 3)


def test_a_redelivered_poll_event_has_no_effect():
    state = poll_state(status="closed")
    event_id = uuid.uuid4()
    apply_batch([poll_message(state, 1, event_id=event_id)])
    outcomes = apply_batch([poll_message(state, 1, event_id=event_id)])
    assert outcomes[0].note == "duplicate"
    assert PollTally.objects.get(pk=state.id).version == 1


def test_a_malformed_poll_state_is_retried_not_half_applied():
    bad = poll_state(causes=["not-a-uuid"])
    outcomes = apply_batch([poll_message(bad, 1)])
    assert outcomes[0].action is Action.NAK
    assert not PollReplica.objects.filter(pk=bad.id).exists()
