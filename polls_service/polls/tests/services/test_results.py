"""voting's tallies, fed the way the consumer feeds them, and the final results they produce."""

import uuid
from datetime import timedelta

import pytest

from polls import services
from polls.models import PollResult, PollStatus, TallyReplica
from polls.tests.factories import (
    closed_poll,
    closing_poll,
    make_cause,
    open_poll,
    poll_events,
    tally_message,
)
from shared_events.core.consumer.apply import Action, apply_batch
from shared_events.core.consumer.models import DeadLetter
from shared_events.core.consumer.registry import subscriptions

pytestmark = pytest.mark.django_db


def causes_of(poll):
    return list(poll.causes.order_by("poll_entries__position"))


def test_polls_follows_the_tallies_and_the_accounts():
    # Accounts for operator rights only (polls.services.accounts).
    assert subscriptions() == {"ACCOUNTS": ["accounts.account.*"], "VOTING": ["voting.tally.*"]}


def test_the_live_tally_is_stored_newest_wins():
    poll = open_poll()
    a, b = causes_of(poll)
    outcomes = apply_batch(
        [
            tally_message(poll, 1, {a: 5}, verb="created"),
            tally_message(poll, 3, {a: 5, b: 7}),
            tally_message(poll, 2, {a: 6}),
        ]
    )
    assert [o.action for o in outcomes] == [Action.ACK] * 3
    tally = TallyReplica.objects.get(pk=poll.pk)
    assert (tally.source_version, tally.total_points, tally.final) == (3, 12, False)
    assert tally.points_by_cause()[str(b.pk)] == {"points": 7, "voters": 1}
    poll.refresh_from_db()
    assert poll.status == PollStatus.OPEN


def test_a_final_tally_finalizes_a_closed_poll_in_the_same_transaction():
    poll = closed_poll(fund_lovelace=1_000_000, causes=3)
    a, b, c = causes_of(poll)
    apply_batch(
        [
            tally_message(
                poll, 7, {a: (2, 2), b: (1, 1), c: (0, 0)}, final=True, ballots=3, digest="ab" * 32
            )
        ]
    )
    poll.refresh_from_db()
    assert poll.status == PollStatus.FINALIZED
    assert (poll.total_points, poll.ballot_count, poll.ballots_digest, poll.no_payouts) == (
        3,
        3,
        "ab" * 32,
        False,
    )
    assert poll.finalized_at is not None
    results = {r.cause_id: r for r in PollResult.objects.filter(poll=poll)}
    # 1,000,000 x 2/3 = 666,666.67 and x 1/3 = 333,333.33: the leftover lovelace goes to a.
    assert [
        (
            results[x.pk].points,
            results[x.pk].voters,
            results[x.pk].payout_lovelace,
            str(results[x.pk].share),
        )
        for x in (a, b, c)
    ] == [(2, 2, 666_667, "0.666667"), (1, 1, 333_333, "0.333333"), (0, 0, 0, "0.000000")]
    assert sum(r.payout_lovelace for r in results.values()) == poll.fund_lovelace
    assert poll_events(poll)[-1]["data"]["status"] == "finalized"
    # The final results, once, in the same transaction: what each cause receives.
    (published,) = poll_events(poll, "polls.result")
    assert (published["type"], published["version"]) == ("polls.result.created", 1)
    assert published["data"]["fund_lovelace"] == 1_000_000
    assert published["data"]["ballots"] == 3
    assert [
        (c["cause_id"], c["title"], c["points"], c["voters"], c["payout_lovelace"])
        for c in published["data"]["causes"]
    ] == [
        (str(a.pk), a.title, 2, 2, 666_667),
        (str(b.pk), b.title, 1, 1, 333_333),
        (str(c.pk), c.title, 0, 0, 0),
    ]


def test_no_points_at_all_means_no_payouts_and_the_poll_says_so():
    poll = closed_poll()
    apply_batch([tally_message(poll, 2, {}, final=True, ballots=0)])
    poll.refresh_from_db()
    assert poll.status == PollStatus.FINALIZED and poll.no_payouts
    assert [r.payout_lovelace for r in PollResult.objects.filter(poll=poll)] == [0, 0]


def test_a_final_tally_before_the_close_finalizes_at_the_close():
    poll = open_poll()
    a, b = causes_of(poll)
    apply_batch([tally_message(poll, 4, {a: 1, b: 3}, final=True)])
    poll.refresh_from_db()
    assert poll.status == PollStatus.OPEN  # voting's clock ran ahead; polls has not closed
    poll = services.poll_close(poll=poll)
    assert poll.status == PollStatus.FINALIZED
    assert PollResult.objects.get(poll=poll, cause=b).payout_lovelace == 750_000


