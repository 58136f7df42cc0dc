"""An operator closes a poll while twenty delegators keep re-voting: a revision counts if and
only if voting accepted it before the closes_at polls finally shows, and every 2xx a client got
is a revision that counts (its last) or that a later one of its own replaced.

Three ways: with every process running; with polls' relay stalled (its Celery worker stopped),
so voting hears of the close only after the closes_at polls asked for; and with voting's relay
stalled, so polls hears nothing back for a while. Whatever happens, the poll stays `closing`
in polls until voting's final tally says when it stopped, and the final count and payouts are
what the clients were told.
"""

from __future__ import annotations

import dataclasses
import random
import threading
import time
from datetime import datetime

import pytest

from shared_events.core.testing import wait_until
from tests.system.actors import Operator, Round, create_operator, open_round
from tests.system.convergence import Voter, new_delegator
from tests.system.harness import Platform, http

CLIENTS = 20
POINTS = 100  # a new delegator's voting power
DEADLINE = 120.0


@pytest.fixture(scope="module")
def operator(platform: Platform) -> Operator:
    return create_operator(platform)


@pytest.fixture(scope="module")
def voters(platform: Platform) -> list[Voter]:
    pool = [new_delegator(platform) for _ in range(CLIENTS)]
    for voter in pool:
        wait_until(
            lambda v=voter: platform.api("GET", "voting", "me/", token=v.token).status == 200,
            timeout=60,
            interval=0.2,
            message="voting to know every delegator",
        )
    return pool


@dataclasses.dataclass
class Answer:
    status: int
    receipt: str | None
    allocations: dict[str, int]
    body: object


