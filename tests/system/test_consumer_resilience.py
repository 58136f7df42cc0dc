"""The event consumers against what can come at them: a SIGTERM while they hold a batch, and
malformed, oversized or unknown messages published straight into the subjects they follow."""

from __future__ import annotations

import json
import subprocess
import time
import uuid
from datetime import UTC, datetime

import pytest

from shared_events.core.testing import wait_until
from tests.system import natsctl
from tests.system.actors import create_operator
from tests.system.convergence import Voter, new_delegator
from tests.system.harness import Platform

MAX_EVENT_BYTES = 512 * 1024  # shared_events.core.schemas.envelope.MAX_EVENT_BYTES


def voter_points(platform: Platform, voter: Voter) -> int | None:
    me = platform.api("GET", "voting", "me/", token=voter.token)
    return me.body["points"] if me.status == 200 else None


def lock_voter_row(platform: Platform, voter_id: str) -> subprocess.Popen[str]:
    """A process that holds voter `voter_id`'s row in voting's database (on SQLite: the write
    lock) until a line arrives on its stdin, 30 s at most. The consumer's next update of that
    voter waits for it: a batch held in hand for as long as the test likes."""
    code = (
        "import signal, sys\n"
        "from django.db import transaction\n"
        "from voting.models import Voter\n"
        "signal.alarm(30)\n"
        "with transaction.atomic():\n"
        f"    list(Voter.objects.select_for_update().filter(pk='{voter_id}'))\n"
        "    print('LOCKED', flush=True)\n"
        "    sys.stdin.readline()\n"
    )
    spec = platform.specs["voting-web"]
    holder = subprocess.Popen(
        [spec.argv[0], "manage.py", "shell", "-c", code],
        cwd=spec.cwd,
        env=spec.env,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    assert holder.stdout is not None
    seen = []
    for line in holder.stdout:  # Django's shell may say something first
        seen.append(line)
        if line.strip() == "LOCKED":
            return holder
    raise AssertionError("the lock holder did not lock: " + "".join(seen))


def stays_alive(proc: subprocess.Popen, *, seconds: float, why: str) -> None:
    """Assert `proc` keeps running for `seconds` (checked every 50 ms, failing at once)."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        assert proc.poll() is None, f"{why} (exit code {proc.returncode})"
        time.sleep(0.05)
    assert proc.poll() is None, f"{why} (exit code {proc.returncode})"


def test_sigterm_lets_the_consumer_finish_and_ack_the_batch_in_hand(platform: Platform, capsys):
    url = platform.config.nats_admin_url
    operator = create_operator(platform)
    voter = new_delegator(platform)
    wait_until(
        lambda: voter_points(platform, voter) == 100, timeout=30, message="the voter in voting"
    )
    before = natsctl.consumer_info(url, "ACCOUNTS", "voting-accounts")

    holder = lock_voter_row(platform, voter.id)
    try:
        adjusted = platform.api(
            "POST",
            "accounts",
            f"accounts/{voter.id}/points/",
            {"delta": 5, "reason": "graceful"},
            token=operator.token,
        )
        assert adjusted.status == 201, adjusted
        # The consumer has fetched the event and is applying it (blocked on the lock).
        wait_until(
            lambda: (
                natsctl.consumer_info(url, "ACCOUNTS", "voting-accounts")["num_ack_pending"] >= 1
            ),
            timeout=20,
            interval=0.1,
            message="the consumer to hold the event",
        )
        consumer = platform.procs["voting-consumer"]
        consumer.send_signal(15)  # SIGTERM, as Kubernetes or Ctrl-C would
        # Deliberately a window in which nothing may happen: the batch cannot finish while
        # the row is locked, so a consumer that honours SIGTERM stays; one that does not
        # exits within it (the handler only sets a stop flag and logs nothing to wait for).
        stays_alive(consumer, seconds=1.0, why="it left without finishing its batch")
    finally:
        holder.communicate("release\n", timeout=30)
    terminated = time.monotonic()
    consumer.wait(20)
    assert consumer.returncode == 0, consumer.returncode
    took = time.monotonic() - terminated

    # Applied and acked before it left: nothing pending, nothing redelivered, ever.
    after = natsctl.consumer_info(url, "ACCOUNTS", "voting-accounts")
    assert after["num_ack_pending"] == 0 and after["num_pending"] == 0, after
    platform.spawn("voting-consumer")
    wait_until(
        lambda: voter_points(platform, voter) == 105, timeout=10, message="the applied adjustment"
    )
    # Rather than waiting a fixed while for a redelivery that should not come: a later event,
    # applied and acked by the restarted consumer, shows it is pulling from the stream again;
    # the redelivery count is read after that (nothing was left unacked, checked above).
    adjusted = platform.api(
        "POST",
        "accounts",
        f"accounts/{voter.id}/points/",
        {"delta": 1, "reason": "after the restart"},
        token=operator.token,
    )
    assert adjusted.status == 201, adjusted
    wait_until(
        lambda: voter_points(platform, voter) == 106,
        timeout=20,
        message="a later adjustment applied by the restarted consumer",
    )
    wait_until(
        lambda: natsctl.consumer_info(url, "ACCOUNTS", "voting-accounts")["num_ack_pending"] == 0,
        timeout=10,
        message="the later event acked",
    )
    again = natsctl.consumer_info(url, "ACCOUNTS", "voting-accounts")
    assert again["num_redelivered"] == before["num_redelivered"], (before, again)
    log = (platform.log_dir / "voting-consumer.log").read_text()
    assert "consumer stopped after applying" in log
    with capsys.disabled():
        print(
            f"\n[resilience] SIGTERM with a batch in hand: the consumer waited for it, "
            f"applied and acked it, exited 0 (within {took:.1f} s of the database lock's "
            f"release); no redelivery after the restart"
        )


def _envelope(event_type: str, aggregate_id: str, data: dict) -> dict:
    return {
        "id": str(uuid.uuid4()),
        "type": event_type,
        "schema_version": 1,
        "aggregate_id": aggregate_id,
        "version": 1,
        "occurred_at": datetime.now(UTC).isoformat(),
        "data": data,
    }


def dead_letters(platform: Platform, service: str) -> list[dict]:
    result = platform.manage(
        service,
        "shell",
        "-c",
        (
            "import json\nfrom shared_events.core.consumer.models import DeadLetter\n"
            "print('DL', json.dumps([{'subject': d.subject, 'type': d.event_type, "
            "'error': d.error[:200], 'size': len(bytes(d.payload))} "
            "for d in DeadLetter.objects.order_by('pk')]))"
        ),
    )
    for line in result.stdout.splitlines():
        if line.startswith("DL "):
            return json.loads(line[3:])
    raise AssertionError(result.stdout + result.stderr)


def test_hostile_messages_are_dead_lettered_and_never_stop_a_consumer(platform: Platform, capsys):
    url = platform.config.nats_admin_url
    account_id = str(uuid.uuid4())
    account = {
        "id": account_id,
        "role": "delegator",
        "is_active": True,
        "points": 1,
        "stake_address": None,
        "joined_at": datetime.now(UTC).isoformat(),
    }
    oversized = _envelope(
        "accounts.account.updated",
        account_id,
        {**account, "padding": "x" * (MAX_EVENT_BYTES + 1024)},
    )
    hostile = {
        "ACCOUNTS": [  # followed by voting_service and polls_service
            b"{not json at all",
            b"\xff\xfe binary \x00 garbage",
            json.dumps(oversized).encode(),
            json.dumps(_envelope("accounts.account.exploded", account_id, account)).encode(),
            json.dumps(
                _envelope("accounts.account.updated", account_id, {**account, "points": "lots"})
            ).encode(),
        ],
        "VOTING": [  # followed by polls_service
            b"[]",
            json.dumps(_envelope("voting.tally.recounted", account_id, {})).encode(),
        ],
    }
    # polls follows accounts too (operator rights from its replica of accounts).
    follows = {"voting": ("ACCOUNTS",), "polls": ("ACCOUNTS", "VOTING")}
    counts = {s: len(dead_letters(platform, s)) for s in follows}
    max_payload = natsctl.server_max_payload(url)
    for stream, messages in hostile.items():
        subject = f"{stream.lower()}.{'account' if stream == 'ACCOUNTS' else 'tally'}.{account_id}"
        for data in messages:
            ack = natsctl.publish(url, subject, data, {"Nats-Msg-Id": uuid.uuid4().hex})
            assert not ack["duplicate"]
        # Bigger than the server's max_payload: NATS itself refuses it; nobody receives it.
        with pytest.raises(Exception, match="(?i)payload"):
            natsctl.publish(url, subject, b"x" * (max_payload + 1))

    for service, streams in follows.items():
        expected = counts[service] + sum(len(hostile[stream]) for stream in streams)
        wait_until(
            lambda s=service, n=expected: len(dead_letters(platform, s)) == n,
            timeout=30,
            interval=0.5,
            message=f"{service}'s dead letters",
        )
        assert platform.procs[f"{service}-consumer"].poll() is None, f"{service} consumer died"
    letters = dead_letters(platform, "voting")[-len(hostile["ACCOUNTS"]) :]
    assert any(d["size"] > MAX_EVENT_BYTES and "more than" in d["error"] for d in letters)
    assert any("unknown event type" in d["error"] for d in letters)

    # The consumers carry on: a registration made now still reaches voting.
    later = new_delegator(platform)
    wait_until(
        lambda: voter_points(platform, later) == 100,
        timeout=30,
        message="a later registration in voting",
    )
    with capsys.disabled():
        print(
            f"\n[resilience] hostile messages: {len(hostile['ACCOUNTS'])} to voting and "
            f"polls, {len(hostile['VOTING'])} more to polls, dead-lettered at once "
            f"(malformed, binary, {len(oversized['data']['padding']) // 1024} KiB, unknown "
            f"type, wrong field "
            f"type); {max_payload // 1024} KiB+1 refused by NATS; consumers alive and "
            f"applying"
        )
