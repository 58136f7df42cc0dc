"""Operators run rounds in the admin; every write goes through the services."""

import csv
import io
import uuid
from datetime import timedelta

import pytest
from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.utils import timezone

from polls import services
from polls.models import Cause, Poll
from polls.tests.factories import (
    closed_poll,
    last_event,
    make_cause,
    make_poll,
    open_poll,
    poll_events,
    scheduled_poll,
    tally_message,
)
from shared_events.core.consumer.apply import apply_batch
from shared_events.kit.errors import Conflict, Refused

pytestmark = pytest.mark.django_db
POLLS = "/polls/admin/polls/poll/"


@pytest.fixture
def admin_client(client):
    # Sign-on itself is tested in test_admin_sso; here a local superuser stands in for an
    # operator who came through it.
    user = get_user_model().objects.create_superuser("op", "op@example.org", "unused")
    client.force_login(user)
    return client


def form_data(
    *,
    title="Round",
    fund="1000000",
    opens=None,
    closes=None,
    visibility="live",
    causes=(),
    existing=(),
    formula="points",
    min_stake="0",
    cap="",
    snapshot="",
) -> dict:
    """The poll change form as a browser posts it: `existing` are (row id, cause, position,
    delete) of rows already there, `causes` new rows (cause, position); the voting power
    fields as the form shows them for a new poll unless given."""
    opens = opens or timezone.now() + timedelta(days=1)
    closes = closes or opens + timedelta(days=7)
    data = {
        "title": title,
        "description": "",
        "fund_lovelace": fund,
        "opens_at_0": opens.strftime("%Y-%m-%d"),
        "opens_at_1": opens.strftime("%H:%M:%S"),
        "closes_at_0": closes.strftime("%Y-%m-%d"),
        "closes_at_1": closes.strftime("%H:%M:%S"),
        "results_visibility": visibility,
        "power_formula": formula,
        "min_stake_lovelace": min_stake,
        "cap_percent": cap,
        "snapshot_epoch": snapshot,
        "poll_causes-TOTAL_FORMS": str(len(existing) + len(causes)),
        "poll_causes-INITIAL_FORMS": str(len(existing)),
        "poll_causes-MIN_NUM_FORMS": "0",
        "poll_causes-MAX_NUM_FORMS": "1000",
    }
    rows = [(row_id, cause, position, delete) for row_id, cause, position, delete in existing]
    rows += [(None, cause, position, False) for cause, position in causes]
    for i, (row_id, cause, position, delete) in enumerate(rows):
        data[f"poll_causes-{i}-id"] = str(row_id or "")
        data[f"poll_causes-{i}-poll"] = ""
        data[f"poll_causes-{i}-cause"] = str(cause.pk)
        data[f"poll_causes-{i}-position"] = "" if position is None else str(position)
        if delete:
            data[f"poll_causes-{i}-DELETE"] = "on"
    return data


def existing_rows(poll):
    return [(e.pk, e.cause, e.position, False) for e in poll.poll_causes.order_by("position")]


def errors_on_page(response) -> dict:
    context = response.context
    errors = dict(context["adminform"].form.errors)
    for formset in context["inline_admin_formsets"]:
        if formset.formset.non_form_errors():
            errors["inline"] = list(formset.formset.non_form_errors())
    return errors


def test_the_poll_list_filters_by_status(admin_client):
    open_poll(title="Open one")
    make_poll(title="Draft one")
    page = admin_client.get(POLLS, {"status__exact": "open"})
    assert page.status_code == 200
    assert b"Open one" in page.content and b"Draft one" not in page.content
    assert admin_client.get(f"{POLLS}add/").status_code == 200
    assert admin_client.get(POLLS, {"q": "one"}).status_code == 200


def test_adding_a_poll_with_its_causes_is_one_service_call(admin_client):
    wells, schools = make_cause("Wells"), make_cause("Schools")
    response = admin_client.post(
        f"{POLLS}add/", form_data(title="Q4", causes=[(wells, 1), (schools, 0)])
    )
    assert response.status_code == 302, errors_on_page(response)
    poll = Poll.objects.get(title="Q4")
    assert poll.status == "draft" and poll.cause_ids() == [schools.pk, wells.pk]
    assert last_event(poll)["data"]["causes"] == [str(schools.pk), str(wells.pk)]