@pytest.mark.parametrize("late", [timedelta(0), timedelta(seconds=40)])
def test_a_closing_poll_is_finalized_at_the_closes_at_voting_enforced(late):
    """The closes_at polls finally shows is the one from voting's final tally: the requested
    one when voting heard in time, later when it heard late (every ballot it accepted before
    then counts, so polls must show that)."""
    poll = closing_poll()
    a, b = causes_of(poll)
    enforced = poll.closes_at + late
    apply_batch([tally_message(poll, 1, {a: 2}), tally_message(poll, 2, {a: 1, b: 3})])
    poll.refresh_from_db()
    assert poll.status == PollStatus.CLOSING  # live tallies confirm nothing
    apply_batch([tally_message(poll, 3, {a: 1, b: 3}, final=True, closes_at=enforced)])
    poll.refresh_from_db()
    assert (poll.status, poll.closes_at) == (PollStatus.FINALIZED, enforced)
    assert PollResult.objects.get(poll=poll, cause=b).payout_lovelace == 750_000
    data = poll_events(poll)[-1]["data"]
    assert (data["status"], data["closes_at"]) == ("finalized", enforced.isoformat())


def test_a_scheduled_close_records_voting_closes_at_too():
    poll = closed_poll()
    a, _ = causes_of(poll)
    earlier = poll.closes_at - timedelta(seconds=1)  # voting's clock a second ahead
    apply_batch([tally_message(poll, 1, {a: 1}, final=True, closes_at=earlier)])
    poll.refresh_from_db()
    assert (poll.status, poll.closes_at) == (PollStatus.FINALIZED, earlier)


def test_a_final_tally_without_closes_at_keeps_the_poll_s_own():
    poll = closing_poll()
    a, _ = causes_of(poll)
    closes_at = poll.closes_at
    apply_batch([tally_message(poll, 1, {a: 1}, final=True)])  # from a voting before the field
    poll.refresh_from_db()
    assert (poll.status, poll.closes_at) == (PollStatus.FINALIZED, closes_at)


def test_a_live_tally_of_a_closed_poll_does_not_finalize_it():
    poll = closed_poll()
    a, _ = causes_of(poll)
    apply_batch([tally_message(poll, 1, {a: 4})])
    poll.refresh_from_db()
    assert poll.status == PollStatus.CLOSED and not PollResult.objects.exists()


def test_redelivered_or_later_tallies_do_not_finalize_twice():
    poll = closed_poll()
    a, b = causes_of(poll)
    final = tally_message(poll, 5, {a: 1, b: 1}, final=True)
    apply_batch([final])
    finalized_at = type(poll).objects.get(pk=poll.pk).finalized_at
    events = len(poll_events(poll))
    outcomes = apply_batch(
        [
            final,
            tally_message(poll, 6, {a: 9, b: 1}, final=True),
            tally_message(poll, 4, {a: 1}, final=True),
        ]
    )
    assert [o.action for o in outcomes] == [Action.ACK] * 3
    poll.refresh_from_db()
    assert poll.finalized_at == finalized_at and len(poll_events(poll)) == events
    assert PollResult.objects.filter(poll=poll).count() == 2
    assert PollResult.objects.get(poll=poll, cause=a).payout_lovelace == 500_000


def test_a_cancelled_poll_is_never_finalized():
    poll = services.poll_cancel(poll=open_poll())
    a, b = causes_of(poll)
    apply_batch([tally_message(poll, 1, {a: 1, b: 1}, final=True)])
    poll.refresh_from_db()
    assert poll.status == PollStatus.CANCELLED and not PollResult.objects.exists()


def test_a_deleted_tally_is_a_tombstone_and_finalizes_nothing():
    poll = closed_poll()
    a, b = causes_of(poll)
    apply_batch(
        [
            tally_message(poll, 1, {a: 1}),
            tally_message(poll, 2, {a: 1, b: 1}, final=True, verb="deleted", deleted=True),
        ]
    )
    assert TallyReplica.objects.get(pk=poll.pk).is_deleted
    poll.refresh_from_db()
    assert poll.status == PollStatus.CLOSED


def test_a_tally_for_an_unknown_poll_is_stored_and_harmless():
    ghost = type("Ghost", (), {"pk": uuid.uuid4()})()
    outcomes = apply_batch([tally_message(ghost, 1, {uuid.uuid4(): 3}, final=True)])
    assert outcomes[0].action == Action.ACK
    assert TallyReplica.objects.filter(pk=ghost.pk, final=True).exists()


