"""Receipts: every revision gets one chained to the one before; the voter can recompute it from
their history, check what became of it, and find it among the receipts the final tally counted,
whose digest polls_service publishes with the results."""

import hashlib
import uuid
from datetime import UTC, datetime

import pytest
from rest_framework.test import APIClient

from voting.models import Ballot, PollTally
from voting.receipts import receipts_digest

from ..factories import ballot_body, client_for, make_poll, make_voter, set_poll

pytestmark = pytest.mark.django_db


def ballot_url(poll) -> str:
    return f"/voting/api/polls/{poll.pk}/ballot/"


def revisions(api, poll) -> list[dict]:
    response = api.get(f"/voting/api/polls/{poll.pk}/ballot/revisions/")
    assert response.status_code == 200, response.content
    return response.json()["results"]


def check(receipt: str, client=None) -> dict:
    response = (client or APIClient()).get(f"/voting/api/receipts/{receipt}/")
    assert response.status_code == 200, response.content
    return response.json()


def recompute(poll, revision: dict) -> str:
    """The receipt from the documented format alone (voting.receipts), written out again here
    so a change of the format cannot go unnoticed."""
    at = datetime.fromisoformat(revision["created_at"]).astimezone(UTC)
    allocations = ",".join(
        f"{a['cause']}={a['points']}"
        for a in sorted(revision["allocations"], key=lambda a: a["cause"])
    )
    text = (
        f"charity-vote-receipt/1 poll={poll.pk}\n"
        f"previous={revision['previous_receipt'] or 'none'}\n"
        f"revision={revision['number']} kind={revision['kind']} "
        f"at={at:%Y-%m-%dT%H:%M:%S.%f}Z\n"
        f"allocations={allocations}\n"
        f"nonce={revision['nonce']}\n"
    )
    return hashlib.sha256(text.encode()).hexdigest()


def test_every_revision_has_a_receipt_chained_to_the_one_before(api, poll):
    first = api.put(ballot_url(poll), ballot_body(poll, 60, 0, 40), format="json").json()
    second = api.put(ballot_url(poll), ballot_body(poll, 10, 90), format="json").json()
    assert api.delete(ballot_url(poll)).status_code == 204
    history = revisions(api, poll)
    assert [(r["number"], r["kind"]) for r in history] == [(1, "cast"), (2, "cast"), (3, "retract")]
    assert [r["receipt"] for r in history[:2]] == [first["receipt"], second["receipt"]]
    assert [r["previous_receipt"] for r in history] == [
        None,
        history[0]["receipt"],
        history[1]["receipt"],
    ]
    for revision in history:
        assert recompute(poll, revision) == revision["receipt"]
    assert len({r["receipt"] for r in history}) == 3
    assert [r["status"] for r in history] == ["retracted"] * 3  # the ballot was withdrawn
    api.put(ballot_url(poll), ballot_body(poll, 1), format="json")
    assert [r["status"] for r in revisions(api, poll)] == ["superseded"] * 3 + ["pending"]
    assert history[2]["allocations"] == [] and history[0]["allocations"][1]["points"] == 0


def test_equal_ballots_get_different_receipts(poll):
    receipts = set()
    for _ in range(2):
        cast = client_for(make_voter().pk).put(
            ballot_url(poll), ballot_body(poll, 5), format="json"
        )
        receipts.add(cast.json()["receipt"])
    assert len(receipts) == 2


def test_a_receipt_is_pending_then_superseded_or_counted_at_the_close(api, poll):
    other = client_for(make_voter().pk)
    replaced = api.put(ballot_url(poll), ballot_body(poll, 50), format="json").json()["receipt"]
    mine = api.put(ballot_url(poll), ballot_body(poll, 70, 30), format="json").json()["receipt"]
    theirs = other.put(ballot_url(poll), ballot_body(poll, 0, 0, 9), format="json").json()[
        "receipt"
    ]
    pending = check(mine)
    assert (pending["status"], pending["counted"], pending["receipts_digest"]) == (
        "pending",
        False,
        None,
    )
    assert check(replaced)["status"] == "superseded"
    closed = set_poll(poll, status="closed")
    counted = check(mine, client=api)
    assert (
        counted["status"],
        counted["counted"],
        counted["revision"],
        counted["latest_revision"],
        counted["poll"],
    ) == ("counted", True, 2, 2, str(poll.pk))
    tally = PollTally.objects.get(pk=poll.pk)
    assert counted["receipts_digest"] == tally.receipts_digest
    assert tally.receipts_digest == receipts_digest(poll_id=poll.pk, receipts=[mine, theirs])
    assert tally.event_state().receipts_digest == tally.receipts_digest
    assert check(replaced)["status"] == "superseded"
    assert closed.is_closed


