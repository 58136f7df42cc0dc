"""`python manage_all.py demo`: a stake-weighted funding round in chain mode, on the embedded
default.

It starts the platform (the same processes as `up`, on the default ports when they are free) in
chain mode with the `file` chain source and short epochs, then does what a pool's delegators
and operator do:

- every delegator gets a real stake key pair (pycardano), registers, and links the key's stake
  address over the API with a real CIP-8 signature (`me/stake-address/challenge/`, `verify/`);
- the pool's stake distribution of four epochs (generated: the delegators above, some who left
  or joined on the way, and delegators who never take part) is written to a CSV file and
  imported with `manage.py import_stake_snapshot`, the `file` source's command;
- a poll with `stake_x_loyalty` and a cap opens; voting freezes its power table, and each
  delegator's stake, loyalty and power (before and after the cap) are printed; a delegator
  who left the pool before the snapshot epoch and one who never delegated are refused;
- ballots are cast over the HTTP API; after the close the final tally and payouts per cause;
- it ends as an operator would: a payout transaction paying every cause its share (generated
  with pycardano, not submitted) is recorded and, the `file` source verifying nothing,
  confirmed by hand; the poll becomes paid, and voting shows the delegators so.

Then the platform keeps running for you to look around (the operator's credentials are
printed) until Ctrl-C, unless `--exit` was given.
"""

from __future__ import annotations

import csv
import io
import os
import random
import secrets
import signal
import sys
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import manage_all
from shared_events.core.testing import port_open, wait_until
from tests.system.harness import Platform, Response, http

CAUSES = [
    "Clean water wells",
    "School meals",
    "Reforestation",
    "Animal shelter",
    "Open-source Cardano tooling",
]
FUND_LOVELACE = 25_000_000_000  # 25,000 ADA
FORMULA = "stake_x_loyalty"
CAP_PERCENT = 10
# Four epochs of ten minutes, the last the snapshot: LOYALTY_BACKFILL_EPOCHS is 4, so a
# delegator in all four has loyalty 4, and the file holds each epoch's whole loyalty window.
EPOCHS = [100, 101, 102, 103]
SNAPSHOT_EPOCH = EPOCHS[-1]
EPOCH_SECONDS = 600
LOVELACE_PER_ADA = 1_000_000


@dataclass(frozen=True)
class Member:
    """One delegator who takes part: their whole ada per epoch of EPOCHS (None: not delegated
    to the pool in that epoch), and what to expect of them."""

    name: str
    ada: tuple[int | None, ...]
    note: str = ""


