"""The delegators' pages: who may see them, what they show from the replicas and ballots, and
that the writes they lead to are the API's (the ballot page only renders the form)."""

from __future__ import annotations

import re
import uuid
from datetime import timedelta
from urllib.parse import parse_qs, urlparse

import pytest
from django.test import Client

from shared_events.core.schemas.polls import CauseState
from shared_events.kit.testing import make_token
from voting import services

from ..factories import ballot_body, client_for, make_poll, make_voter, set_poll

pytestmark = pytest.mark.django_db
COOKIE = "charity_vote_access"


def browser_for(account_id) -> Client:
    browser = Client()
    browser.cookies[COOKIE] = make_token(account_id)
    return browser


def name_causes(poll, *titles: str) -> None:
    for cause_id, title in zip(poll.causes, titles, strict=True):
        services.cause_apply_state(
            state=CauseState(
                id=str(cause_id),
                title=title,
                description=f"About {title}",
                url=f"https://example.org/{title.lower()}",
                image_url=f"https://example.org/{title.lower()}.png",
                is_active=True,
            ),
            version=1,
        )


@pytest.mark.parametrize(
    "path", ["/voting/", "/voting/history/", "/voting/results/", "/voting/polls/{poll}/"]
)
def test_nobody_signed_in_is_sent_to_accounts_sign_in_and_back(settings, poll, path):
    settings.SERVICE_PUBLIC_URLS = {
        "accounts": "http://127.0.0.1:8001",
        "polls": "",
        "voting": "http://127.0.0.1:8003",
    }
    path = path.format(poll=poll.pk)
    response = Client().get(path)
    assert response.status_code == 302
    target = urlparse(response["Location"])
    assert (target.scheme, target.netloc, target.path) == (
        "http",
        "127.0.0.1:8001",
        "/accounts/signin/",
    )
    assert parse_qs(target.query)["next"] == [f"http://127.0.0.1:8003{path}"]


def test_an_expired_sign_in_is_nobody():
    browser = Client()
    browser.cookies[COOKIE] = make_token(uuid.uuid4(), ttl=-60)
    response = browser.get("/voting/")
    assert response.status_code == 302 and "/accounts/signin/?next=" in response["Location"]


def test_open_polls_show_causes_time_left_and_my_power(voter):
    poll = make_poll(causes=2, title="Spring round")
    name_causes(poll, "Wells", "Meals")
    make_poll(causes=1, status="scheduled", opens_in=timedelta(hours=1), title="Later round")
    make_poll(causes=1, status="closed", closes_in=timedelta(hours=-1), title="Old round")
    page = browser_for(voter.pk).get("/voting/")
    assert page.status_code == 200
    html = page.content.decode()
    assert "Spring round" in html and "Later round" not in html and "Old round" not in html
    assert "Wells" in html and "About Meals" in html
    assert 'src="https://example.org/wells.png"' in html
    assert 'href="https://example.org/meals"' in html
    assert 'data-power="100"' in html  # the open mode: my points, frozen now as the API does
    assert re.search(r"\((59\xa0minutes|1\xa0hour) left\)", html)
    assert f'<time datetime="{poll.closes_at.isoformat()}' in html
    assert page["Cache-Control"].startswith("max-age=0")


def test_a_voter_not_known_here_yet_is_told_so(poll):
    html = browser_for(uuid.uuid4()).get("/voting/").content.decode()
    assert "not known here yet" in html


def test_the_ballot_page_holds_my_current_ballot_and_the_api_it_writes_to(voter, poll):
    name_causes(poll, "Wells", "Meals", "Books")
    client_for(voter.pk).put(
        f"/voting/api/polls/{poll.pk}/ballot/", ballot_body(poll, 60, 0, 40), format="json"
    )
    page = browser_for(voter.pk).get(f"/voting/polls/{poll.pk}/")
    html = page.content.decode()
    assert page.status_code == 200
    assert f'data-ballot-api="/voting/api/polls/{poll.pk}/ballot/"' in html
    values = re.findall(
        r'type="number" id="points-\d" name="points-([0-9a-f-]+)"[^>]*value="(\d+)"', html
    )
    assert values == [
        (str(poll.causes[0]), "60"),
        (str(poll.causes[1]), "0"),
        (str(poll.causes[2]), "40"),
    ]
    assert html.count('type="range"') == 3
    for index in range(3):  # every field labelled
        assert f'<label id="label-{index}" for="points-{index}">' in html
    assert "Retract my ballot" in html and 'name="csrf-token"' in html