@pytest.mark.parametrize("bad", ["stranger", "wrong_total"])
def test_a_final_tally_that_does_not_fit_the_poll_is_retried_then_dead_lettered(bad, settings):
    poll = closed_poll()
    a, b = causes_of(poll)
    counts = {a: 1, b: 1, make_cause(): 1} if bad == "stranger" else {a: 1, b: 1}
    message = tally_message(
        poll, 3, counts, final=True, total_points=5 if bad == "wrong_total" else None
    )
    assert apply_batch([message])[0].action == Action.NAK
    # Rolled back as a whole: not even the replica changed.
    assert not TallyReplica.objects.filter(pk=poll.pk).exists()
    last_try = type(message)(
        **{
            **message.__dict__,
            "num_delivered": settings.SHARED_EVENTS.get("CONSUMER_MAX_DELIVERIES", 5),
        }
    )
    assert apply_batch([last_try])[0].action == Action.TERM
    assert DeadLetter.objects.filter(event_type="voting.tally.updated").exists()
    poll.refresh_from_db()
    assert poll.status == PollStatus.CLOSED


def test_a_bad_final_tally_never_stops_a_poll_from_closing():
    poll = open_poll()
    apply_batch([tally_message(poll, 1, {uuid.uuid4(): 3}, final=True)])  # stored: not closed
    poll = services.poll_close(poll=poll)
    assert poll.status == PollStatus.CLOSING and not PollResult.objects.exists()


# Voting power, as voting reports it on its tallies


def power(poll, **overrides) -> dict:
    return {
        "power_formula": poll.power_formula,
        "snapshot_epoch": poll.snapshot_epoch,
        "eligible": 40,
        "total_power": 1_000,
        **overrides,
    }


def test_live_tallies_carry_the_voting_power_newest_wins():
    poll = open_poll()
    a, b = causes_of(poll)
    apply_batch(
        [
            tally_message(poll, 1, {a: 5}, power=power(poll, eligible=39)),
            tally_message(poll, 3, {a: 5, b: 7}, power=power(poll)),
            tally_message(poll, 2, {a: 6}, power=power(poll, eligible=1, total_power=2)),
        ]
    )
    tally = TallyReplica.objects.get(pk=poll.pk)
    assert (tally.power_formula, tally.snapshot_epoch, tally.eligible, tally.total_power) == (
        "points",
        poll.snapshot_epoch,
        40,
        1_000,
    )


def test_a_final_tally_records_how_many_were_eligible_and_their_total_power():
    poll = closed_poll()
    a, b = causes_of(poll)
    apply_batch(
        [
            tally_message(
                poll,
                4,
                {a: 600, b: 150},
                final=True,
                power=power(poll, eligible=12, total_power=900),
            )
        ]
    )
    poll.refresh_from_db()
    assert poll.status == PollStatus.FINALIZED
    assert (poll.eligible_voters, poll.total_power, poll.total_points) == (12, 900, 750)


def test_a_final_tally_from_before_voting_power_finalizes_without_it():
    poll = closed_poll()
    a, b = causes_of(poll)
    apply_batch([tally_message(poll, 4, {a: 1, b: 1}, final=True)])
    poll.refresh_from_db()
    assert poll.status == PollStatus.FINALIZED
    assert (poll.eligible_voters, poll.total_power) == (None, None)
    tally = TallyReplica.objects.get(pk=poll.pk)
    assert (tally.power_formula, tally.snapshot_epoch, tally.eligible, tally.total_power) == (
        "",
        None,
        None,
        None,
    )


@pytest.mark.parametrize(
    "field, counted", [("power_formula", "stake"), ("snapshot_epoch", "one earlier")]
)
def test_a_final_tally_counted_with_other_power_is_dead_lettered_not_paid_out(
    field, counted, settings
):
    poll = closed_poll()
    a, b = causes_of(poll)
    said = power(poll, **{field: poll.snapshot_epoch - 1 if counted == "one earlier" else counted})
    message = tally_message(poll, 3, {a: 1, b: 1}, final=True, power=said)
    assert apply_batch([message])[0].action == Action.NAK
    last_try = type(message)(
        **{
            **message.__dict__,
            "num_delivered": settings.SHARED_EVENTS.get("CONSUMER_MAX_DELIVERIES", 5),
        }
    )
    assert apply_batch([last_try])[0].action == Action.TERM
    dead = DeadLetter.objects.get(event_type="voting.tally.updated")
    assert f"counted with {field}" in dead.error
    poll.refresh_from_db()
    assert poll.status == PollStatus.CLOSED and not PollResult.objects.exists()
