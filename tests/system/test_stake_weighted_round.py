"""A stake-weighted funding round in chain mode, real processes on PostgreSQL and NATS, nothing
mocked: the `file` chain source, short epochs, real stake keys and CIP-8 signatures.

Delegators prove their stake addresses over the HTTP API (one signs in with the wallet alone),
the pool's stake distribution of five epochs is imported with `manage.py import_stake_snapshot`,
and a `stake_x_loyalty` poll with a cap and a minimum stake opens. A non-delegator, a delegator
who left the pool before the snapshot epoch, one under the minimum and an account without a
proven address are refused with the documented 403s; every power (the API and the CSV table)
equals the computation written out below, independently of voting's SQL; the cap holds in the
ballots; after the close the payouts sum exactly to the fund and match the split by hand. A
second round counts `points` in chain mode: the pool's delegators only, their points capped;
there an address that moves to another account after voting counts once.
"""

from __future__ import annotations

import csv
import io
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import pytest
from pycardano import Address, Network, StakeSigningKey
from pycardano.cip import cip8
from pycardano.crypto.bech32 import encode

from shared_events.core.testing import wait_until
from tests.system.actors import (
    PASSWORD,
    Operator,
    create_causes,
    create_operator,
    schedule_poll,
)
from tests.system.harness import Platform, Response, http, started_platform
from tests.system.test_funding_round_end_to_end import split

POOL_ID = encode("pool", bytes(range(28)))
SNAPSHOT = 500  # the epoch running while the test runs (see ChainPlatform)
EPOCH_SECONDS = 1800
WINDOW = 4  # LOYALTY_BACKFILL_EPOCHS: loyalty looks back this many epochs at most
FUND = 7_000_000_019  # lovelace: odd, so the split has remainders to hand out
MIN_STAKE = 100_000_000  # 100 ada
CAP_PERCENT = 40
DEADLINE = 60.0

NOT_IN_DISTRIBUTION = (
    f"Not eligible: your stake address is not in the pool's stake distribution of epoch {SNAPSHOT}."
)
NO_STAKE_ADDRESS = "Not eligible: your account has no proven stake address."
HELD_ELSEWHERE = (
    "Not eligible: another account has voted in this poll with the power of your stake "
    "address (it was that account's when it voted); an address's power counts once per poll."
)


class ChainPlatform(Platform):
    """The platform in chain mode with the `file` source, on epochs of half an hour numbered so
    that epoch 500 began a few seconds ago: the test runs inside it."""

    def environment(self) -> dict[str, str]:
        env = super().environment()
        began = datetime.now(UTC) - timedelta(seconds=5)
        env.update(
            CHAIN_SOURCE="file",
            OPEN_ELIGIBILITY="false",
            POOL_ID=POOL_ID,
            CARDANO_NETWORK="mainnet",
            LOYALTY_BACKFILL_EPOCHS=str(WINDOW),
            CARDANO_EPOCH_REFERENCE_NUMBER=str(SNAPSHOT),
            CARDANO_EPOCH_REFERENCE_START=began.isoformat(),
            CARDANO_EPOCH_LENGTH_SECONDS=str(EPOCH_SECONDS),
        )
        return env


@pytest.fixture(scope="module")
def chain_platform() -> Iterator[Platform]:
    with started_platform(ChainPlatform()) as running:
        yield running


@pytest.fixture
def platform(chain_platform: Platform) -> Platform:
    """Under the name conftest's report hook looks for: a failure shows the processes' logs."""
    return chain_platform


@dataclass
class Delegator:
    name: str
    key: StakeSigningKey = field(default_factory=StakeSigningKey.generate)
    token: str = ""
    # lovelace per epoch in the pool's distribution; an epoch missing: not delegated then
    stake: dict[int, int] = field(default_factory=dict)

    @property
    def stake_address(self) -> str:
        key_hash = self.key.to_verification_key().hash()
        return str(Address(staking_part=key_hash, network=Network.MAINNET))

    def sign(self, challenge: dict) -> dict:
        """What a CIP-30 wallet's signData(rewardAddress, payload_hex) answers, and the id."""
        message = bytes.fromhex(challenge["payload_hex"]).decode("utf-8")
        signed = cip8.sign(message, self.key, attach_cose_key=True, network=Network.MAINNET)
        return {"challenge_id": challenge["challenge_id"], **signed}


