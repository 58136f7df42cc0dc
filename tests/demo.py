"""`python manage_all.py demo`: a whole funding round on the embedded default.

It starts the platform (the same processes as `up`, on the default ports when they are free),
seeds an operator, five causes and 50 delegators with different points, opens a short poll,
casts and changes ballots over the HTTP API like real clients, waits for the close and prints
the final results and payouts. It ends as an operator would: a payout transaction paying every
cause its share (generated with pycardano, not submitted) is recorded and, with no chain source
to verify it, confirmed by hand; the poll becomes paid, and voting shows the delegators so.
Then the platform keeps running for you to look around (the operator's credentials are
printed) until Ctrl-C, unless `--exit` was given.
"""

from __future__ import annotations

import os
import random
import secrets
import signal
import sys
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import manage_all
from shared_events.core.testing import port_open, wait_until
from tests.system.harness import Platform, Response

CAUSES = [
    "Clean water wells",
    "School meals",
    "Reforestation",
    "Animal shelter",
    "Open-source Cardano tooling",
]
DELEGATORS = 50
FUND_LOVELACE = 25_000_000_000  # 25,000 ADA
# Only the embedded default: a developer's database or broker settings are left alone.
_EMBEDDED_ONLY = (
    "DATABASE_URL",
    "NATS_URL",
    "CELERY_BROKER_URL",
    "CACHE_URL",
    *(f"{s.upper()}_DATABASE_URL" for s in manage_all.SERVICES),
)


class Progress:
    """One line per step, redrawn in place: `[#####.....]  25/50  registering delegators`."""

    def __init__(self, label: str, total: int, width: int = 30) -> None:
        self.label, self.total, self.width, self.done = label, max(total, 1), width, 0
        self.started = time.monotonic()
        self._draw()

    def advance(self, n: int = 1) -> None:
        self.done = min(self.total, self.done + n)
        self._draw()

    def _draw(self, final: bool = False) -> None:
        if not sys.stdout.isatty() and not final:
            return  # a log file gets the finished line only, not every redraw
        filled = self.width * self.done // self.total
        bar = "#" * filled + "." * (self.width - filled)
        sys.stdout.write(f"\r  [{bar}] {self.done:>4}/{self.total:<4} {self.label}")
        sys.stdout.flush()

    def finish(self, note: str = "") -> None:
        self.done = self.total
        if sys.stdout.isatty():
            sys.stdout.write("\r")
        self._draw(final=True)
        sys.stdout.write(f"  {time.monotonic() - self.started:.1f}s {note}\n")


def _wait_with_progress(label: str, until: datetime) -> None:
    seconds = max(1, int((until - datetime.now(UTC)).total_seconds()) + 1)
    bar = Progress(label, seconds)
    while datetime.now(UTC) < until:
        time.sleep(min(1.0, max(0.0, (until - datetime.now(UTC)).total_seconds())))
        bar.advance()
    bar.finish()


class DemoPlatform(Platform):
    """The harness's platform, on the embedded default and on the default ports if free."""

    def environment(self) -> dict[str, str]:
        for name in _EMBEDDED_ONLY:
            os.environ.pop(name, None)
        env = super().environment()
        for service, port in manage_all.SERVICES.items():
            if not port_open(port):
                env[f"{service.upper()}_PORT"] = str(port)
        return env


def _ok(response: Response, *expected: int) -> Any:
    if response.status not in expected:
        raise RuntimeError(f"unexpected answer {response}")
    return response.body


def _parallel(label: str, items: list[Any], work: Callable[[Any], Any]) -> list[Any]:
    bar = Progress(label, len(items))
    results: list[Any] = []
    # Four clients at once: PBKDF2 password hashing dominates sign-up and sign-in.
    with ThreadPoolExecutor(max_workers=4) as pool:
        for result in pool.map(work, items):
            results.append(result)
            bar.advance()
    bar.finish()
    return results


