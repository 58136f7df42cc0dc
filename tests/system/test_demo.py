"""`python manage_all.py demo` runs a stake-weighted round in chain mode on the embedded default
and its payouts add up, as a new user would see it; then, with the platform still running for
them to look around (as the demo leaves it), the test checks the round itself instead of
trusting the demo's own printout: every printed power against a computation by hand from the
stake distribution the demo generated and imported, the frozen table over the API against the
same, the results against voting's tally. Ctrl-C stops everything."""

from __future__ import annotations

import csv
import hashlib
import io
import os
import re
import shutil
import signal
import sys
import tempfile
from decimal import Decimal
from pathlib import Path

from shared_events.core.testing import wait_until
from tests.demo import CAP_PERCENT, ELIGIBLE, EPOCHS, FUND_LOVELACE, REFUSED, SNAPSHOT_EPOCH
from tests.system.harness import RunningCommand, http

DEMO_TIMEOUT = 300.0
BALLOTS_COUNTED = len(ELIGIBLE)  # every eligible member votes once; the refused cannot
ELIGIBLE_ROW = re.compile(
    r"^  (\w+) +(stake\S+) +([\d,]+\.\d{6}) +(\d+) +([\d,]+) +([\d,]+)(?:  .*)?$", re.M
)
REFUSED_ROW = re.compile(
    r"^  (\w+) +(stake\S+) +- +- +- +-  (Not eligible: [^(]*?)(?: \((.*)\))?$", re.M
)


class Demo(RunningCommand):
    """`manage_all.py demo` (without --exit: the platform stays up until Ctrl-C)."""

    def __init__(self, env: dict[str, str]) -> None:
        super().__init__([sys.executable, "manage_all.py", "demo"], env=env)

    def ctrl_c(self, timeout: float = 60.0) -> int:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
        return self.wait(timeout)


def processes_under(directory: Path) -> list[int]:
    """Running processes whose environment or arguments name `directory`: the platform the
    demo started keeps its VAR_DIR there (its temporary folder is under TMPDIR)."""
    marker, found = str(directory).encode(), []
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit() or int(proc.name) == os.getpid():
            continue
        try:
            if (
                marker in (proc / "cmdline").read_bytes()
                or marker in (proc / "environ").read_bytes()
            ):
                found.append(int(proc.name))
        except OSError:
            continue
    return found


def receipts_digest(poll_id: str, receipts: list[str]) -> str:
    """Format `charity-vote-receipts/1` (voting/receipts.py), written out again here."""
    text = f"charity-vote-receipts/1 poll={poll_id}\n" + "".join(f"{r}\n" for r in sorted(receipts))
    return hashlib.sha256(text.encode()).hexdigest()


def powers_by_hand(distribution: Path) -> dict[str, dict[str, int]]:
    """Every delegator of the snapshot epoch in the demo's CSV file, with the power the README
    says they get (stake_x_loyalty and the cap), computed here on its own: whole ada of the
    snapshot epoch x loyalty (consecutive epochs ending at it, over the file's epochs, which
    are the loyalty window), then no one above floor(total x cap % / 100)."""
    stakes: dict[str, dict[int, int]] = {}
    with distribution.open(newline="") as rows:
        for row in csv.DictReader(rows):
            stakes.setdefault(row["stake_address"], {})[int(row["epoch"])] = int(row["lovelace"])
    table = {}
    for address, epochs in stakes.items():
        if SNAPSHOT_EPOCH not in epochs:
            continue
        loyalty = 0
        while SNAPSHOT_EPOCH - loyalty in epochs and loyalty < len(EPOCHS):
            loyalty += 1
        lovelace = epochs[SNAPSHOT_EPOCH]
        table[address] = {
            "lovelace": lovelace,
            "loyalty": loyalty,
            "uncapped": lovelace // 1_000_000 * loyalty,
        }
    cap = sum(row["uncapped"] for row in table.values()) * CAP_PERCENT // 100
    for row in table.values():
        row["power"] = min(row["uncapped"], cap)
    return table