def eventually(check, what: str, timeout: float = DEADLINE) -> Response:
    """Ask `check()` for (response, ok) until ok; the last response."""
    last: list[Response] = []

    def attempt() -> bool:
        response, ok = check()
        last[:] = [response]
        return ok

    try:
        wait_until(attempt, timeout=timeout, interval=0.2, message=what)
    except AssertionError as exc:
        raise AssertionError(f"{exc}; last answer {last}") from None
    return last[0]


def register(platform: Platform, who: Delegator) -> None:
    email = f"{who.name}-{uuid.uuid4().hex[:8]}@example.com"
    registered = platform.api(
        "POST", "accounts", "register/", {"email": email, "password": PASSWORD}
    )
    assert registered.status == 201, registered
    tokens = platform.api("POST", "accounts", "token/", {"email": email, "password": PASSWORD})
    assert tokens.status == 200, tokens
    who.token = tokens.body["access"]


def prove(platform: Platform, who: Delegator) -> None:
    """Link the stake address to the signed-in account with a real CIP-8 signature."""
    challenge = platform.api("POST", "accounts", "me/stake-address/challenge/", token=who.token)
    assert challenge.status == 201, challenge
    proved = platform.api(
        "POST", "accounts", "me/stake-address/verify/", who.sign(challenge.body), token=who.token
    )
    assert proved.status == 200, proved
    assert proved.body["stake_address"] == who.stake_address
    assert proved.body["stake_address_verified_at"], proved


def wallet_sign_in(platform: Platform, who: Delegator) -> None:
    """Sign in with the stake key alone: the account is made on first use."""
    challenge = platform.api(
        "POST", "accounts", "wallet/challenge/", {"stake_address": who.stake_address}
    )
    assert challenge.status == 201, challenge
    tokens = platform.api("POST", "accounts", "wallet/token/", who.sign(challenge.body))
    assert tokens.status == 200, tokens
    who.token = tokens.body["access"]


def loyalty(stake: dict[int, int], epoch: int) -> int:
    """Consecutive epochs up to `epoch` in the pool, `WINDOW` at most (README, Loyalty)."""
    count = 0
    while count < WINDOW and epoch - count in stake:
        count += 1
    return count


def powers_by_hand(
    distribution: dict[str, dict[int, int]], *, epoch: int, minimum: int, cap_percent: int
) -> dict[str, tuple[int, int, int, int]]:
    """stake address -> (lovelace, loyalty, power before the cap, power), `stake_x_loyalty`:
    whole ada times loyalty; at least `minimum` lovelace; no one above cap_percent of the
    total before the cut, the excess given to nobody."""
    rows = {}
    for address, stake in distribution.items():
        if epoch in stake and stake[epoch] >= minimum:
            ada = stake[epoch] // 1_000_000
            rows[address] = (stake[epoch], loyalty(stake, epoch), ada * loyalty(stake, epoch))
    cap = sum(uncapped for _, _, uncapped in rows.values()) * cap_percent // 100
    return {a: (lovelace, loy, up, min(up, cap)) for a, (lovelace, loy, up) in rows.items()}


def snapshot_csv(distribution: dict[str, dict[int, int]]) -> str:
    """The pool's export as its db-sync query writes it (README, The chain source)."""
    lines = ["stake_address,epoch,lovelace"]
    for address, stake in sorted(distribution.items()):
        lines += [f"{address},{epoch},{lovelace}" for epoch, lovelace in sorted(stake.items())]
    return "\n".join(lines) + "\n"


def frozen_power_table(
    platform: Platform, poll_id: str, operator: Operator, asker: Delegator
) -> list[dict[str, str]]:
    """The poll's power table as the operator's CSV gives it, once voting froze it (the power
    endpoint answers `asker` 409 until then)."""
    eventually(
        lambda: (
            r := platform.api("GET", "voting", f"polls/{poll_id}/power/", token=asker.token),
            r.status == 200,
        ),
        "voting to freeze the poll's power table (409 until then)",
    )
    return power_table(platform, poll_id, operator)


