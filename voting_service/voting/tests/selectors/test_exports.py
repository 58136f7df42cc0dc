"""Operators download ballots as CSV; voters appear only under per-poll pseudonyms."""

import csv
import io

import pytest
from django.contrib.auth.models import User

from shared_events.core.schemas.polls import CauseState
from voting import services
from voting.selectors.exports import voter_pseudonym

from ..factories import make_poll, make_voter

pytestmark = pytest.mark.django_db


def test_the_ballots_csv_has_one_row_per_allocation_under_pseudonyms(client):
    client.force_login(User.objects.create_superuser("op", "op@example.org", "pw"))
    first, second = make_poll(title="Spring"), make_poll(title="Summer")
    alice, bob = make_voter(), make_voter()
    for poll in (first, second):
        services.ballot_cast(
            voter_id=alice.pk,
            poll_id=poll.pk,
            allocations=[
                {"cause": poll.causes[0], "points": 30},
                {"cause": poll.causes[1], "points": 20},
            ],
        )
    services.ballot_cast(
        voter_id=bob.pk, poll_id=first.pk, allocations=[{"cause": first.causes[2], "points": 7}]
    )
    services.ballot_retract(voter_id=bob.pk, poll_id=first.pk)

    response = client.post(
        "/voting/admin/voting/pollreplica/",
        {"action": "download_ballots", "_selected_action": [first.pk, second.pk]},
    )
    assert response.status_code == 200 and response["Content-Type"].startswith("text/csv")
    text = response.content.decode()
    assert str(alice.pk) not in text and str(bob.pk) not in text
    rows = list(csv.DictReader(io.StringIO(text)))
    assert [(r["poll"], r["points"]) for r in rows] == [
        ("Spring", "30"),
        ("Spring", "20"),
        ("Summer", "30"),
        ("Summer", "20"),
    ]
    in_spring = {r["voter"] for r in rows if r["poll"] == "Spring"}
    in_summer = {r["voter"] for r in rows if r["poll"] == "Summer"}
    assert in_spring == {voter_pseudonym(poll_id=first.pk, voter_id=alice.pk)}
    assert in_spring.isdisjoint(in_summer)  # the same voter, unlinkable across polls


def test_the_poll_page_charts_participation_over_time_and_points_per_cause(client):
    from voting.selectors.participation import participation_over_time

    client.force_login(User.objects.create_superuser("op", "op@example.org", "pw"))
    poll = make_poll(title="Autumn")
    voters = [make_voter() for _ in range(3)]
    for voter in voters:
        services.ballot_cast(
            voter_id=voter.pk,
            poll_id=poll.pk,
            allocations=[{"cause": poll.causes[0], "points": 10}],
        )
    services.ballot_cast(
        voter_id=voters[0].pk,
        poll_id=poll.pk,  # a re-vote: no new ballot
        allocations=[{"cause": poll.causes[1], "points": 10}],
    )
    services.ballot_retract(voter_id=voters[1].pk, poll_id=poll.pk)
    assert [n for _, n in participation_over_time(poll=poll)] == [1, 2, 3, 2]
    services.tallies_refresh_open()  # the points per cause are the tally task's running totals
    page = client.get(f"/voting/admin/voting/pollreplica/{poll.pk}/change/").content.decode()
    assert page.count('<svg xmlns="http://www.w3.org/2000/svg" role="img"') == 2
    assert "Ballots standing over time: 2 ballots" in page
    assert "10 points" in page  # each cause's bar is labelled with its count


def test_titles_that_would_run_as_formulas_are_exported_as_text(client):
    client.force_login(User.objects.create_superuser("op", "op@example.org", "pw"))
    poll = make_poll(title='=HYPERLINK("https://evil.example","Spring")')
    evil = ["@SUM(A1:A9)", "-2+3", "\t=1"]
    for cause_id, title in zip(poll.causes, evil, strict=True):
        services.cause_apply_state(
            version=1,
            state=CauseState(
                id=cause_id, title=title, description="", url="", image_url="", is_active=True
            ),
        )
    voter = make_voter()
    services.ballot_cast(
        voter_id=voter.pk,
        poll_id=poll.pk,
        allocations=[{"cause": cause, "points": 10} for cause in poll.causes],
    )

    response = client.post(
        "/voting/admin/voting/pollreplica/",
        {"action": "download_ballots", "_selected_action": [poll.pk]},
    )
    rows = list(csv.DictReader(io.StringIO(response.content.decode())))
    assert [(r["poll"], r["cause"], r["points"]) for r in rows] == [
        ('\'=HYPERLINK("https://evil.example","Spring")', f"'{title}", "10") for title in evil
    ]