ROSTER = [
    Member("Ada", (250_000, 250_000, 255_000, 260_000), "a whale, loyal: the cap cuts her"),
    Member("Bashir", (None, 40_000, 42_000, 45_000)),
    Member("Chidi", (12_000, None, 15_000, 15_500), "left for an epoch and came back"),
    Member("Dagny", (None, None, None, 80_000), "new this epoch"),
    Member("Esi", (5_000, 5_000, 5_000, 5_000)),
    Member("Farid", (30_000, 30_000, 30_000, 30_000)),
    Member("Greta", (None, None, 9_000, 9_500)),
    Member("Hiro", (20_000, 20_000, 20_000, None), "left the pool before the snapshot epoch"),
    Member("Ines", (None, None, None, None), "never delegated to the pool"),
]
ELIGIBLE = [m.name for m in ROSTER if m.ada[-1] is not None]
REFUSED = [m.name for m in ROSTER if m.ada[-1] is None]
# Delegators in the distribution who never sign up: their power counts in the total the cap
# is a share of.
SILENT_DELEGATORS = 30
# Only the embedded default: a developer's database or broker settings are left alone.
_EMBEDDED_ONLY = (
    "DATABASE_URL",
    "NATS_URL",
    "CELERY_BROKER_URL",
    "CACHE_URL",
    "EMAIL_URL",  # the demo's emails are files under var/mail/, never sent anywhere
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
    """The harness's platform, on the embedded default and on the default ports if free, in
    chain mode with the `file` source, a pool of its own and short epochs."""

    def __init__(self) -> None:
        super().__init__()
        self.network = os.environ.get("CARDANO_NETWORK") or "preview"
        self.pool_id = new_pool_id()

    def environment(self) -> dict[str, str]:
        for name in _EMBEDDED_ONLY:
            os.environ.pop(name, None)
        env = super().environment()
        # As `up` on the embedded default: beat and consumer in each worker.
        env.pop("COMBINE_ROLES", None)
        for service, port in manage_all.SERVICES.items():
            if not port_open(port):
                env[f"{service.upper()}_PORT"] = str(port)
        # The snapshot epoch starts now, so the poll opens in it (or, at worst, the next).
        snapshot_starts = datetime.now(UTC).replace(microsecond=0)
        env.update(
            {
                "CHAIN_SOURCE": "file",
                "OPEN_ELIGIBILITY": "false",
                "POOL_ID": self.pool_id,
                "CARDANO_NETWORK": self.network,
                "LOYALTY_BACKFILL_EPOCHS": str(len(EPOCHS)),
                "CARDANO_EPOCH_REFERENCE_NUMBER": str(SNAPSHOT_EPOCH),
                "CARDANO_EPOCH_REFERENCE_START": snapshot_starts.isoformat(),
                "CARDANO_EPOCH_LENGTH_SECONDS": str(EPOCH_SECONDS),
            }
        )
        return env


def new_pool_id() -> str:
    """A bech32 pool id (`pool1…`): the hash of a fresh cold key's verification key."""
    from pycardano import PaymentSigningKey, PaymentVerificationKey
    from pycardano.crypto import bech32

    cold = PaymentVerificationKey.from_signing_key(PaymentSigningKey.generate())
    return bech32.encode("pool", cold.hash().payload)


@dataclass
class Delegator:
    """A stake key pair and its stake address; with an account once registered."""

    name: str
    signing_key: Any  # pycardano StakeSigningKey
    address: str
    lovelace: dict[int, int]  # epoch -> active stake, for the epochs delegated to the pool
    note: str = ""
    token: str = ""
    account_id: str = ""
    email: str = ""

    @classmethod
    def generate(cls, name: str, network: str, lovelace: dict[int, int], note: str = ""):
        from pycardano import Address, Network, StakeSigningKey, StakeVerificationKey

        key = StakeSigningKey.generate()
        address = Address(
            staking_part=StakeVerificationKey.from_signing_key(key).hash(),
            network=Network.MAINNET if network == "mainnet" else Network.TESTNET,
        )
        return cls(name, key, address.encode(), lovelace, note)

    def sign(self, payload_hex: str, network: str) -> dict[str, str]:
        """A CIP-8 signature of the payload with the stake key, as CIP-30's signData answers:
        the COSE_Sign1 and the COSE_Key, hex CBOR."""
        from pycardano import Network
        from pycardano.cip import cip8

        signed = cip8.sign(
            bytes.fromhex(payload_hex).decode(),
            self.signing_key,
            attach_cose_key=True,
            network=Network.MAINNET if network == "mainnet" else Network.TESTNET,
        )
        assert isinstance(signed, dict)
        return {"signature": signed["signature"], "key": signed["key"]}


def generate_delegators(
    network: str, rng: random.Random
) -> tuple[list[Delegator], list[Delegator]]:
    """The roster's members, and the silent delegators: each with a key pair and a stake per
    epoch (whole ada plus some lovelace, so rounding down to whole ada shows)."""

    def stakes(ada: tuple[int | None, ...]) -> dict[int, int]:
        return {
            epoch: whole * LOVELACE_PER_ADA + rng.randint(0, LOVELACE_PER_ADA - 1)
            for epoch, whole in zip(EPOCHS, ada, strict=True)
            if whole is not None
        }

    members = [Delegator.generate(m.name, network, stakes(m.ada), m.note) for m in ROSTER]
    silent = []
    for i in range(SILENT_DELEGATORS):
        joined = rng.randint(0, len(EPOCHS) - 1)  # loyalty 1 to 4 in the snapshot epoch
        whole = rng.randint(1_000, 40_000)
        ada = tuple(None if k < joined else whole + rng.randint(0, 500) for k in range(len(EPOCHS)))
        silent.append(Delegator.generate(f"silent{i:02d}", network, stakes(ada)))
    return members, silent


def write_distribution(path: Path, delegators: list[Delegator]) -> int:
    """The pool's stake distribution of EPOCHS as a db-sync export would give it (README,
    "The chain source"): a CSV file, stake_address, epoch, lovelace. Returns its rows."""
    rows = sorted(
        (epoch, d.address, lovelace) for d in delegators for epoch, lovelace in d.lovelace.items()
    )
    with path.open("w", newline="") as out:
        writer = csv.writer(out)
        writer.writerow(["stake_address", "epoch", "lovelace"])
        writer.writerows((address, epoch, lovelace) for epoch, address, lovelace in rows)
    return len(rows)


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


def _allocation(rng: random.Random, causes: list[str], power: int) -> list[dict[str, Any]]:
    """All of `power` over one to three causes."""
    chosen = rng.sample(causes, rng.randint(1, 3))
    cuts = sorted(rng.randint(0, power) for _ in range(len(chosen) - 1))
    shares = [b - a for a, b in zip([0, *cuts], [*cuts, power], strict=True)]
    return [{"cause": c, "points": p} for c, p in zip(chosen, shares, strict=True) if p]


def run(platform: DemoPlatform, *, seed: int = 7) -> dict[str, Any]:
    rng = random.Random(seed)
    network = platform.network
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
    print(
        f"  chain mode: CHAIN_SOURCE=file, POOL_ID={platform.pool_id}, "
        f"CARDANO_NETWORK={network}, epochs of {EPOCH_SECONDS} s"
    )

    addresses = [_payout_address(network) for _ in CAUSES]
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

    bar = Progress("generating stake key pairs (pycardano)", 1)
    members, silent = generate_delegators(network, rng)
    bar.finish(f"{len(members) + len(silent)} key pairs")

    def enrol(member: Delegator) -> Delegator:
        email = f"{member.name.lower()}-{secrets.token_hex(2)}@demo.example"
        account = _ok(
            platform.api("POST", "accounts", "register/", {"email": email, "password": password}),
            201,
        )
        member.account_id, member.email = account["id"], email
        member.token = _ok(
            platform.api("POST", "accounts", "token/", {"email": email, "password": password}), 200
        )["access"]
        # The proof: a challenge, signed with the stake key (CIP-8), sent back.
        challenge = _ok(
            platform.api("POST", "accounts", "me/stake-address/challenge/", token=member.token),
            201,
        )
        signed = member.sign(challenge["payload_hex"], network)
        linked = _ok(
            platform.api(
                "POST",
                "accounts",
                "me/stake-address/verify/",
                {"challenge_id": challenge["challenge_id"], **signed},
                token=member.token,
            ),
            200,
        )
        if linked["stake_address"] != member.address or not linked["stake_address_verified_at"]:
            raise RuntimeError(f"{member.name}'s stake address was not linked: {linked}")
        return member

    _parallel("registering, proving stake addresses (CIP-8)", members, enrol)
    subscribers = members[:SUBSCRIBERS]
    _parallel(
        "opting in to the emails (address confirmed by its link)",
        subscribers,
        lambda member: subscribe(platform, member),
    )

    path = platform.var_dir / "demo-stake.csv"
    rows = write_distribution(path, members + silent)
    bar = Progress("importing the stake distribution (file source)", 1)
    imported = platform.manage("accounts", "import_stake_snapshot", str(path))
    if imported.returncode != 0:
        raise RuntimeError(imported.stderr or imported.stdout)
    bar.finish(f"{rows} rows")
    print(f"  stake distribution of epochs {EPOCHS[0]}-{EPOCHS[-1]}: {path}")
    print(f"  $ manage.py import_stake_snapshot {path.name}")
    for line in imported.stdout.splitlines():
        print(f"    {line}")

    opens_at = datetime.now(UTC) + timedelta(seconds=4)
    closes_at = opens_at + timedelta(seconds=25)
    poll = _ok(
        platform.api(
            "POST",
            "polls",
            "polls/",
            {
                "title": "Demo funding round",
                "description": "Where should this epoch's fund go? Weighted by stake and loyalty.",
                "fund_lovelace": FUND_LOVELACE,
                "opens_at": opens_at.isoformat(),
                "closes_at": closes_at.isoformat(),
                "causes": causes,
                "results_visibility": "live",
                "power_formula": FORMULA,
                "cap_percent": CAP_PERCENT,
                "snapshot_epoch": SNAPSHOT_EPOCH,
            },
            token=operator,
        ),
        201,
    )
    _ok(platform.api("POST", "polls", f"polls/{poll['id']}/schedule/", token=operator), 200)
    print(f"  poll {poll['id']}: {FORMULA}, cap {CAP_PERCENT} %, snapshot epoch {SNAPSHOT_EPOCH}")

    _wait_with_progress("waiting for the poll to open", opens_at)
    bar = Progress("voting freezes the power table", 1)
    answers: dict[str, dict[str, Any]] = {}

    def power_known(member: Delegator) -> bool:
        # 409 until the table is frozen; a refusal for a missing proof until voting has it.
        answer = platform.api("GET", "voting", f"polls/{poll['id']}/power/", token=member.token)
        if answer.status != 200 or "no proven stake address" in str(answer.body["reason"]):
            return False
        answers[member.name] = answer.body
        return True

    for member in members:
        wait_until(lambda m=member: power_known(m), timeout=60, message="the power table")
    table = _ok(
        http_text(platform.url("voting", f"api/polls/{poll['id']}/power/table/"), operator), 200
    )
    frozen = {row["stake_address"]: row for row in csv.DictReader(io.StringIO(table))}
    bar.finish(f"{len(frozen)} delegators")
    powers = report_powers(members, frozen, answers)

    # In order, one after the other: the allocations' draws are seeded.
    bar = Progress("casting ballots over the API", len(members))
    refusals = []
    for member in members:
        power = powers.get(member.name, 1)  # the refused try too, with 1 point
        answer = platform.api(
            "PUT",
            "voting",
            f"polls/{poll['id']}/ballot/",
            {"allocations": _allocation(rng, causes, power)},
            token=member.token,
        )
        expected = (403,) if member.name in REFUSED else (200, 201)
        if answer.status not in expected:
            raise RuntimeError(f"{member.name}'s ballot: unexpected answer {answer}")
        if answer.status == 403:
            refusals.append(f"  {member.name}'s ballot refused (403): {answer.body['detail']}")
        bar.advance()
    bar.finish()
    print("\n".join(refusals))

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
        answer = platform.api("GET", "voting", "me/ballots/", token=members[0].token)
        return answer.status == 200 and all(b["poll_paid"] for b in answer.body["results"])

    wait_until(paid, timeout=30, interval=0.2, message="the poll to be paid")
    wait_until(voting_says_paid, timeout=30, interval=0.2, message="voting to show it paid")
    bar.finish()
    results["payout_tx_hash"] = tx_hash

    bar = Progress("accounts emails the subscribers", 1)
    for member in subscribers:
        wait_until(
            lambda m=member: any(s.startswith("Paid: ") for s in _subjects_to(platform, m.email)),
            timeout=60,
            interval=0.3,
            message=f"the paid notice to {member.email}",
        )
    bar.finish()
    results["emails"] = _mails(platform)
    return results


SUBSCRIBERS = 2  # the first delegators opt in to every kind of email
_EVERY_KIND = {"poll_opened": True, "closing_soon": True, "results": True, "paid": True}


def subscribe(platform: DemoPlatform, member: Delegator) -> None:
    """Ask for the confirmation link, open it from the mail file, opt in to every kind."""
    _ok(
        platform.api("POST", "accounts", "me/notifications/confirm-email/", token=member.token), 202
    )
    links: list[str] = []

    def emailed() -> bool:
        for to, _subject, body in _mails(platform, bodies=True):
            if to == member.email and "/api/me/notifications/confirm/?token=" in body:
                links[:] = [w for w in body.split() if "/notifications/confirm/?token=" in w]
                return bool(links)
        return False

    wait_until(emailed, timeout=30, interval=0.2, message=f"the link to {member.email}")
    _ok(http("GET", links[0]), 200)
    _ok(
        platform.api("PATCH", "accounts", "me/notifications/", _EVERY_KIND, token=member.token), 200
    )


def _mails(platform: Platform, *, bodies: bool = False) -> list[tuple[str, str, str]]:
    """(To, Subject, the text part) of every email written under var/mail/ (the file backend
    of the embedded default; a file appears at its first byte, so only whole ones count)."""
    import email
    import email.policy

    found = []
    for path in sorted((platform.var_dir / "mail").glob("*.log")):
        for raw in path.read_bytes().split(b"\n" + b"-" * 79 + b"\n")[:-1]:
            message = email.message_from_bytes(raw, policy=email.policy.default)
            text = message.get_body(preferencelist=("plain",))
            body = text.get_content() if (bodies and text is not None) else ""
            found.append((str(message["To"]), str(message["Subject"]), body))
    return found


def _subjects_to(platform: Platform, address: str) -> list[str]:
    return [subject for to, subject, _ in _mails(platform) if to == address]


def _payout_address(network: str) -> str:
    """A fresh Shelley enterprise address of the demo's network, from a real payment key."""
    from pycardano import Address, Network, PaymentSigningKey, PaymentVerificationKey

    key = PaymentVerificationKey.from_signing_key(PaymentSigningKey.generate())
    net = Network.MAINNET if network == "mainnet" else Network.TESTNET
    return str(Address(payment_part=key.hash(), network=net))


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


def http_text(url: str, token: str) -> Response:
    """A CSV download (the harness's client reads JSON, or the text when it is not JSON)."""
    return http("GET", url, token=token, accept="*/*")


def report_powers(
    members: list[Delegator], frozen: dict[str, dict[str, str]], answers: dict[str, dict]
) -> dict[str, int]:
    """Print each member's stake, loyalty and power as voting froze them (the operator's CSV),
    checked against what voting answers the member; returns the eligible ones' power."""
    total = sum(int(row["uncapped_power"]) for row in frozen.values())
    cap = total * CAP_PERCENT // 100
    print(
        f"\n  voting power, {FORMULA} = whole ada x loyalty, frozen at the open: "
        f"{len(frozen)} eligible delegators, total {total:,} before the cap; the cap "
        f"({CAP_PERCENT} %) is {cap:,}"
    )
    print(
        f"\n  {'voter':<7} {'stake address':<64} {'stake (ada)':>18} {'loyalty':>7} "
        f"{'before cap':>12} {'power':>12}"
    )
    print("  " + "-" * 125)
    powers = {}
    for member in members:
        answer = answers[member.name]
        row = frozen.get(member.address)
        if row is None:
            if answer["eligible"]:
                raise RuntimeError(f"{member.name} is eligible but not in the frozen table")
            print(
                f"  {member.name:<7} {member.address:<64} {'-':>18} {'-':>7} {'-':>12} "
                f"{'-':>12}  {answer['reason']} ({member.note})"
            )
            continue
        power = int(row["power"])
        if answer != {"eligible": True, "power": power, "reason": None}:
            raise RuntimeError(f"{member.name}: voting answers {answer}, the table says {power}")
        powers[member.name] = power
        ada = Decimal(row["lovelace"]) / LOVELACE_PER_ADA
        note = f"  {member.note}" if member.note else ""
        print(
            f"  {member.name:<7} {member.address:<64} {ada:>18,.6f} {row['loyalty']:>7} "
            f"{int(row['uncapped_power']):>12,} {power:>12,}{note}"
        )
    return powers


def print_results(results: dict[str, Any]) -> None:
    rows = sorted(results["causes"], key=lambda c: -c["points"])
    print(f"\n  {'cause':<30} {'power':>12} {'voters':>6} {'share':>8} {'payout (ADA)':>16}")
    print("  " + "-" * 76)
    for c in rows:
        share = f"{Decimal(c['share']) * 100:.2f}%"
        print(
            f"  {c['title']:<30} {c['points']:>12,} {c['voters']:>6} {share:>8} "
            f"{Decimal(c['payout_ada']):>16,.6f}"
        )
    paid = sum(c["payout_lovelace"] for c in rows)
    print("  " + "-" * 76)
    print(
        f"  {'total':<30} {results['total_points']:>12,} {results['ballots']:>6} "
        f"{'':>8} {Decimal(paid) / 1_000_000:>16,.6f}"
    )
    print(f"\n  ballots counted: {results['ballots']}; digest {results['ballots_digest']}")
    emails = results.get("emails", [])
    print(
        f"\n  the emails it would have sent (EMAIL_URL unset: files under var/mail/): {len(emails)}"
    )
    for to, subject, _ in emails:
        print(f"    {to:<32} {subject}")
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
    # Ctrl-C stops the demo even when it was started where SIGINT is ignored (a background job
    # of a shell without job control), as a test or a script may start it.
    signal.signal(signal.SIGINT, signal.default_int_handler)
    print("Starting the platform on the embedded default, in chain mode (file source) ...")
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