def power_table(platform: Platform, poll_id: str, operator: Operator) -> list[dict[str, str]]:
    table = http(
        "GET",
        platform.url("voting", f"api/polls/{poll_id}/power/table/"),
        token=operator.token,
        accept="text/csv",
    )
    assert table.status == 200, table
    return list(csv.DictReader(io.StringIO(table.body)))


def powers_in(rows: list[dict[str, str]]) -> dict[str, tuple[int, int, int | None, int | None]]:
    """stake address -> (lovelace, loyalty, power before the cap, power) of the table's rows;
    the powers are blank for a delegator with no account here."""

    def number(cell: str) -> int | None:
        return int(cell) if cell else None

    return {
        row["stake_address"]: (
            int(row["lovelace"]),
            int(row["loyalty"]),
            number(row["uncapped_power"]),
            number(row["power"]),
        )
        for row in rows
    }


def assert_eligible(
    platform: Platform, poll_id: str, voters: tuple[Delegator, ...], expected: dict
) -> None:
    """Each voter's power over the API is their address's row's."""
    for who in voters:
        mine = platform.api("GET", "voting", f"polls/{poll_id}/power/", token=who.token)
        assert mine.status == 200, mine
        assert mine.body == {
            "eligible": True,
            "power": expected[who.stake_address][3],
            "reason": None,
        }


def cast(platform: Platform, poll_id: str, who: Delegator, allocations: dict[str, int]) -> Response:
    body = {"allocations": [{"cause": c, "points": p} for c, p in allocations.items()]}
    return platform.api("PUT", "voting", f"polls/{poll_id}/ballot/", body, token=who.token)


def final_results(platform: Platform, poll_id: str, who: Delegator, closes_at: datetime) -> dict:
    """The poll's results once final, after its close."""
    return eventually(
        lambda: (
            r := platform.api("GET", "polls", f"polls/{poll_id}/results/", token=who.token),
            r.status == 200 and r.body["final"],
        ),
        "final results",
        timeout=(closes_at - datetime.now(UTC)).total_seconds() + DEADLINE,
    ).body


def points_by_cause(causes: list[str], ballots: list[dict[str, int]]) -> dict[str, int]:
    """The points the ballots (their allocations) gave each cause."""
    given = dict.fromkeys(causes, 0)
    for allocations in ballots:
        for cause, points in allocations.items():
            given[cause] += points
    return given


@dataclass
class Pool:
    """The pool's delegators with their proven stake addresses, and its imported history."""

    operator: Operator
    alice: Delegator
    bob: Delegator
    carol: Delegator
    gina: Delegator
    dan: Delegator
    erin: Delegator
    frank: Delegator
    nobody: Delegator
    distribution: dict[str, dict[int, int]]
    strangers: set[str]  # delegators of the pool with no account here


