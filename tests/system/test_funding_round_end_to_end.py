"""A whole funding round across the three services, real processes, nothing mocked.

An operator sets up causes and a poll, the poll opens on schedule, delegators with different
points vote (one re-votes, one overspends, one retracts), the poll closes on schedule, and
polls_service shows final results whose payouts sum exactly to the fund and match a recount.
"""

from __future__ import annotations

import hashlib
import time
import uuid
from datetime import UTC, datetime, timedelta

from shared_events.core.testing import wait_until
from tests.system.harness import Platform, Response

PASSWORD = "a-long-enough-passphrase-42"
FUND = 1_000_000_003  # lovelace: an odd amount, so the split has remainders to hand out
DEADLINE = 40.0


def sign_in(platform: Platform, email: str) -> str:
    response = platform.api("POST", "accounts", "token/", {"email": email, "password": PASSWORD})
    assert response.status == 200, response
    return response.body["access"]


def delegator(platform: Platform, operator: str, extra_points: int) -> tuple[str, str]:
    email = f"voter-{uuid.uuid4().hex[:8]}@example.com"
    registered = platform.api(
        "POST", "accounts", "register/", {"email": email, "password": PASSWORD}
    )
    assert registered.status == 201, registered
    account_id = registered.body["id"]
    if extra_points:
        adjusted = platform.api(
            "POST",
            "accounts",
            f"accounts/{account_id}/points/",
            {"delta": extra_points, "reason": "round test"},
            token=operator,
        )
        assert adjusted.status == 201, adjusted
    return account_id, sign_in(platform, email)


def eventually(check, what: str) -> Response:
    """Poll `check()` (a Response-returning call) until it is truthy-checked; return the last."""
    last: list[Response] = []

    def attempt() -> bool:
        response, ok = check()
        last[:] = [response]
        return ok

    try:
        wait_until(attempt, timeout=DEADLINE, interval=0.1, message=what)
    except AssertionError as exc:
        raise AssertionError(f"{exc}; last answer {last}") from None
    return last[0]