def check_the_powers(output: str, expected: dict[str, dict[str, int]]) -> dict[str, int]:
    """The demo's printed table against the computation by hand: each eligible member's
    stake, loyalty, power before the cap and power; the refused members refused. Returns the
    eligible members' power."""
    printed = {m[1]: m for m in ELIGIBLE_ROW.finditer(output)}
    refused = {m[1]: m for m in REFUSED_ROW.finditer(output)}
    assert sorted(printed) == sorted(ELIGIBLE), output[-6000:]
    assert sorted(refused) == sorted(REFUSED), output[-6000:]
    powers = {}
    for name, row in printed.items():
        address, ada, loyalty, uncapped, power = row[2], row[3], row[4], row[5], row[6]
        want = expected[address]
        assert Decimal(ada.replace(",", "")) * 1_000_000 == want["lovelace"], (name, row[0])
        assert int(loyalty) == want["loyalty"], (name, row[0], want)
        assert int(uncapped.replace(",", "")) == want["uncapped"], (name, row[0], want)
        assert int(power.replace(",", "")) == want["power"], (name, row[0], want)
        powers[name] = want["power"]
    for name, row in refused.items():
        assert row[2] not in expected, (name, row[0])
        assert row[3] == (
            "Not eligible: your stake address is not in the pool's stake distribution of "
            f"epoch {SNAPSHOT_EPOCH}."
        ), row[0]
    # The cap bites: someone has less power than stake x loyalty gives them.
    assert any(r["power"] < r["uncapped"] for r in expected.values()), expected
    assert any(int(m[6].replace(",", "")) < int(m[5].replace(",", "")) for m in printed.values())
    return powers


def check_the_round(output: str) -> str:
    """Read the finished round from the running platform with a token of the test's own and
    check it: the printed powers and the frozen power table against a computation by hand
    from the generated stake distribution, polls' results against voting's final tally, the
    payouts against the fund, the receipts digest against the receipts. Returns a summary."""
    up = re.search(
        r"accounts (http\S+/accounts/), polls (http\S+/polls/), "
        r"voting (http\S+/voting/)",
        output,
    )
    operator = re.search(r"operator (\S+@\S+) / (\S+)", output)
    poll = re.search(r"/voting/api/polls/([0-9a-f-]{36})/receipts/", output)
    assert up and operator and poll, output[-3000:]
    accounts, polls, voting = up[1], up[2], up[3]
    poll_id = poll[1]
    distribution = re.search(r"stake distribution of epochs \d+-\d+: (\S+\.csv)", output)
    assert distribution, output[-3000:]
    expected = powers_by_hand(Path(distribution[1]))
    powers = check_the_powers(output, expected)

    tokens = http("POST", accounts + "api/token/", {"email": operator[1], "password": operator[2]})
    assert tokens.status == 200, tokens
    token = tokens.body["access"]
    results = http("GET", polls + f"api/polls/{poll_id}/results/", token=token)
    tally = http("GET", voting + f"api/polls/{poll_id}/tally/", token=token)
    receipts = http("GET", voting + f"api/polls/{poll_id}/receipts/?limit=10000", token=token)
    table = http("GET", voting + f"api/polls/{poll_id}/power/table/", token=token, accept="*/*")
    assert table.status == 200, table
    frozen = {
        row["stake_address"]: (int(row["lovelace"]), int(row["loyalty"]), int(row["power"]))
        for row in csv.DictReader(io.StringIO(table.body))
    }
    assert frozen == {
        address: (row["lovelace"], row["loyalty"], row["power"])
        for address, row in expected.items()
    }
    assert results.status == 200 and results.body["final"], results
    assert tally.status == 200 and tally.body["final"], tally
    assert receipts.status == 200, receipts
    results, tally, listed = results.body, tally.body, receipts.body

    # The payouts: the whole fund, each cause within one lovelace of its exact share.
    fund, total = results["fund_lovelace"], results["total_points"]
    assert fund == FUND_LOVELACE
    paid = sum(c["payout_lovelace"] for c in results["causes"])
    assert paid == fund, (paid, fund)
    assert total == sum(c["points"] for c in results["causes"]) > 0, results
    # Every eligible member put all their power in: the total is theirs, as computed here.
    assert total == sum(powers.values()), (total, powers)
    for cause in results["causes"]:
        assert abs(cause["payout_lovelace"] * total - fund * cause["points"]) < total, cause

    # polls' final results are voting's final tally, cause by cause.
    counted = {c["cause_id"]: (c["points"], c["voters"]) for c in tally["causes"] if c["points"]}
    shown = {c["cause"]: (c["points"], c["voters"]) for c in results["causes"] if c["points"]}
    assert shown == counted, (shown, counted)
    assert (results["ballots"], results["total_points"]) == (
        tally["ballots"],
        tally["total_points"],
    )
    assert results["ballots"] == BALLOTS_COUNTED, results
    assert (results["ballots_digest"], results["receipts_digest"]) == (
        tally["ballots_digest"],
        tally["receipts_digest"],
    )

    # The receipts voting publishes: one per counted ballot, and they make up the digest.
    published = listed["results"] if isinstance(listed, dict) else listed
    assert len(set(published)) == len(published) == BALLOTS_COUNTED, listed
    assert receipts_digest(poll_id, published) == tally["receipts_digest"]

    # The round ends paid: one transaction, confirmed by hand (no chain source here), for
    # every cause with a payout, and its record says so.
    assert results["status"] == "paid", results
    txs = {c["payout_tx_hash"] for c in results["causes"] if c["payout_lovelace"]}
    assert len(txs) == 1 and re.fullmatch(r"[0-9a-f]{64}", txs.pop()), results
    assert {c["payout_status"] for c in results["causes"] if c["payout_lovelace"]} == {
        "confirmed_by_hand"
    }
    (payout,) = http("GET", polls + f"api/polls/{poll_id}/payouts/", token=token).body
    assert (payout["status"], payout["verified"]) == ("confirmed_by_hand", False), payout
    return (
        f"{len(expected)} powers computed by hand and matched, {results['ballots']} ballots, "
        f"{total} power over {len(counted)} causes, {paid} of {fund} lovelace paid, receipts "
        "digest recomputed"
    )