@pytest.fixture(scope="module")
def pool(chain_platform: Platform, tmp_path_factory: pytest.TempPathFactory) -> Pool:
    platform, tmp_path = chain_platform, tmp_path_factory.mktemp("pool")
    operator = create_operator(platform)

    # 1. The delegators and their stake (lovelace) in epochs 496-500.
    span = range(SNAPSHOT - 4, SNAPSHOT + 1)
    alice = Delegator("alice", stake={e: 1_500_000_000 + e for e in span})  # loyalty 4 (window)
    bob = Delegator("bob", stake={497: 240_000_000, 499: 250_000_000, 500: 250_999_999})  # 2
    carol = Delegator("carol", stake={499: 9_000_000_000, 500: 10_000_000_000})  # the whale
    gina = Delegator("gina", stake={500: 3_000_500_000})  # new in the snapshot epoch
    dan = Delegator("dan", stake={e: 99_000_000 for e in span})  # under the minimum
    erin = Delegator("erin", stake={496: 700_000_000, 497: 700_000_000, 498: 700_000_000})  # left
    frank = Delegator("frank")  # proves an address that never delegated to the pool
    nobody = Delegator("nobody")  # signs in with an email only: no proven address
    # Delegators with no account here: their power counts in the total the cap is taken of.
    others = {
        Delegator("x1").stake_address: {e: 800_000_000 for e in span},
        Delegator("x2").stake_address: {498: 500_000_001, 499: 500_000_001, 500: 500_000_001},
    }

    # 2. They prove their stake addresses over the API with real CIP-8 signatures; Gina signs
    # in with her wallet alone (her account is made then).
    for who in (alice, bob, carol, dan, erin, frank):
        register(platform, who)
        prove(platform, who)
    wallet_sign_in(platform, gina)
    register(platform, nobody)
    # Gina's account has no password: she adds an email and sets a first one, and signs in.
    email = f"gina-{uuid.uuid4().hex[:8]}@example.com"
    first = platform.api(
        "PATCH", "accounts", "me/", {"email": email, "password": PASSWORD}, token=gina.token
    )
    assert first.status == 200 and first.body["email"] == email, first
    by_password = platform.api("POST", "accounts", "token/", {"email": email, "password": PASSWORD})
    assert by_password.status == 200, by_password
    voters = (alice, bob, carol, gina, dan, erin, frank)

    # 3. The operator imports the pool's distribution of epochs 496-500 (the file source).
    distribution = {who.stake_address: who.stake for who in voters if who.stake} | others
    export = tmp_path / "stake.csv"
    export.write_text(snapshot_csv(distribution))
    imported = platform.manage("accounts", "import_stake_snapshot", str(export))
    assert imported.returncode == 0, imported.stdout + imported.stderr
    again = platform.manage("accounts", "import_stake_snapshot", str(export))
    assert again.returncode == 0, again.stdout + again.stderr  # idempotent: nothing changes
    assert again.stdout.count("already stored, unchanged") == len(span), again.stdout

    for who in (*voters, nobody):
        eventually(
            lambda w=who: (
                r := platform.api("GET", "voting", "me/", token=w.token),
                r.status == 200
                and r.body["stake_address"] == (None if w is nobody else w.stake_address),
            ),
            f"voting to know {who.name}'s proven stake address",
        )
    return Pool(
        operator, alice, bob, carol, gina, dan, erin, frank, nobody, distribution, set(others)
    )