def test_a_closed_poll_takes_no_ballot_on_its_page(voter, poll):
    closed = set_poll(poll, status="closed")
    html = browser_for(voter.pk).get(f"/voting/polls/{closed.pk}/").content.decode()
    assert "does not take ballots now" in html and 'id="ballot"' not in html


def test_an_unknown_or_draft_poll_is_a_404_page(voter):
    draft = make_poll(causes=1, status="draft")
    browser = browser_for(voter.pk)
    assert browser.get(f"/voting/polls/{uuid.uuid4()}/").status_code == 404
    assert browser.get(f"/voting/polls/{draft.pk}/").status_code == 404
    assert browser.get(f"/voting/polls/{draft.pk}/results/").status_code == 404


def test_history_lists_every_revision_with_its_receipt_and_status(voter, poll):
    api = client_for(voter.pk)
    url = f"/voting/api/polls/{poll.pk}/ballot/"
    first = api.put(url, ballot_body(poll, 60, 0, 40), format="json").json()["receipt"]
    second = api.put(url, ballot_body(poll, 10, 90), format="json").json()["receipt"]
    other = make_poll(causes=1, title="Second round")
    third = api.put(f"/voting/api/polls/{other.pk}/ballot/", ballot_body(other, 5), format="json")
    assert api.delete(f"/voting/api/polls/{other.pk}/ballot/").status_code == 204
    html = browser_for(voter.pk).get("/voting/history/").content.decode()
    rows = re.findall(
        r'<li class="card revision status-(\w+)">.*?<code class="receipt-value">(\w+)</code>',
        html,
        re.S,
    )
    statuses = dict((receipt, status) for status, receipt in rows)
    assert statuses[first] == "superseded" and statuses[second] == "pending"
    assert statuses[third.json()["receipt"]] == "retracted"
    assert len(rows) == 4  # and the retraction's own receipt
    assert 'href="/accounts/me/"' in html


def test_history_shows_counted_after_the_close(voter, poll):
    api = client_for(voter.pk)
    receipt = api.put(
        f"/voting/api/polls/{poll.pk}/ballot/", ballot_body(poll, 1), format="json"
    ).json()["receipt"]
    set_poll(poll, status="closed")
    html = browser_for(voter.pk).get("/voting/history/").content.decode()
    assert re.search(rf'<li class="card revision status-counted">.*?{receipt}', html, re.S)


def test_history_and_past_rounds_say_when_a_round_was_paid(voter, poll):
    client_for(voter.pk).put(
        f"/voting/api/polls/{poll.pk}/ballot/", ballot_body(poll, 1), format="json"
    )
    closed = set_poll(poll, status="closed")
    browser = browser_for(voter.pk)
    assert 'data-paid="true"' not in browser.get("/voting/history/").content.decode()
    assert 'class="round-paid"' not in browser.get("/voting/results/").content.decode()
    set_poll(closed, status="paid")
    history = browser.get("/voting/history/").content.decode()
    assert "This round's causes were paid." in history
    assert f'href="/voting/polls/{poll.pk}/results/#payouts-table"' in history
    assert (
        '<span class="round-paid">paid</span>' in browser.get("/voting/results/").content.decode()
    )


def test_results_wait_for_the_close_unless_live(voter):
    hidden = make_poll(causes=2, results_visibility="after_close")
    live = make_poll(causes=2, results_visibility="live")
    browser = browser_for(voter.pk)
    assert (
        "shown once it has closed"
        in browser.get(f"/voting/polls/{hidden.pk}/results/").content.decode()
    )
    html = browser.get(f"/voting/polls/{live.pk}/results/").content.decode()
    assert "The live count" in html and "Check my receipt" not in html