def _allocation(rng: random.Random, causes: list[str], points: int) -> list[dict[str, Any]]:
    chosen = rng.sample(causes, rng.randint(1, 3))
    budget = rng.randint(max(1, points // 2), points)
    cuts = sorted(rng.randint(0, budget) for _ in range(len(chosen) - 1))
    shares = [b - a for a, b in zip([0, *cuts], [*cuts, budget], strict=True)]
    if not any(shares):
        shares[0] = 1
    return [{"cause": c, "points": p} for c, p in zip(chosen, shares, strict=True)]


def run(platform: Platform, *, seed: int = 7) -> dict[str, Any]:
    rng = random.Random(seed)
    password = f"demo-{secrets.token_hex(6)}"
    operator_email = f"operator-{secrets.token_hex(3)}@demo.example"

    created = platform.manage(
        "accounts", "createoperator", "--email", operator_email, "--password", password
    )
    if created.returncode != 0:
        raise RuntimeError(created.stderr)
    operator = _ok(
        platform.api("POST", "accounts", "token/", {"email": operator_email, "password": password}),
        200,
    )["access"]
    print(f"  operator {operator_email} / {password}")

    addresses = [_payout_address() for _ in CAUSES]
    causes = [
        _ok(
            platform.api(
                "POST",
                "polls",
                "causes/",
                {
                    "title": title,
                    "description": f"Demo cause: {title.lower()}.",
                    "url": "https://example.org/" + title.split()[0].lower(),
                    "payout_address": address,
                },
                token=operator,
            ),
            201,
        )["id"]
        for title, address in zip(CAUSES, addresses, strict=True)
    ]

    def enrol(i: int) -> dict[str, Any]:
        email = f"delegator{i:02d}-{secrets.token_hex(2)}@demo.example"
        account = _ok(
            platform.api("POST", "accounts", "register/", {"email": email, "password": password}),
            201,
        )
        # The initial grant is 100: from 10 to 500 points, never exactly 100 (a change of 0
        # points is refused). Drawn in the worker threads, so in any order, hence per index.
        extra = random.Random(seed * 1000 + i).choice([p for p in range(10, 501) if p != 100]) - 100
        _ok(
            platform.api(
                "POST",
                "accounts",
                f"accounts/{account['id']}/points/",
                {"delta": extra, "reason": "demo: stake-weighted bonus"},
                token=operator,
            ),
            201,
        )
        token = _ok(
            platform.api("POST", "accounts", "token/", {"email": email, "password": password}), 200
        )["access"]
        return {"id": account["id"], "token": token, "points": 100 + extra}

    delegators = _parallel("registering delegators", list(range(DELEGATORS)), enrol)

    opens_at = datetime.now(UTC) + timedelta(seconds=4)
    closes_at = opens_at + timedelta(seconds=15)
    poll = _ok(
        platform.api(
            "POST",
            "polls",
            "polls/",
            {
                "title": "Demo funding round",
                "description": "Where should this epoch's fund go?",
                "fund_lovelace": FUND_LOVELACE,
                "opens_at": opens_at.isoformat(),
                "closes_at": closes_at.isoformat(),
                "causes": causes,
                "results_visibility": "live",
            },
            token=operator,
        ),
        201,
    )
    _ok(platform.api("POST", "polls", f"polls/{poll['id']}/schedule/", token=operator), 200)

    _wait_with_progress("waiting for the poll to open", opens_at)
    wait_until(
        lambda: (
            platform.api("GET", "polls", f"polls/{poll['id']}/", token=operator).body.get("status")
            == "open"
        ),
        timeout=30,
        message="the poll to open",
    )

    def cast(delegator: dict[str, Any], allocations: list[dict[str, Any]] | None = None) -> None:
        body = {"allocations": allocations or _allocation(rng, causes, delegator["points"])}
        wait_until(
            lambda: (
                platform.api(
                    "PUT", "voting", f"polls/{poll['id']}/ballot/", body, token=delegator["token"]
                ).status
                in (200, 201)
            ),
            timeout=30,
            message="a ballot to be accepted",
        )

    _parallel("casting ballots", delegators, cast)
    _parallel("re-voting", rng.sample(delegators, 10), cast)
    _parallel(
        "retracting",
        rng.sample(delegators, 3),
        lambda d: _ok(
            platform.api("DELETE", "voting", f"polls/{poll['id']}/ballot/", token=d["token"]),
            204,
            404,
        ),
    )

    _wait_with_progress("waiting for the close", closes_at)
    bar = Progress("final tally and payouts", 1)
    results: dict[str, Any] = {}

    def finalized() -> bool:
        answer = platform.api("GET", "polls", f"polls/{poll['id']}/results/", token=operator)
        results.update(answer.body if answer.status == 200 else {})
        return bool(results.get("final"))

    wait_until(finalized, timeout=60, interval=0.2, message="final results")
    bar.finish()

    bar = Progress("recording the payout transaction", 1)
    address_of = dict(zip(causes, addresses, strict=True))
    tx_hash = _payout_tx_hash(
        [(address_of[c["cause"]], c["payout_lovelace"]) for c in results["causes"]]
    )
    payout = _ok(
        platform.api(
            "POST", "polls", f"polls/{poll['id']}/payouts/", {"tx_hash": tx_hash}, token=operator
        ),
        201,
    )
    _ok(
        platform.api(
            "POST",
            "polls",
            f"polls/{poll['id']}/payouts/{payout['id']}/confirm/",
            {"note": "demo: a generated transaction, not submitted; confirmed by hand"},
            token=operator,
        ),
        200,
    )

    def paid() -> bool:
        answer = platform.api("GET", "polls", f"polls/{poll['id']}/results/", token=operator)
        results.update(answer.body if answer.status == 200 else {})
        return results.get("status") == "paid"

    def voting_says_paid() -> bool:
        answer = platform.api("GET", "voting", "me/ballots/", token=delegators[0]["token"])
        return answer.status == 200 and all(b["poll_paid"] for b in answer.body["results"])

    wait_until(paid, timeout=30, interval=0.2, message="the poll to be paid")
    wait_until(voting_says_paid, timeout=30, interval=0.2, message="voting to show it paid")
    bar.finish()
    results["payout_tx_hash"] = tx_hash
    return results


def _payout_address() -> str:
    """A fresh Shelley enterprise address of the embedded default's network (mainnet), from a
    real payment key."""
    from pycardano import Address, Network, PaymentSigningKey, PaymentVerificationKey

    key = PaymentVerificationKey.from_signing_key(PaymentSigningKey.generate())
    return str(Address(payment_part=key.hash(), network=Network.MAINNET))


def _payout_tx_hash(outputs: list[tuple[str, int]]) -> str:
    """The id of a transaction body paying each address its lovelace (spending an input made
    up for the demo): what an operator's wallet would build, never submitted."""
    from pycardano import Address, TransactionBody, TransactionInput, TransactionOutput
    from pycardano.hash import TransactionId

    body = TransactionBody(
        inputs=[TransactionInput(TransactionId(secrets.token_bytes(32)), 0)],
        outputs=[
            TransactionOutput(Address.from_primitive(address), lovelace)
            for address, lovelace in outputs
            if lovelace > 0
        ],
        fee=200_000,
    )
    return body.id.payload.hex()


def print_results(results: dict[str, Any]) -> None:
    rows = sorted(results["causes"], key=lambda c: -c["points"])
    print(f"\n  {'cause':<30} {'points':>7} {'voters':>6} {'share':>8} {'payout (ADA)':>16}")
    print("  " + "-" * 71)
    for c in rows:
        share = f"{Decimal(c['share']) * 100:.2f}%"
        print(
            f"  {c['title']:<30} {c['points']:>7} {c['voters']:>6} {share:>8} "
            f"{Decimal(c['payout_ada']):>16,.6f}"
        )
    paid = sum(c["payout_lovelace"] for c in rows)
    print("  " + "-" * 71)
    print(
        f"  {'total':<30} {results['total_points']:>7} {results['ballots']:>6} "
        f"{'':>8} {Decimal(paid) / 1_000_000:>16,.6f}"
    )
    print(f"\n  ballots counted: {results['ballots']}; digest {results['ballots_digest']}")
    print(
        f"  receipts digest: {results['receipts_digest']} (the receipts at "
        f"/voting/api/polls/{results['poll']}/receipts/)"
    )
    print(
        f"  payouts sum to the fund exactly: {paid == results['fund_lovelace']} "
        f"({paid} of {results['fund_lovelace']} lovelace)"
    )
    if results.get("payout_tx_hash"):
        states = sorted({c["payout_status"] or "unpaid" for c in rows if c["payout_lovelace"]})
        print(
            f"  payout transaction {results['payout_tx_hash']}: {', '.join(states)} "
            f"(no chain source here: confirmed by hand, not verified on chain); "
            f"poll {results['status']}"
        )


def main(*, exit_after: bool) -> int:
    print("Starting the platform on the embedded default ...")
    platform = DemoPlatform()
    started = time.monotonic()
    try:
        platform.start()
        print(
            f"  up in {time.monotonic() - started:.1f}s: accounts {platform.url('accounts')}, "
            f"polls {platform.url('polls')}, voting {platform.url('voting')}"
        )
        results = run(platform)
        print_results(results)
        print(f"\nDemo finished in {time.monotonic() - started:.0f}s.")
        if not exit_after:
            print(
                f"The platform keeps running: admin {platform.url('accounts', 'admin/')}, "
                f"API docs {platform.url('polls', 'api/docs/')}. Ctrl-C stops it."
            )
            signal.signal(signal.SIGTERM, signal.default_int_handler)  # stop cleanly too
            while True:
                time.sleep(3600)
        return (
            0
            if sum(c["payout_lovelace"] for c in results["causes"]) == results["fund_lovelace"]
            else 1
        )
    except KeyboardInterrupt:
        return 130
    except Exception:
        print("\nThe demo failed; the platform's last log lines:\n" + platform.logs(tail=30))
        raise
    finally:
        print("Stopping the platform ...")
        platform.close()
