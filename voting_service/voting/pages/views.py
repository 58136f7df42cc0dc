"""The delegators' pages. Each view reads through selectors (and the one service a power
query is), and hands the template what it shows; writes happen in the browser, through the
JSON API (static/voting/pages/ballot.js)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from shared_events.kit.charts import bar_chart
from shared_events.kit.errors import Conflict, NotFound
from shared_events.kit.pages import service_url

from .. import selectors, services
from ..models import PollReplica
from .access import signin_required

# What a delegator reads for each state of a cause's payout (selectors.poll_payouts_per_cause).
PAYOUT_STATES = {
    "pending": gettext_lazy("waiting for confirmations"),
    "confirmed": gettext_lazy("paid, verified on chain"),
    "confirmed_by_hand": gettext_lazy("paid, confirmed by the operator (not verified on chain)"),
    "mismatch": gettext_lazy("the transaction does not pay this cause in full"),
    "not_found": gettext_lazy("transaction not found on chain"),
    "unpaid": gettext_lazy("not paid yet"),
    "no_payout": gettext_lazy("no payout (no points)"),
}


def payouts_shown(*, poll_id: uuid.UUID) -> list[dict[str, Any]]:
    """Each cause's payout as polls published it, with its state in words."""
    return [
        {**row, "state": PAYOUT_STATES.get(row["status"], row["status"])}
        for row in selectors.poll_payouts_per_cause(poll_id=poll_id)
    ]


@dataclass(frozen=True)
class Power:
    """My power in a poll as a page shows it: a number, or why there is none."""

    power: int | None
    reason: str | None


def power_in_poll(*, viewer: uuid.UUID, poll: PollReplica) -> Power:
    """What `GET polls/<id>/power/` answers (the same service: it freezes power not frozen yet,
    so the page shows what a ballot will be checked against), or chain mode's "not yet"."""
    try:
        answer = services.voter_power_in_poll(voter_id=viewer, poll_id=poll.pk)
    except (Conflict, NotFound) as refused:
        return Power(power=None, reason=str(refused.message))
    return Power(power=answer.power, reason=answer.reason)


def _poll_or_404(poll_id: uuid.UUID) -> PollReplica:
    poll = selectors.poll_get(poll_id=poll_id)
    if poll is None:
        raise Http404(_("No such poll."))
    return poll


@signin_required
def open_polls(request: HttpRequest, *, viewer: uuid.UUID) -> HttpResponse:
    polls = list(selectors.polls_open())
    voted = selectors.polls_voted_in(voter_id=viewer, poll_ids=[p.pk for p in polls])
    cards = [
        {
            "poll": poll,
            "causes": selectors.poll_causes(poll=poll),
            "power": power_in_poll(viewer=viewer, poll=poll),
            "voted": poll.pk in voted,
        }
        for poll in polls
    ]
    return render(request, "voting/pages/open_polls.html", {"cards": cards})


@signin_required
def poll_ballot(request: HttpRequest, poll_id: uuid.UUID, *, viewer: uuid.UUID) -> HttpResponse:
    poll = _poll_or_404(poll_id)
    ballot = selectors.ballot_get(voter_id=viewer, poll_id=poll.pk)
    given: dict[str, int] = {}
    if ballot is not None and not ballot.is_retracted:
        given = {str(a.cause_id): a.points for a in ballot.current_allocations}
    causes = [
        {"cause": cause, "points": given.get(str(cause.id), 0)}
        for cause in selectors.poll_causes(poll=poll)
    ]
    context: dict[str, Any] = {
        "poll": poll,
        "causes": causes,
        "power": power_in_poll(viewer=viewer, poll=poll),
        "ballot": ballot if ballot is not None and not ballot.is_retracted else None,
        "takes_ballots": selectors.takes_ballots_now(poll=poll),
        "ballot_api": reverse("ballot", kwargs={"poll_id": poll.pk}),
        "revisions_api": reverse("ballot-revisions", kwargs={"poll_id": poll.pk}),
        "results_page": reverse("pages-poll-results", kwargs={"poll_id": poll.pk}),
    }
    return render(request, "voting/pages/poll.html", context)


@signin_required
def history(request: HttpRequest, *, viewer: uuid.UUID) -> HttpResponse:
    context = {
        "entries": selectors.history_of_voter(voter_id=viewer),
        "ledger_url": service_url("accounts", "/accounts/me/"),
    }
    return render(request, "voting/pages/history.html", context)


@signin_required
def past_rounds(request: HttpRequest, *, viewer: uuid.UUID) -> HttpResponse:
    return render(request, "voting/pages/past_rounds.html", {"polls": selectors.polls_past()})


def tally_rows(tally: Any) -> list[dict[str, Any]]:
    """The tally's causes with their titles and share of the points, in the tally's order."""
    titles = selectors.cause_titles(cause_ids=[c["cause_id"] for c in tally.causes])
    total = tally.total_points or 0
    return [
        {
            "title": titles.get(c["cause_id"], c["cause_id"]),
            "points": c["points"],
            "voters": c["voters"],
            "percent": round(100 * c["points"] / total, 1) if total else 0,
        }
        for c in tally.causes
    ]


@signin_required
def poll_results(request: HttpRequest, poll_id: uuid.UUID, *, viewer: uuid.UUID) -> HttpResponse:
    poll = _poll_or_404(poll_id)
    final = selectors.final_tally(poll=poll)
    context: dict[str, Any] = {"poll": poll, "final": final, "visible": False, "payouts": []}
    if poll.results_visible or final is not None:
        tally = final if final is not None else selectors.tally_for_display(poll=poll)
        rows = tally_rows(tally)
        bars = [(r["title"], r["points"]) for r in rows]
        ballot = selectors.ballot_get(voter_id=viewer, poll_id=poll.pk)
        context.update(
            visible=True,
            tally=tally,
            rows=rows,
            points_chart=bar_chart(bars, title=_("Points per cause"), unit=_("points")),
            # No unit after the count: "1 voters" reads wrong, and the title says what it is.
            voters_chart=bar_chart(
                [(r["title"], r["voters"]) for r in rows], title=_("Voters per cause")
            ),
            my_receipt=ballot.receipt if ballot is not None and not ballot.is_retracted else "",
            payouts=payouts_shown(poll_id=poll.pk),
            receipts_api=reverse("receipts", kwargs={"poll_id": poll.pk}),
        )
    return render(request, "voting/pages/poll_results.html", context)