def test_rule_breaks_are_shown_next_to_their_fields(admin_client):
    opens = timezone.now() + timedelta(days=1)
    response = admin_client.post(
        f"{POLLS}add/", form_data(fund="0", opens=opens, closes=opens - timedelta(hours=1))
    )
    assert response.status_code == 200
    errors = errors_on_page(response)
    assert "fund_lovelace" in errors
    assert errors["closes_at"] == ["The poll must close after it opens."]
    assert not Poll.objects.exists()


def test_an_inactive_or_repeated_cause_is_refused_in_the_inline(admin_client):
    active, retired = make_cause("Active"), make_cause("Retired", is_active=False)
    response = admin_client.post(f"{POLLS}add/", form_data(causes=[(active, 0), (active, 1)]))
    assert response.status_code == 200 and "listed twice" in str(errors_on_page(response))
    poll = make_poll(causes=[active])
    response = admin_client.post(
        f"{POLLS}{poll.pk}/change/",
        form_data(existing=existing_rows(poll), causes=[(Cause.objects.get(pk=retired.pk), 1)]),
    )
    assert response.status_code == 200
    assert "“Retired” is inactive" in errors_on_page(response)["inline"][0]
    assert poll.cause_ids() == [active.pk]


def test_changing_a_drafts_causes_in_the_inline_republishes_it_once(admin_client):
    poll = make_poll(causes=3, title="Round")
    first, second, third = poll.poll_causes.order_by("position")
    events = len(poll_events(poll))
    response = admin_client.post(
        f"{POLLS}{poll.pk}/change/",
        form_data(
            opens=poll.opens_at,
            closes=poll.closes_at,
            existing=[
                (first.pk, first.cause, 2, False),
                (second.pk, second.cause, 0, True),
                (third.pk, third.cause, 1, False),
            ],
        ),
    )
    assert response.status_code == 302, errors_on_page(response)
    assert poll.cause_ids() == [third.cause_id, first.cause_id]
    assert len(poll_events(poll)) == events + 1
    assert last_event(poll)["data"]["causes"] == [str(third.cause_id), str(first.cause_id)]


def test_a_scheduled_poll_keeps_two_causes(admin_client):
    poll = scheduled_poll(causes=2)
    rows = existing_rows(poll)
    rows[0] = (*rows[0][:3], True)
    response = admin_client.post(
        f"{POLLS}{poll.pk}/change/",
        form_data(opens=poll.opens_at, closes=poll.closes_at, existing=rows),
    )
    assert response.status_code == 200
    assert "at least 2 active causes" in errors_on_page(response)["inline"][0]
    assert len(poll.cause_ids()) == 2


def test_once_open_the_fund_and_causes_are_read_only(admin_client):
    poll = open_poll(title="Before")
    page = admin_client.get(f"{POLLS}{poll.pk}/change/")
    form = page.context["adminform"].form
    assert set(form.fields) == {"title", "description"}
    response = admin_client.post(
        f"{POLLS}{poll.pk}/change/",
        {
            "title": "After",
            "description": "",
            "fund_lovelace": "1",
            "poll_causes-TOTAL_FORMS": "0",
            "poll_causes-INITIAL_FORMS": "0",
            "poll_causes-MIN_NUM_FORMS": "0",
            "poll_causes-MAX_NUM_FORMS": "0",
        },
    )
    assert response.status_code == 302
    poll.refresh_from_db()
    assert (poll.title, poll.fund_lovelace, len(poll.cause_ids())) == ("After", 1_000_000, 2)


def test_the_schedule_close_and_cancel_actions(admin_client):
    ready = make_poll(causes=2, title="Ready")
    lonely = make_poll(causes=1, title="Lonely")
    response = admin_client.post(
        POLLS, {"action": "schedule", "_selected_action": [ready.pk, lonely.pk]}, follow=True
    )
    texts = [str(m) for m in response.context["messages"]]
    assert "1 poll(s) scheduled." in texts
    assert any(t.startswith("“Lonely” not scheduled: A poll needs at least 2") for t in texts)
    ready.refresh_from_db()
    lonely.refresh_from_db()
    assert (ready.status, lonely.status) == ("scheduled", "draft")

    running = open_poll()
    admin_client.post(POLLS, {"action": "close", "_selected_action": [running.pk]})
    running.refresh_from_db()
    assert running.status == "closing" and running.closes_at <= timezone.now() + timedelta(
        seconds=settings.POLL_CLOSE_GRACE_SECONDS
    )

    admin_client.post(POLLS, {"action": "cancel", "_selected_action": [ready.pk]})
    ready.refresh_from_db()
    assert ready.status == "cancelled"
    assert last_event(ready)["data"]["status"] == "cancelled"