def test_results_of_a_closed_poll_chart_and_list_the_count_with_the_digest(voter, poll):
    name_causes(poll, "Wells", "Meals", "Books")
    other = make_voter(points=50)
    url = f"/voting/api/polls/{poll.pk}/ballot/"
    mine = client_for(voter.pk).put(url, ballot_body(poll, 60, 0, 40), format="json").json()
    client_for(other.pk).put(url, ballot_body(poll, 50), format="json")
    closed = set_poll(poll, status="closed")
    html = browser_for(voter.pk).get(f"/voting/polls/{closed.pk}/results/").content.decode()
    table = re.findall(
        r'<tr><th scope="row">(\w+)</th><td class="number">(\d+)</td>'
        r'<td class="number">[\d.]+ %</td><td class="number">(\d+)</td>',
        html,
    )
    assert table == [("Wells", "110", "2"), ("Meals", "0", "0"), ("Books", "40", "1")]
    assert html.count("<svg") == 2 and "Wells: 110 points" in html
    digest = closed.tally.receipts_digest
    assert f'data-digest="{digest}"' in html and f'value="{mine["receipt"]}"' in html
    assert 'id="payouts-table"' not in html  # none by default (issue 17 fills them)
    past = browser_for(voter.pk).get("/voting/results/").content.decode()
    assert f'href="/voting/polls/{poll.pk}/results/"' in past


def test_the_results_show_each_causes_payout_as_polls_published_it(voter, poll):
    from voting.models import PayoutReplica, PollResultReplica

    name_causes(poll, "Wells", "Meals", "Books")
    wells, meals, books = (str(cause_id) for cause_id in poll.causes)
    closed = set_poll(poll, status="closed")
    PollResultReplica.objects.create(
        id=poll.pk,
        fund_lovelace=9_000_000,
        causes=[
            {
                "cause_id": wells,
                "title": "Wells",
                "points": 2,
                "voters": 1,
                "payout_lovelace": 6_000_000,
            },
            {
                "cause_id": meals,
                "title": "Meals",
                "points": 1,
                "voters": 1,
                "payout_lovelace": 3_000_000,
            },
            {"cause_id": books, "title": "Books", "points": 0, "voters": 0, "payout_lovelace": 0},
        ],
        ballots=2,
        finalized_at=closed.closes_at,
    )
    tx = "ab" * 32
    PayoutReplica.objects.create(
        id=uuid.uuid4(),
        poll_id=poll.pk,
        tx_hash=tx,
        status="confirmed",
        verified=True,
        lines=[
            {
                "cause_id": wells,
                "address": "addr1x",
                "expected_lovelace": 6_000_000,
                "found_lovelace": 6_000_000,
            }
        ],
        confirmations=12,
        explorer_url=f"https://cexplorer.io/tx/{tx}",
        recorded_at=closed.closes_at,
    )
    html = browser_for(voter.pk).get(f"/voting/polls/{closed.pk}/results/").content.decode()
    table = html[html.index('id="payouts-table"') :]
    rows = re.findall(
        r'<th scope="row">(\w+)</th><td class="number">(\d+)</td><td data-status="(\w+)">', table
    )
    assert rows == [
        ("Wells", "6000000", "confirmed"),
        ("Meals", "3000000", "unpaid"),
        ("Books", "0", "no_payout"),
    ]
    assert f'href="https://cexplorer.io/tx/{tx}"' in table
    assert "paid, verified on chain" in table and "not paid yet" in table


def test_an_account_that_may_not_vote_is_told_why_and_gets_no_form(poll):
    deactivated = make_voter(points=100, is_active=False)
    browser = browser_for(deactivated.pk)
    listed = browser.get("/voting/").content.decode()
    assert "Your account is deactivated; it cannot vote." in listed
    html = browser.get(f"/voting/polls/{poll.pk}/").content.decode()
    assert "You cannot vote in this poll now" in html and 'id="ballot"' not in html


def test_chain_mode_before_the_freeze_says_the_power_is_not_computed(settings, voter):
    settings.CHAIN_SOURCE = "file"
    settings.OPEN_ELIGIBILITY = False
    poll = make_poll(causes=2, snapshot_epoch=500, power_formula="stake")
    browser = browser_for(voter.pk)
    listed = browser.get("/voting/").content.decode()
    assert "Voting power for this poll is not computed yet" in listed
    html = browser.get(f"/voting/polls/{poll.pk}/").content.decode()
    assert "You cannot vote in this poll now" in html and 'id="ballot"' not in html