def check_the_mode_is_said_once(scratch: Path) -> None:
    """Each service's web said the chain mode once in its log; its other processes did not
    (on the embedded default, the worker, which runs the beat and the consumer too)."""
    [logs] = scratch.glob("systest-*/logs")
    for service in ("accounts", "polls", "voting"):
        processes = sorted(p.stem.split("-", 1)[1] for p in logs.glob(f"{service}-*.log"))
        assert processes == ["web", "worker"], (service, processes)
        for process in processes:
            text = (logs / f"{service}-{process}.log").read_text(errors="replace")
            said = text.count("chain mode (CHAIN_SOURCE=file)")
            assert said == (1 if process == "web" else 0), (service, process, said)


def test_the_demo_runs_a_round_and_the_payouts_sum_to_the_fund(capsys):
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.endswith("DATABASE_URL") and k not in ("NATS_URL", "CELERY_BROKER_URL")
    }
    scratch = Path(tempfile.mkdtemp(prefix="demo-test-"))
    env["VAR_DIR"] = str(scratch / "var")
    env["TMPDIR"] = str(scratch)  # the demo's platform makes its working folder here
    env["PYTHONUNBUFFERED"] = "1"  # its lines as they come, not when it exits
    demo = Demo(env)
    try:
        try:
            wait_until(
                lambda: "Demo finished" in demo.output or demo.proc.poll() is not None,
                timeout=DEMO_TIMEOUT,
                interval=0.5,
                message="the demo to finish",
            )
        except AssertionError as exc:
            raise AssertionError(f"{exc}\n{demo.output[-3000:]}") from None
        output = demo.output
        print(output[-3000:])
        assert demo.proc.poll() is None, output[-3000:]  # the platform is left running
        assert "payouts sum to the fund exactly: True" in output
        assert f"ballots counted: {BALLOTS_COUNTED}" in output
        assert re.search(r"receipts digest: [0-9a-f]{64} ", output), output
        assert re.search(r"payout transaction [0-9a-f]{64}: confirmed_by_hand ", output), output
        # The emails it would have sent: each subscriber heard of the opening, the results and
        # the payment once (written under var/mail/, the embedded default).
        assert "the emails it would have sent (EMAIL_URL unset: files under var/mail/)" in output
        for subject in ("Poll open: ", "Results: ", "Paid: the causes of "):
            sent = re.findall(rf"@demo\.example +{subject}Demo funding round\n", output)
            assert len(sent) == 2, (subject, output[-3000:])
        checked = check_the_round(output)
        check_the_mode_is_said_once(scratch)

        # Ctrl-C stops the demo and its platform.
        code = demo.ctrl_c()
        assert code == 130, demo.output[-3000:]
        assert "Stopping the platform" in demo.output
        wait_until(
            lambda: not processes_under(scratch),
            timeout=30,
            message="the demo's processes to be gone",
        )
        with capsys.disabled():
            print(f"\ndemo checked over the API: {checked}")
    finally:
        if demo.proc.poll() is None:
            demo.proc.kill()
            demo.proc.wait(10)
        for pid in processes_under(scratch):  # what a failed demo left behind, if anything
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        shutil.rmtree(scratch, ignore_errors=True)