def test_polls_cannot_be_deleted(admin_client):
    poll = make_poll()
    assert admin_client.get(f"{POLLS}{poll.pk}/delete/").status_code == 403


def test_causes_cannot_be_deleted_only_deactivated(admin_client):
    cause = make_cause("Wells")
    events = len(poll_events(cause))  # its outbox events (poll_events reads any aggregate)
    url = f"/polls/admin/polls/cause/{cause.pk}/delete/"
    assert admin_client.get(url).status_code == 403
    assert admin_client.post(url, {"post": "yes"}).status_code == 403
    # Nor in bulk from the list: the delete action is not offered, and posting it does nothing.
    changelist = admin_client.get("/polls/admin/polls/cause/")
    action_form = changelist.context["action_form"]  # None: no action at all
    offered = [name for name, _ in action_form.fields["action"].choices] if action_form else []
    assert "delete_selected" not in offered
    admin_client.post(
        "/polls/admin/polls/cause/",
        {"action": "delete_selected", "_selected_action": [cause.pk], "post": "yes"},
    )
    cause.refresh_from_db()
    assert cause.title == "Wells" and cause.is_active
    assert len(poll_events(cause)) == events  # no deletion published either


def finalized_poll():
    poll = closed_poll(fund_lovelace=2_500_000, causes=[make_cause("Wells"), make_cause("Schools")])
    wells, schools = poll.causes.order_by("poll_entries__position")
    apply_batch(
        [tally_message(poll, 2, {wells: (3, 2), schools: (1, 1)}, final=True, digest="c" * 64)]
    )
    poll.refresh_from_db()
    assert poll.status == "finalized"
    return poll


def test_the_results_are_shown_read_only_on_the_poll_page(admin_client):
    poll = finalized_poll()
    page = admin_client.get(f"{POLLS}{poll.pk}/change/")
    assert page.status_code == 200
    html = page.content.decode()
    assert "4 points from 3 ballots" in html and "c" * 64 in html
    assert "1875000" in html and "1.875000" in html and "0.750000" in html
    assert set(page.context["adminform"].form.fields) == set()  # a finalized poll is final
    assert f"{poll.pk}/results.csv" in html