def test_a_stake_weighted_round_from_proofs_to_payouts(platform: Platform, pool: Pool):
    operator, distribution = pool.operator, pool.distribution
    alice, bob, carol, gina = pool.alice, pool.bob, pool.carol, pool.gina
    dan, erin, frank, nobody = pool.dan, pool.erin, pool.frank, pool.nobody

    # 4. A stake_x_loyalty poll with a cap and a minimum stake opens in a few seconds; its
    # snapshot epoch is left to polls: the epoch it opens in.
    water, meals, trees = create_causes(platform, operator, ["Water", "Meals", "Trees"])
    opens_at = datetime.now(UTC) + timedelta(seconds=4)
    closes_at = opens_at + timedelta(seconds=45)
    poll_id = schedule_poll(
        platform,
        operator,
        {
            "title": "Stake-weighted round",
            "fund_lovelace": FUND,
            "opens_at": opens_at.isoformat(),
            "closes_at": closes_at.isoformat(),
            "causes": [water, meals, trees],
            "results_visibility": "live",
            "power_formula": "stake_x_loyalty",
            "min_stake_lovelace": MIN_STAKE,
            "cap_percent": CAP_PERCENT,
        },
    )

    # 5. Once open, voting freezes the table from the replicated epoch: the operator's CSV
    # equals the computation by hand, row by row, and the cap cut the whale.
    expected = powers_by_hand(
        distribution, epoch=SNAPSHOT, minimum=MIN_STAKE, cap_percent=CAP_PERCENT
    )
    assert set(expected) == {
        alice.stake_address,
        bob.stake_address,
        carol.stake_address,
        gina.stake_address,
        *pool.strangers,
    }
    rows = frozen_power_table(platform, poll_id, operator, alice)
    assert powers_in(rows) == expected
    assert {row["poll_id"] for row in rows} == {poll_id}
    total_before = sum(uncapped for _, _, uncapped, _ in expected.values())
    cap = total_before * CAP_PERCENT // 100
    assert expected[carol.stake_address][2] > cap == expected[carol.stake_address][3]
    assert max(power for *_, power in expected.values()) * 100 <= total_before * CAP_PERCENT
    assert (expected[alice.stake_address][1], expected[bob.stake_address][1]) == (WINDOW, 2)

    # 6. Each voter's power over the API is their row's; the others are refused, saying why.
    assert_eligible(platform, poll_id, (alice, bob, carol, gina), expected)
    below = (
        f"Not eligible: your stake in epoch {SNAPSHOT}, {dan.stake[SNAPSHOT]} lovelace, is below "
        f"this poll's minimum of {MIN_STAKE} lovelace."
    )
    refusals = [
        (dan, below),
        (erin, NOT_IN_DISTRIBUTION),
        (frank, NOT_IN_DISTRIBUTION),
        (nobody, NO_STAKE_ADDRESS),
    ]
    for who, reason in refusals:
        mine = platform.api("GET", "voting", f"polls/{poll_id}/power/", token=who.token)
        assert mine.status == 200 and mine.body == {
            "eligible": False,
            "power": None,
            "reason": reason,
        }, (who.name, mine)
        ballot = cast(platform, poll_id, who, {water: 1})
        assert ballot.status == 403 and ballot.body == {"detail": reason}, (who.name, ballot)

    # 7. Ballots: each within its frozen power; the whale cannot spend past the cap.
    power = {who.name: expected[who.stake_address][3] for who in (alice, bob, carol, gina)}
    over = cast(platform, poll_id, carol, {water: power["carol"] + 1})
    assert over.status == 400 and f"you have {power['carol']}" in str(over.body), over
    ballots = {
        "alice": (alice, {water: power["alice"] // 3, meals: power["alice"] - power["alice"] // 3}),
        "bob": (bob, {trees: power["bob"]}),
        "carol": (carol, {water: power["carol"]}),
        "gina": (gina, {meals: 1_000, trees: power["gina"] - 1_500}),  # not all of it
    }
    for who, allocations in ballots.values():
        accepted = cast(platform, poll_id, who, allocations)
        assert accepted.status in (200, 201), (who.name, accepted)

    # 8. Each row voted with names its voter now (a pseudonym): the address's power counts
    # once in the poll, whichever account holds it later.
    after = power_table(platform, poll_id, operator)
    held = {row["stake_address"] for row in after if row["voter"]}
    assert held == {who.stake_address for who, _ in ballots.values()}, after

    # 9. The poll closes on schedule; the final results carry the power as frozen.
    body = final_results(platform, poll_id, alice, closes_at)
    points = points_by_cause([water, meals, trees], [a for _, a in ballots.values()])
    assert body["status"] == "finalized" and body["ballots"] == 4, body
    assert (body["power_formula"], body["snapshot_epoch"]) == ("stake_x_loyalty", SNAPSHOT)
    assert body["eligible"] == len(expected)
    assert body["total_power"] == sum(power for *_, power in expected.values())
    assert body["total_points"] == sum(points.values())
    by_cause = {c["cause"]: c for c in body["causes"]}
    assert {c: r["points"] for c, r in by_cause.items()} == points

    # 10. The payouts sum exactly to the fund and follow the split, recomputed by hand.
    payouts = {c: r["payout_lovelace"] for c, r in by_cause.items()}
    assert sum(payouts.values()) == FUND
    assert payouts == split(FUND, points)


def test_a_points_round_in_chain_mode_counts_the_pools_delegators_only(
    platform: Platform, pool: Pool
):
    operator, distribution = pool.operator, pool.distribution
    alice, bob, carol, gina = pool.alice, pool.bob, pool.carol, pool.gina

    # 1. The operator adjusts some points; voting's replica follows.
    deltas = {"alice": 50, "bob": -70, "carol": 400, "gina": 0}
    points = {}
    for who in (alice, bob, carol, gina):
        account = platform.api("GET", "accounts", "me/", token=who.token).body
        if deltas[who.name]:
            adjusted = platform.api(
                "POST",
                "accounts",
                f"accounts/{account['id']}/points/",
                {"delta": deltas[who.name], "reason": "points round"},
                token=operator.token,
            )
            assert adjusted.status == 201, adjusted
        points[who.stake_address] = account["points"] + deltas[who.name]
        eventually(
            lambda w=who: (
                r := platform.api("GET", "voting", "me/", token=w.token),
                r.status == 200 and r.body["points"] == points[w.stake_address],
            ),
            f"voting to know {who.name}'s points",
        )

    # 2. A points poll with a minimum stake and a cap: the pool's delegators of the snapshot
    # epoch only, each with their points as voting knows them at the freeze.
    water, meals = create_causes(platform, operator, ["Wells", "Books"])
    opens_at = datetime.now(UTC) + timedelta(seconds=4)
    closes_at = opens_at + timedelta(seconds=45)
    fund = 1_000_000_007
    poll_id = schedule_poll(
        platform,
        operator,
        {
            "title": "Points round",
            "fund_lovelace": fund,
            "opens_at": opens_at.isoformat(),
            "closes_at": closes_at.isoformat(),
            "causes": [water, meals],
            "results_visibility": "live",
            "power_formula": "points",
            "min_stake_lovelace": MIN_STAKE,
            "cap_percent": 50,
            "snapshot_epoch": SNAPSHOT,
        },
    )

    # 3. The table by hand: a row per address of the epoch with the minimum, its voter's
    # points (none for a delegator with no account here), capped at half the known total.
    rows = {
        address: stake[SNAPSHOT]
        for address, stake in distribution.items()
        if stake.get(SNAPSHOT, 0) >= MIN_STAKE
    }
    cap = sum(points.values()) * 50 // 100
    expected = {
        address: (
            lovelace,
            loyalty(distribution[address], SNAPSHOT),
            points.get(address),
            None if address not in points else min(points[address], cap),
        )
        for address, lovelace in rows.items()
    }
    assert expected[carol.stake_address][2] > cap  # the cap cuts someone
    assert powers_in(frozen_power_table(platform, poll_id, operator, alice)) == expected
    assert_eligible(platform, poll_id, (alice, bob, carol, gina), expected)
    for who in (pool.erin, pool.frank):
        refused = cast(platform, poll_id, who, {water: 1})
        assert refused.status == 403 and refused.body == {"detail": NOT_IN_DISTRIBUTION}, refused

    # 4. Ballots within the frozen points; the capped whale cannot spend past the cap.
    power = {who.name: expected[who.stake_address][3] for who in (alice, bob, carol, gina)}
    assert cast(platform, poll_id, carol, {water: power["carol"] + 1}).status == 400
    ballots = [
        (alice, {water: power["alice"]}),
        (bob, {meals: power["bob"]}),
        (carol, {water: power["carol"] // 2, meals: power["carol"] - power["carol"] // 2}),
        (gina, {meals: power["gina"]}),
    ]
    for who, allocations in ballots:
        assert cast(platform, poll_id, who, allocations).status in (200, 201), who.name

    # 5. Alice's address moves to Frank's account (a new proof there, signed with her key): its
    # power counted in this poll already, so Frank is refused; Alice keeps the power she
    # voted with, and changes her ballot.
    frank = pool.frank
    challenge = platform.api("POST", "accounts", "me/stake-address/challenge/", token=frank.token)
    moved = platform.api(
        "POST",
        "accounts",
        "me/stake-address/verify/",
        alice.sign(challenge.body),
        token=frank.token,
    )
    assert moved.status == 200 and moved.body["stake_address"] == alice.stake_address, moved
    for who, holds in ((frank, alice.stake_address), (alice, None)):
        eventually(
            lambda w=who, h=holds: (
                r := platform.api("GET", "voting", "me/", token=w.token),
                r.status == 200 and r.body["stake_address"] == h,
            ),
            f"voting to see the address move ({who.name})",
        )
    refused = cast(platform, poll_id, frank, {water: 1})
    assert refused.status == 403 and refused.body == {"detail": HELD_ELSEWHERE}, refused
    ballots[0] = (alice, {meals: power["alice"]})
    assert cast(platform, poll_id, alice, {meals: power["alice"] + 1}).status == 400
    assert cast(platform, poll_id, alice, ballots[0][1]).status == 200

    # 6. After the close: the payouts sum to the fund and match the split by hand.
    body = final_results(platform, poll_id, alice, closes_at)
    given = points_by_cause([water, meals], [a for _, a in ballots])
    assert (body["power_formula"], body["snapshot_epoch"]) == ("points", SNAPSHOT)
    assert body["eligible"] == len(expected)
    assert body["total_power"] == sum(p for *_, p in expected.values() if p is not None)
    payouts = {c["cause"]: c["payout_lovelace"] for c in body["causes"]}
    assert {c["cause"]: c["points"] for c in body["causes"]} == given
    assert sum(payouts.values()) == fund and payouts == split(fund, given)