def split(fund: int, points: dict[str, int]) -> dict[str, int]:
    """The rule, recomputed here independently: floor shares, then the leftover lovelace one
    each by largest remainder, ties by cause id."""
    total = sum(points.values())
    payouts = {c: fund * p // total for c, p in points.items()}
    remainders = sorted(points, key=lambda c: (-(fund * points[c] % total), c))
    for cause in remainders[: fund - sum(payouts.values())]:
        payouts[cause] += 1
    return payouts


def test_a_funding_round_from_causes_to_payouts(platform: Platform):
    # 1. An operator (created with the platform's own command) signs in.
    email = f"operator-{uuid.uuid4().hex[:8]}@example.com"
    created = platform.manage(
        "accounts", "createoperator", "--email", email, "--password", PASSWORD
    )
    assert created.returncode == 0, created.stderr
    operator = sign_in(platform, email)

    # 2. They create three causes and a poll that opens in a few seconds.
    causes = []
    for title in ("Clean water", "School meals", "Reforestation"):
        response = platform.api("POST", "polls", "causes/", {"title": title}, token=operator)
        assert response.status == 201, response
        causes.append(response.body["id"])
    water, meals, trees = causes
    opens_at = datetime.now(UTC) + timedelta(seconds=6)
    closes_at = opens_at + timedelta(seconds=14)
    poll = platform.api(
        "POST",
        "polls",
        "polls/",
        {
            "title": "Round 1",
            "description": "Epoch 500 charity fund",
            "fund_lovelace": FUND,
            "opens_at": opens_at.isoformat(),
            "closes_at": closes_at.isoformat(),
            "causes": causes,
            "results_visibility": "live",
        },
        token=operator,
    )
    assert poll.status == 201, poll
    poll_id = poll.body["id"]
    scheduled = platform.api("POST", "polls", f"polls/{poll_id}/schedule/", token=operator)
    assert scheduled.status == 200 and scheduled.body["status"] == "scheduled", scheduled

    # 3. Delegators with different points: 100 (the grant), 150, 30, 100.
    alice, alice_token = delegator(platform, operator, 0)
    bob, bob_token = delegator(platform, operator, 50)
    carol, carol_token = delegator(platform, operator, -70)
    dave, dave_token = delegator(platform, operator, 0)
    for token, points in (
        (alice_token, 100),
        (bob_token, 150),
        (carol_token, 30),
        (dave_token, 100),
    ):
        eventually(
            lambda t=token, p=points: (
                r := platform.api("GET", "voting", "me/", token=t),
                r.status == 200 and r.body["points"] == p,
            ),
            "voting to know each voter's points",
        )

    # 4. Ballots are refused before the poll opens, then accepted once it opened on schedule.
    early = platform.api(
        "PUT",
        "voting",
        f"polls/{poll_id}/ballot/",
        {"allocations": [{"cause": water, "points": 1}]},
        token=alice_token,
    )
    assert early.status in (400, 404), early
    eventually(
        lambda: (
            r := platform.api("GET", "polls", f"polls/{poll_id}/", token=operator),
            r.body.get("status") == "open",
        ),
        "the scheduler to open the poll",
    )

    def cast(token: str, allocations: dict[str, int]) -> Response:
        body = {"allocations": [{"cause": c, "points": p} for c, p in allocations.items()]}
        return eventually(
            lambda: (
                r := platform.api("PUT", "voting", f"polls/{poll_id}/ballot/", body, token=token),
                r.status in (200, 201),
            ),
            "a ballot to be accepted",
        )

    first = cast(alice_token, {water: 60, meals: 40}).body["receipt"]
    bob_receipt = cast(bob_token, {meals: 150}).body["receipt"]
    carol_receipt = cast(carol_token, {water: 10, trees: 20}).body["receipt"]
    dave_receipt = cast(dave_token, {trees: 100}).body["receipt"]

    # 5. Carol overspends: a 400 that says why, and her ballot stays as it was.
    over = platform.api(
        "PUT",
        "voting",
        f"polls/{poll_id}/ballot/",
        {"allocations": [{"cause": water, "points": 31}]},
        token=carol_token,
    )
    assert over.status == 400 and "you have 30" in str(over.body["allocations"]), over

    # 6. Alice changes her mind; Dave retracts.
    alice_receipt = cast(alice_token, {trees: 100}).body["receipt"]
    assert (
        platform.api("DELETE", "voting", f"polls/{poll_id}/ballot/", token=dave_token).status == 204
    )
    mine = platform.api("GET", "voting", "me/ballots/", token=alice_token)
    assert mine.body["results"][0]["revisions"] == 2, mine

    # 7. The live tally reaches polls_service while the poll is open.
    expected = {water: 10, meals: 150, trees: 120}
    eventually(
        lambda: (
            r := platform.api("GET", "polls", f"polls/{poll_id}/results/", token=bob_token),
            r.status == 200 and {c["cause"]: c["points"] for c in r.body["causes"]} == expected,
        ),
        "the live tally in polls_service",
    )

    # 8. The poll closes on schedule; voting publishes the final tally; polls finalizes.
    final = eventually(
        lambda: (
            r := platform.api("GET", "polls", f"polls/{poll_id}/results/", token=bob_token),
            r.status == 200 and r.body["final"],
        ),
        "final results",
    )
    body = final.body
    assert body["status"] == "finalized" and not body["no_payouts"]
    assert body["ballots"] == 3 and body["total_points"] == 280
    by_cause = {c["cause"]: c for c in body["causes"]}
    assert {c: r["points"] for c, r in by_cause.items()} == expected
    assert {c: r["voters"] for c, r in by_cause.items()} == {water: 1, meals: 1, trees: 2}

    # 9. Payouts sum exactly to the fund and follow the rule, recomputed here.
    payouts = {c: r["payout_lovelace"] for c, r in by_cause.items()}
    assert sum(payouts.values()) == FUND
    assert payouts == split(FUND, expected)

    # 10. Anyone can recompute the digest of the ballots counted (voting/digest.py's format).
    lines = [f"charity-vote-ballots/1 poll={poll_id}\n"]
    for voter, allocations in sorted(
        {alice: {trees: 100}, bob: {meals: 150}, carol: {water: 10, trees: 20}}.items()
    ):
        lines.append(
            f"{voter} " + ",".join(f"{c}={p}" for c, p in sorted(allocations.items())) + "\n"
        )
    assert body["ballots_digest"] == hashlib.sha256("".join(lines).encode()).hexdigest()

    # 11. Receipts: polls shows the digest of the receipts counted; voting lists them, so anyone
    # can recompute it (voting/receipts.py's format), and each voter checks their own.
    counted = sorted([alice_receipt, bob_receipt, carol_receipt])
    listed = platform.api("GET", "voting", f"polls/{poll_id}/receipts/", token=dave_token)
    assert listed.status == 200 and listed.body["results"] == counted, listed
    text = f"charity-vote-receipts/1 poll={poll_id}\n" + "".join(f"{r}\n" for r in counted)
    assert body["receipts_digest"] == hashlib.sha256(text.encode()).hexdigest()
    for receipt, status in (
        (alice_receipt, "counted"),
        (first, "superseded"),
        (carol_receipt, "counted"),
        (dave_receipt, "retracted"),
    ):
        checked = platform.api("GET", "voting", f"receipts/{receipt}/")
        assert checked.status == 200 and checked.body["status"] == status, checked
    history = platform.api("GET", "voting", f"polls/{poll_id}/ballot/revisions/", token=alice_token)
    assert [
        (r["receipt"], r["previous_receipt"], r["status"]) for r in history.body["results"]
    ] == [(first, None, "superseded"), (alice_receipt, first, "counted")]

    # 12. After the close, voting refuses ballots.
    late = platform.api(
        "PUT",
        "voting",
        f"polls/{poll_id}/ballot/",
        {"allocations": [{"cause": water, "points": 1}]},
        token=alice_token,
    )
    assert late.status == 400 and "closed" in str(late.body), late
    assert time.time() > closes_at.timestamp()