def test_the_final_tally_lists_exactly_the_counted_receipts(api, poll):
    voters = [client_for(make_voter().pk) for _ in range(3)]
    receipts = [
        v.put(ballot_url(poll), ballot_body(poll, 10 * i + 1), format="json").json()["receipt"]
        for i, v in enumerate(voters)
    ]
    voters[1].delete(ballot_url(poll))  # retracted: not counted
    listed = api.get(f"/voting/api/polls/{poll.pk}/receipts/")
    assert listed.status_code == 403
    assert "once the poll has closed" in listed.json()["detail"]
    set_poll(poll, status="closed")
    listed = api.get(f"/voting/api/polls/{poll.pk}/receipts/")
    assert listed.status_code == 200, listed.content
    body = listed.json()
    assert body["results"] == sorted([receipts[0], receipts[2]]) and body["count"] == 2
    tally = api.get(f"/voting/api/polls/{poll.pk}/tally/").json()
    assert tally["final"] and tally["receipts_digest"] == receipts_digest(
        poll_id=poll.pk, receipts=body["results"]
    )
    assert check(receipts[1])["status"] == "retracted"
    page = api.get(f"/voting/api/polls/{poll.pk}/receipts/?limit=1&offset=1").json()
    assert page["results"] == body["results"][1:]


def test_a_cancelled_poll_counts_no_receipt(api, poll):
    receipt = api.put(ballot_url(poll), ballot_body(poll, 5), format="json").json()["receipt"]
    set_poll(poll, status="cancelled")
    assert check(receipt)["status"] == "cancelled"
    assert api.get(f"/voting/api/polls/{poll.pk}/receipts/").status_code == 403


def test_receipt_lookups_refuse_what_is_not_a_receipt():
    client = APIClient()
    bad = client.get(f"/voting/api/receipts/{'X' * 64}/")
    assert bad.status_code == 400
    assert bad.json()["receipt"] == ["A receipt is 64 lowercase hex digits."]
    assert client.get("/voting/api/receipts/abc/").status_code == 400
    unknown = client.get(f"/voting/api/receipts/{'0' * 64}/")
    assert unknown.status_code == 404


def test_revisions_are_only_ever_ones_own(api, poll):
    api.put(ballot_url(poll), ballot_body(poll, 5), format="json")
    stranger = client_for(make_voter().pk)
    mine = stranger.get(f"/voting/api/polls/{poll.pk}/ballot/revisions/")
    assert mine.status_code == 404 and mine.json()["detail"] == "You have no ballot in this poll."
    assert APIClient().get(f"/voting/api/polls/{poll.pk}/ballot/revisions/").status_code == 401
    assert api.get(f"/voting/api/polls/{uuid.uuid4()}/ballot/revisions/").status_code == 404


def test_the_ballot_keeps_its_latest_receipt(api, poll, voter):
    api.put(ballot_url(poll), ballot_body(poll, 5), format="json")
    api.delete(ballot_url(poll))
    ballot = Ballot.objects.get(voter=voter, poll=poll)
    assert ballot.receipt == ballot.revisions.get(number=2).receipt


def test_a_poll_closed_with_no_ballots_has_the_digest_of_no_receipts():
    poll = make_poll(causes=2)
    set_poll(poll, status="closed")
    assert (
        PollTally.objects.get(pk=poll.pk).receipts_digest
        == hashlib.sha256(f"charity-vote-receipts/1 poll={poll.pk}\n".encode()).hexdigest()
    )