def test_results_download_as_csv(admin_client):
    poll = finalized_poll()
    response = admin_client.get(f"{POLLS}{poll.pk}/results.csv")
    assert response.status_code == 200 and response["Content-Type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(response.content.decode())))
    assert [
        (r["cause"], r["points"], r["share"], r["payout_lovelace"], r["payout_ada"]) for r in rows
    ] == [
        ("Wells", "3", "0.750000", "1875000", "1.875000"),
        ("Schools", "1", "0.250000", "625000", "0.625000"),
    ]
    from_action = admin_client.post(
        POLLS, {"action": "download_results", "_selected_action": [poll.pk, make_poll().pk]}
    )
    assert from_action["Content-Disposition"] == 'attachment; filename="poll-results.csv"'
    assert from_action.content == response.content  # the draft has no results to add


def test_the_csv_needs_the_admin(client):
    poll = finalized_poll()
    assert client.get(f"{POLLS}{poll.pk}/results.csv").status_code == 302


def test_a_cause_on_offer_in_an_open_poll_cannot_be_deactivated_in_the_admin(admin_client):
    poll = open_poll()
    cause = poll.causes.first()
    response = admin_client.post(
        f"/polls/admin/polls/cause/{cause.pk}/change/",
        {"title": cause.title, "description": "", "url": "", "image_url": ""},
    )
    assert response.status_code == 200
    assert "deactivate it after the poll closes" in str(response.context["adminform"].form.errors)
    cause.refresh_from_db()
    assert cause.is_active
    services.poll_close(poll=poll)
    response = admin_client.post(
        f"/polls/admin/polls/cause/{cause.pk}/change/",
        {"title": cause.title, "description": "", "url": "", "image_url": ""},
    )
    assert response.status_code == 302
    cause.refresh_from_db()
    assert not cause.is_active


def test_a_rule_broken_by_a_concurrent_change_is_reported_not_a_500(admin_client, monkeypatch):
    poll = make_poll(title="Before")

    def lost_the_race(**kwargs):
        raise ValidationError({"status": ["This cannot change once the poll is open."]})

    monkeypatch.setattr(services, "poll_update", lost_the_race)
    response = admin_client.post(
        f"{POLLS}{poll.pk}/change/",
        form_data(
            title="After", opens=poll.opens_at, closes=poll.closes_at, existing=existing_rows(poll)
        ),
        follow=True,
    )
    assert response.status_code == 200
    assert any(
        "Not saved: This cannot change once the poll is open." in str(m)
        for m in response.context["messages"]
    )
    poll.refresh_from_db()
    assert poll.title == "Before"


def test_a_domain_error_from_a_service_is_reported_like_a_rule_break(admin_client, monkeypatch):
    poll = make_poll(title="Before")

    def refused(**kwargs):
        raise Conflict("Someone else changed this poll meanwhile.")

    monkeypatch.setattr(services, "poll_update", refused)
    response = admin_client.post(
        f"{POLLS}{poll.pk}/change/",
        form_data(
            title="After", opens=poll.opens_at, closes=poll.closes_at, existing=existing_rows(poll)
        ),
        follow=True,
    )
    assert response.status_code == 200
    assert "Not saved: Someone else changed this poll meanwhile." in [
        str(m) for m in response.context["messages"]
    ]
    poll.refresh_from_db()
    assert poll.title == "Before"


def test_a_domain_error_from_a_check_is_shown_on_the_form(admin_client, monkeypatch):
    poll = make_poll(title="Before")

    def refused(**kwargs):
        raise Refused("Polls are frozen for the audit.")

    monkeypatch.setattr(services, "poll_check_changes", refused)
    response = admin_client.post(
        f"{POLLS}{poll.pk}/change/",
        form_data(title="After", opens=poll.opens_at, closes=poll.closes_at),
    )
    assert response.status_code == 200
    assert errors_on_page(response)["__all__"] == ["Polls are frozen for the audit."]
    poll.refresh_from_db()
    assert poll.title == "Before"


def test_an_action_a_service_refuses_says_why(admin_client, monkeypatch):
    poll = make_poll(title="Kept")

    def refused(**kwargs):
        raise Refused("Only the pool owner may cancel.")

    monkeypatch.setattr(services, "poll_cancel", refused)
    response = admin_client.post(
        POLLS, {"action": "cancel", "_selected_action": [poll.pk]}, follow=True
    )
    assert "“Kept” not cancelled: Only the pool owner may cancel." in [
        str(m) for m in response.context["messages"]
    ]
    poll.refresh_from_db()
    assert poll.status == "draft"


def test_the_csv_of_an_unknown_poll_is_the_admins_404(admin_client):
    response = admin_client.get(f"{POLLS}{uuid.uuid4()}/results.csv")
    assert response.status_code == 404 and b"Not Found" in response.content


def test_the_poll_page_charts_points_and_payouts_per_cause(admin_client):
    poll = finalized_poll()
    html = admin_client.get(f"{POLLS}{poll.pk}/change/").content.decode()
    charts = html.count('<svg xmlns="http://www.w3.org/2000/svg" role="img"')
    assert charts == 2
    assert "Final points per cause" in html and "Wells: 3 points" in html
    assert "Payout per cause" in html and "Wells: 1.875000 ada" in html


def test_titles_that_would_run_as_formulas_are_exported_as_text(admin_client):
    poll = closed_poll(
        title="-1+1 round", fund_lovelace=1_000_000, causes=[make_cause("=1+1"), make_cause("+cmd")]
    )
    first, second = poll.causes.order_by("poll_entries__position")
    apply_batch(
        [tally_message(poll, 2, {first: (1, 1), second: (1, 1)}, final=True, digest="d" * 64)]
    )
    response = admin_client.get(f"{POLLS}{poll.pk}/results.csv")
    rows = list(csv.DictReader(io.StringIO(response.content.decode())))
    assert [(r["poll"], r["cause"], r["points"], r["payout_lovelace"]) for r in rows] == [
        ("'-1+1 round", "'=1+1", "1", "500000"),
        ("'-1+1 round", "'+cmd", "1", "500000"),
    ]


# Voting power


def test_the_voting_power_is_chosen_in_the_admin_until_the_poll_opens(admin_client, settings):
    settings.CHAIN_SOURCE = "file"
    page = admin_client.get(f"{POLLS}add/").content.decode()
    assert "Voting power (fixed once the poll opens)" in page
    assert "chain mode (CHAIN_SOURCE=file)" in page
    wells, schools = make_cause("Wells"), make_cause("Schools")
    response = admin_client.post(
        f"{POLLS}add/",
        form_data(
            title="Q4",
            causes=[(wells, 0), (schools, 1)],
            formula="stake_x_loyalty",
            min_stake="3000000",
            cap="15",
        ),
    )
    assert response.status_code == 302, errors_on_page(response)
    poll = Poll.objects.get(title="Q4")
    assert (poll.power_formula, poll.min_stake_lovelace, poll.cap_percent, poll.snapshot_epoch) == (
        "stake_x_loyalty",
        3_000_000,
        15,
        None,
    )
    assert last_event(poll)["data"]["power_formula"] == "stake_x_loyalty"
    response = admin_client.post(
        f"{POLLS}{poll.pk}/change/",
        form_data(
            title="Q4",
            opens=poll.opens_at,
            closes=poll.closes_at,
            existing=existing_rows(poll),
            formula="stake_x_loyalty",
            min_stake="3000000",
            cap="0",
        ),
    )
    assert errors_on_page(response)["cap_percent"] == [
        "The cap is a whole percentage from 1 to 100 (or none, for no cap)."
    ]


def test_once_open_the_voting_power_is_read_only(admin_client):
    poll = open_poll(cap_percent=40)
    page = admin_client.get(f"{POLLS}{poll.pk}/change/")
    assert not set(page.context["adminform"].form.fields) & {
        "power_formula",
        "min_stake_lovelace",
        "cap_percent",
        "snapshot_epoch",
    }
    html = page.content.decode()
    assert "Voting power (fixed once the poll opens)" in html
    response = admin_client.post(
        f"{POLLS}{poll.pk}/change/",
        {
            "title": poll.title,
            "description": "",
            "cap_percent": "90",
            "snapshot_epoch": "1",
            "poll_causes-TOTAL_FORMS": "0",
            "poll_causes-INITIAL_FORMS": "0",
            "poll_causes-MIN_NUM_FORMS": "0",
            "poll_causes-MAX_NUM_FORMS": "0",
        },
    )
    assert response.status_code == 302
    before = poll.snapshot_epoch
    poll.refresh_from_db()
    assert (poll.cap_percent, poll.snapshot_epoch) == (40, before)


def test_the_admin_says_the_open_mode_and_refuses_a_stake_formula_next_to_its_field(admin_client):
    page = admin_client.get(f"{POLLS}add/").content.decode()
    assert "open mode (CHAIN_SOURCE=none)" in page
    assert "one person with many accounts has many votes" in page
    response = admin_client.post(f"{POLLS}add/", form_data(formula="sqrt_stake"))
    assert response.status_code == 200
    (message,) = errors_on_page(response)["power_formula"]
    assert message.startswith("“sqrt_stake” needs a chain source")
    assert not Poll.objects.exists()


def test_the_results_say_how_voting_power_was_counted(admin_client, settings):
    settings.CHAIN_SOURCE = "koios"
    poll = open_poll(
        power_formula="sqrt_stake", causes=[make_cause("Wells"), make_cause("Schools")]
    )
    wells, schools = poll.causes.order_by("poll_entries__position")
    html = admin_client.get(f"{POLLS}{poll.pk}/change/").content.decode()
    assert (
        f"sqrt_stake (as voting counts it so far), snapshot epoch {poll.snapshot_epoch}: "
        "not known yet eligible delegators"
    ) in html
    counted = {
        "power_formula": "sqrt_stake",
        "snapshot_epoch": poll.snapshot_epoch,
        "eligible": 9,
        "total_power": 77,
    }
    apply_batch([tally_message(poll, 1, {wells: (5, 1)}, power=counted)])
    html = admin_client.get(f"{POLLS}{poll.pk}/change/").content.decode()
    assert (
        "as voting counts it so far), snapshot epoch "
        f"{poll.snapshot_epoch}: 9 eligible delegators, 77 voting power in all, 5 of it "
        "allocated."
    ) in html
    services.polls_open_and_close_due(now=poll.closes_at)
    apply_batch(
        [tally_message(poll, 2, {wells: (30, 2), schools: (10, 1)}, final=True, power=counted)]
    )
    html = admin_client.get(f"{POLLS}{poll.pk}/change/").content.decode()
    assert (
        f"sqrt_stake (final), snapshot epoch {poll.snapshot_epoch}: 9 eligible "
        "delegators, 77 voting power in all, 40 of it allocated."
    ) in html
    rows = list(
        csv.DictReader(
            io.StringIO(admin_client.get(f"{POLLS}{poll.pk}/results.csv").content.decode())
        )
    )
    assert [
        (r["cause"], r["power_formula"], r["snapshot_epoch"], r["eligible"], r["total_power"])
        for r in rows
    ] == [
        ("Wells", "sqrt_stake", str(poll.snapshot_epoch), "9", "77"),
        ("Schools", "sqrt_stake", str(poll.snapshot_epoch), "9", "77"),
    ]