class Client(threading.Thread):
    """One delegator re-voting (a new random split each time) until voting says the poll is
    closed; every answer kept."""

    def __init__(self, platform: Platform, voter: Voter, round_: Round, seed: int) -> None:
        super().__init__(daemon=True)
        self.platform, self.voter, self.round = platform, voter, round_
        self.random = random.Random(seed)
        self.answers: list[Answer] = []
        self.error: BaseException | None = None

    def run(self) -> None:
        url = self.platform.url("voting", f"api/polls/{self.round.poll_id}/ballot/")
        deadline = time.monotonic() + DEADLINE
        try:
            while time.monotonic() < deadline:
                allocations = self._split()
                response = http(
                    "PUT",
                    url,
                    {"allocations": [{"cause": c, "points": p} for c, p in allocations.items()]},
                    token=self.voter.token,
                    timeout=60,
                )
                body = response.body if isinstance(response.body, dict) else {}
                self.answers.append(
                    Answer(response.status, body.get("receipt"), allocations, response.body)
                )
                if response.status == 400 and "closed" in str(body.get("poll")):
                    return
                time.sleep(self.random.uniform(0.02, 0.1))
        except BaseException as exc:  # a lost answer: the test says so
            self.error = exc

    def _split(self) -> dict[str, int]:
        causes = self.random.sample(self.round.causes, self.random.randint(1, 3))
        return {c: self.random.randint(1, POINTS // len(causes)) for c in causes}

    @property
    def accepted(self) -> list[Answer]:
        return [a for a in self.answers if a.status in (200, 201)]


def _pages(platform: Platform, service: str, path: str, token: str | None = None) -> list:
    """Every item of a paginated list, following `next`."""
    items: list = []
    url: str | None = platform.url(service, "api/" + path)
    while url:
        response = http("GET", url, token=token)
        assert response.status == 200, response
        items.extend(response.body["results"])
        url = response.body["next"]
    return items


def _poll(platform: Platform, operator: Operator, poll_id: str) -> dict:
    response = platform.api("GET", "polls", f"polls/{poll_id}/", token=operator.token)
    assert response.status == 200, response
    return response.body


def _at(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def _start_clients(platform: Platform, voters: list[Voter], round_: Round) -> list[Client]:
    clients = [Client(platform, v, round_, seed=i) for i, v in enumerate(voters)]
    for client in clients:
        client.start()
    # Re-voting steadily by the close, so ballots are in flight at its every moment.
    wait_until(
        lambda: all(len(c.accepted) >= 3 or c.error for c in clients),
        timeout=90,
        interval=0.1,
        message="every client's first re-votes",
    )
    return clients


def _close(platform: Platform, operator: Operator, round_: Round) -> datetime:
    closed = platform.api("POST", "polls", f"polls/{round_.poll_id}/close/", token=operator.token)
    assert closed.status == 200, closed
    assert closed.body["status"] == "closing", closed
    return _at(closed.body["closes_at"])


def _finish(platform: Platform, operator: Operator, round_: Round, clients: list[Client]) -> dict:
    for client in clients:
        client.join(DEADLINE + 30)
    wait_until(
        lambda: _poll(platform, operator, round_.poll_id)["status"] == "finalized",
        timeout=90,
        interval=0.5,
        message="polls to finalize the poll",
    )
    return _poll(platform, operator, round_.poll_id)


def _check_the_boundary(
    platform: Platform, operator: Operator, round_: Round, clients: list[Client], poll: dict
) -> dict:
    """The property, from what the clients were told and what the services show."""
    closes_at = _at(poll["closes_at"])
    for client in clients:
        assert client.error is None, client.error
        unexpected = [
            a
            for a in client.answers
            if a.status not in (200, 201) and not (a.status == 400 and "closed" in str(a.body))
        ]
        assert not unexpected, unexpected  # 2xx or "closed", nothing else
        assert client.accepted and client.answers[-1].status == 400, client.answers[-3:]

    expected_points = {c: 0 for c in round_.causes}
    told_counted: set[str] = set()
    for client in clients:
        revisions = _pages(
            platform,
            "voting",
            f"polls/{round_.poll_id}/ballot/revisions/",
            token=client.voter.token,
        )
        by_receipt = {r["receipt"]: r for r in revisions}
        accepted = [a.receipt for a in client.accepted]
        # Every revision voting has is one a client was told about (2xx), and vice versa.
        assert sorted(by_receipt) == sorted(accepted), client.voter.id
        last = client.accepted[-1]
        for answer in client.accepted:
            revision = by_receipt[answer.receipt]
            # Nothing at or after the recorded closes_at was accepted ...
            assert _at(revision["created_at"]) < closes_at, (revision, poll["closes_at"])
            # ... and every 2xx counts: the last one, the earlier ones replaced by it.
            assert revision["status"] == ("counted" if answer is last else "superseded"), revision
        told_counted.add(last.receipt)
        for cause, points in last.allocations.items():
            expected_points[cause] += points

    # The list the receipts digest is computed over is exactly the clients' last 2xx.
    listed = _pages(platform, "voting", f"polls/{round_.poll_id}/receipts/", token=operator.token)
    assert sorted(listed) == sorted(told_counted)
    results = platform.api("GET", "polls", f"polls/{round_.poll_id}/results/", token=operator.token)
    assert results.status == 200 and results.body["final"], results
    assert results.body["ballots"] == len(clients)
    assert {c["cause"]: c["points"] for c in results.body["causes"]} == expected_points
    assert (
        sum(c["payout_lovelace"] for c in results.body["causes"]) == results.body["fund_lovelace"]
    )
    return {"accepted": sum(len(c.accepted) for c in clients), "closes_at": closes_at}


def _accepted_after(
    platform: Platform, round_: Round, clients: list[Client], moment: datetime
) -> int:
    """How many accepted revisions voting created at or after `moment`."""
    count = 0
    for client in clients:
        revisions = _pages(
            platform,
            "voting",
            f"polls/{round_.poll_id}/ballot/revisions/",
            token=client.voter.token,
        )
        count += sum(1 for r in revisions if _at(r["created_at"]) >= moment)
    return count


def report(capsys, scenario: str, **facts) -> None:
    with capsys.disabled():
        print(f"\n[close boundary] {scenario}: " + ", ".join(f"{k} {v}" for k, v in facts.items()))


# ----------------------------------------------------------------------------- scenarios --


def test_a_close_while_twenty_clients_re_vote(
    platform: Platform, operator: Operator, voters: list[Voter], capsys
):
    round_ = open_round(platform, operator)
    clients = _start_clients(platform, voters, round_)
    requested = _close(platform, operator, round_)
    poll = _finish(platform, operator, round_, clients)
    checked = _check_the_boundary(platform, operator, round_, clients, poll)
    moved = (checked["closes_at"] - requested).total_seconds()
    report(
        capsys,
        "every process running",
        clients=len(clients),
        accepted=checked["accepted"],
        closes_at_moved_by=f"{moved:.3f} s",
    )


@pytest.mark.parametrize("stalled", ["polls-worker", "voting-worker"])
def test_a_close_with_a_stalled_relay(
    platform: Platform, operator: Operator, voters: list[Voter], stalled: str, capsys
):
    """polls-worker: voting hears of the close only after its requested closes_at, so it keeps
    accepting (and answering 2xx) until then; the final tally says so and polls records it.
    voting-worker: voting enforces the requested closes_at, but its final tally waits; polls
    stays closing meanwhile."""
    round_ = open_round(platform, operator)
    clients = _start_clients(platform, voters, round_)
    platform.stop(stalled)
    try:
        requested = _close(platform, operator, round_)
        # Well past the requested closes_at, with the relay still stalled.
        wait_until(
            lambda: time.time() > requested.timestamp() + 5,
            timeout=60,
            message="the requested closes_at to pass",
        )
        if stalled == "voting-worker":
            # Voting refuses ballots by the clock from closes_at on; closing the poll and
            # sending its final tally wait for the worker, so polls still shows it closing.
            wait_until(
                lambda: all(not c.is_alive() for c in clients),
                timeout=DEADLINE,
                message="every client to be refused",
            )
        still = _poll(platform, operator, round_.poll_id)
    finally:
        platform.spawn(stalled)
    poll = _finish(platform, operator, round_, clients)
    checked = _check_the_boundary(platform, operator, round_, clients, poll)
    # While voting's word could not reach polls, polls showed the close as pending.
    assert (still["status"], _at(still["closes_at"])) == ("closing", requested), still
    after_requested = _accepted_after(platform, round_, clients, requested)
    if stalled == "polls-worker":
        # The window a stalled relay opens: voting accepted past the requested closes_at,
        # and the closes_at polls finally shows covers those ballots.
        assert after_requested > 0 and checked["closes_at"] > requested
    moved = (checked["closes_at"] - requested).total_seconds()
    report(
        capsys,
        f"{stalled} stopped across the close",
        clients=len(clients),
        accepted=checked["accepted"],
        accepted_after_requested_closes_at=after_requested,
        closes_at_moved_by=f"{moved:.3f} s",
    )
