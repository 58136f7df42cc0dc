"""Break a part of the platform while real writes are in flight: the others keep serving what
they own, nothing is lost or counted twice, and everything converges once it is back.

One platform of this module's own (some scenarios wreck a service), one funding round open
throughout, and a `Writer` (tests/system/convergence.py) that keeps registering delegators,
adjusting points and casting ballots over the API during every fault. Each scenario ends with
`wait_converged`: every replica equals its source, every tally a recount of the ballots, every
outbox drained, no dead letter left, no epoch credited twice, every acknowledged write there
exactly once. What each showed is printed (`-s` not needed) and summed up in the README's
reliability section.
"""

from __future__ import annotations

import json
import os
import random
import signal
import threading
import time
import uuid
from collections import Counter
from collections.abc import Iterator

import pytest

import manage_all
from shared_events.core import conf as shared_events_conf
from shared_events.core.testing import wait_until
from tests.system import natsctl
from tests.system.actors import (
    Operator,
    Round,
    admin_browser,
    create_operator,
    csrf_token,
    open_round,
    post_form,
)
from tests.system.convergence import (
    History,
    Voter,
    Writer,
    _nonzero,
    differences,
    new_delegator,
    snapshot,
    wait_converged,
)
from tests.system.harness import (
    Platform,
    _postgres_admin,
    database_name,
    http,
    postgres_connection,
    started_platform,
)
from tests.system.test_status import manage_all_status

CONVERGE_TIMEOUT = 90.0
POISON_POINTS = 4242
# A service's SHARED_EVENTS["RELAY_AFTER_PUBLISH"]: a fault of shared_events.core.testing.
RELAY_FAULT_ENV = "SHARED_EVENTS_RELAY_AFTER_PUBLISH"


@pytest.fixture(scope="module")
def platform() -> Iterator[Platform]:
    with started_platform() as running:
        yield running


@pytest.fixture(scope="module")
def operator(platform: Platform) -> Operator:
    return create_operator(platform)


@pytest.fixture(scope="module")
def round_(platform: Platform, operator: Operator) -> Round:
    return open_round(platform, operator)


@pytest.fixture(scope="module")
def voters(platform: Platform, round_: Round) -> list[Voter]:
    pool = [new_delegator(platform) for _ in range(4)]
    wait_converged(platform, timeout=30)  # every voter known to voting before ballots
    return pool


@pytest.fixture(scope="module")
def history() -> History:
    return History()


@pytest.fixture
def writer(
    platform: Platform, operator: Operator, round_: Round, voters: list[Voter], history: History
) -> Iterator[Writer]:
    running = Writer(
        platform,
        operator=operator.token,
        voters=voters,
        poll_id=round_.poll_id,
        causes=round_.causes,
        history=history,
        seed=int(time.time()) & 0xFFFF,
    )
    running.start()
    yield running
    if running.is_alive():
        running.stop()


def report(capsys, scenario: str, **facts) -> None:
    with capsys.disabled():
        print(f"\n[fault] {scenario}: " + ", ".join(f"{k} {v}" for k, v in facts.items()))


def writes_for(writer: Writer, seconds: float) -> None:
    """Let the writer run for a while (it writes at a bounded rate; this is not a wait for a
    condition, just the length of the fault)."""
    time.sleep(seconds)


def stop_and_converge(platform: Platform, writer: Writer, **checks) -> tuple[dict, float]:
    summary = writer.stop()
    assert summary.get("ok", 0) > 0, summary
    took, _ = wait_converged(platform, timeout=CONVERGE_TIMEOUT, writer=writer, **checks)
    return summary, took


# ----------------------------------------------------------------------------- scenarios --


def test_1_voting_consumer_killed_mid_stream(platform: Platform, writer: Writer, capsys):
    writes_for(writer, 2)
    platform.kill("voting-consumer")  # SIGKILL: no chance to finish its batch
    writes_for(writer, 4)
    backlog = natsctl.consumer_info(platform.config.nats_admin_url, "ACCOUNTS", "voting-accounts")
    # accounts kept taking writes; they wait in the stream, not in accounts.
    assert backlog["num_pending"] + backlog["num_ack_pending"] > 0, backlog
    platform.restart("voting-consumer")
    restarted = time.monotonic()
    summary, _ = stop_and_converge(platform, writer)
    assert summary.get("failed", 0) == 0 and summary.get("unknown", 0) == 0, summary
    report(
        capsys,
        "1 voting consumer SIGKILL",
        writes=summary,
        stream_backlog_at_restart=backlog["num_pending"] + backlog["num_ack_pending"],
        converged_after_restart=f"{time.monotonic() - restarted:.1f} s",
    )


def test_2_nats_killed_while_writes_continue(platform: Platform, writer: Writer, capsys):
    writes_for(writer, 1)
    before = writer.mark()
    platform.kill("nats")
    writes_for(writer, 5)
    during = writer.summary(since=before)
    # Writes keep succeeding: nothing the services own needs NATS.
    assert during.get("failed", 0) == 0 and during.get("unknown", 0) == 0, during
    # `manage_all.py status` shows it: unhealthy (NATS), the outbox holding the writes with
    # the age of the oldest, failing attempts backing off, the consumers disconnected.
    shown = manage_all_status(platform, "--json")
    assert shown.returncode == 1, shown.stdout + shown.stderr
    status = json.loads(shown.stdout)
    assert not status["nats"]["reachable"]
    held = status["services"]["accounts"]["events"]["outbox"]
    assert held["pending"] > 0 and held["failing"] > 0, held  # held, retried with backoff
    assert "error" in status["services"]["voting"]["events"]["consumers"]["ACCOUNTS"]
    # Readiness is each service's own database: NATS down is no reason to stop serving.
    assert all(s["ready"] == 200 for s in status["services"].values()), status
    platform.restart("nats")
    restarted = time.monotonic()
    summary, _ = stop_and_converge(platform, writer)
    report(
        capsys,
        "2 NATS SIGKILL",
        writes_during_outage=during,
        accounts_outbox_held=held["pending"],
        oldest_held=f"{held['oldest_pending_age_seconds']:.1f} s",
        converged_after_restart=f"{time.monotonic() - restarted:.1f} s",
    )


def test_3_relay_killed_after_publish_before_marking(platform: Platform, writer: Writer, capsys):
    """The accounts worker is restarted with the relay's after-publish hook set to a test fault
    (RELAY_FAULT_ENV, off unless set) that SIGKILLs the process after JetStream confirmed a
    batch and before the rows are marked: the one moment that matters, hit every time.
    (Pausing the worker from outside once a message shows up in NATS would race the marking,
    which follows the ack within milliseconds.) Its rows stay leased for
    RELAY_LEASE_SECONDS (30 s), then a healthy worker sends them again, and JetStream drops
    them as duplicates (same Nats-Msg-Id)."""
    url = platform.config.nats_admin_url
    platform.stop("accounts-worker")  # nothing publishes while the counts are taken
    before = snapshot(platform)["accounts"]["outbox_published"]
    seq_before = natsctl.stream_info(url, "ACCOUNTS")["last_seq"]
    proc = platform.spawn(
        "accounts-worker",
        extra_env={RELAY_FAULT_ENV: "shared_events.core.testing.kill_after_publish"},
    )
    wait_until(lambda: proc.poll() is not None, timeout=30, message="the relay to kill itself")
    assert proc.returncode == -signal.SIGKILL, proc.returncode
    leased = _count(
        platform,
        "accounts",
        "from shared_events.core.outbox.models import "
        "OutboxEvent as O; print('COUNT', O.objects.filter(published_at__isnull=True, "
        "claim_token__isnull=False).count())",
    )
    assert leased > 0  # published, not marked: they will be sent a second time
    platform.spawn("accounts-worker")
    restarted = time.monotonic()
    summary, _ = stop_and_converge(platform, writer)
    published = snapshot(platform)["accounts"]["outbox_published"] - before
    stored = natsctl.stream_info(url, "ACCOUNTS")["last_seq"] - seq_before
    # Every row marked published once, and JetStream stored each event once: the second
    # sending of the leased rows was dropped as a duplicate.
    assert stored == published, (stored, published)
    report(
        capsys,
        "3 relay SIGKILL between publish and mark",
        writes=summary,
        left_unmarked=leased,
        events_published=published,
        stored_in_stream=stored,
        converged_after_restart=f"{time.monotonic() - restarted:.1f} s",
    )


@pytest.mark.parametrize("down", ["polls", "voting"])
def test_4_a_whole_service_down(platform: Platform, writer: Writer, down: str, capsys):
    writes_for(writer, 1)
    before = writer.mark()
    for name in platform.service_processes(down):
        platform.kill(name)
    stopped_at = time.monotonic()
    all_down = writer.mark()  # every process of the service is gone from here on
    writes_for(writer, 5)
    if down == "voting":
        # The writer registers only every 12th write: keep voting down (bounded) until at
        # least one registration and one points change were acknowledged since it went.
        try:
            wait_until(
                lambda: all(
                    writer.summary(since=all_down).get(kind, 0) > 0
                    for kind in ("register ok", "points ok")
                ),
                timeout=30,
                interval=0.1,
                message="a registration and a points change while voting is down",
            )
        except AssertionError as exc:
            raise AssertionError(
                f"{exc}; writes meanwhile: {writer.summary(since=all_down)}"
            ) from None
    during = writer.summary(since=before)
    while_down = writer.summary(since=all_down)
    for service in manage_all.SERVICES:  # the others stay ready: readiness is their own DB
        assert platform.ready(service) == (service != down), service
    if down == "polls":  # voting takes ballots while polls is down; nothing else fails
        assert during.get("ballot ok", 0) > 0 and during.get("failed", 0) == 0, during
    else:  # accounts registers and adjusts points while voting is down; ballots fail
        assert during.get("points ok", 0) > 0 and during.get("points failed", 0) == 0, during
        assert during.get("register failed", 0) == 0, during
        assert while_down.get("register ok", 0) > 0 and while_down.get("points ok", 0) > 0, (
            while_down
        )
        assert during.get("ballot ok", 0) == 0, during
    for name in platform.service_processes(down):
        platform.spawn(name)
    platform.wait_ready([down])
    restarted = time.monotonic()
    summary, _ = stop_and_converge(platform, writer)
    report(
        capsys,
        f"4 {down} down (web, worker, beat, consumer)",
        writes_while_down=during,
        down_for=f"{restarted - stopped_at:.1f} s",
        converged_after_restart=f"{time.monotonic() - restarted:.1f} s",
    )


def test_5_poison_message_dead_lettered_then_replayed_from_the_admin(
    platform: Platform, writer: Writer, operator: Operator, capsys
):
    """A genuine failure of one message: voting's database refuses the update of one voter
    (a trigger stands in for whatever can go wrong in a database: a constraint, a broken
    migration, a full disk). The consumer retries it with backoff, dead-letters it after
    CONSUMER_MAX_DELIVERIES, and the rest flows on meanwhile. Then the database is fixed (the
    trigger dropped) and an operator replays the dead letter from voting's admin."""
    victim = new_delegator(platform)
    wait_until(
        lambda: _voter_points(platform, victim) == 100, timeout=30, message="the victim in voting"
    )
    _poison_trigger(platform, create=True)
    try:
        sent_at = time.monotonic()
        response = platform.api(
            "POST",
            "accounts",
            f"accounts/{victim.id}/points/",
            {"delta": POISON_POINTS - 100, "reason": "poison"},
            token=operator.token,
        )
        assert response.status == 201, response
        # The rest flows on while the poison is retried: a delegator registered after it.
        later = new_delegator(platform)
        wait_until(
            lambda: _voter_points(platform, later) == 100,
            timeout=20,
            message="a later event to pass the poison",
        )
        flowed = time.monotonic() - sent_at
        wait_until(
            lambda: snapshot(platform)["voting"]["dead_letters"] == 1,
            timeout=60,
            interval=1,
            message="the poison message to be dead-lettered",
        )
        dead_after = time.monotonic() - sent_at
        assert _voter_points(platform, victim) == 100
    finally:
        _poison_trigger(platform, create=False)  # the fix
    summary = writer.stop()

    # The operator replays it from voting's admin (signed in once, at accounts).
    changelist = "shared_events/deadletter/?status__exact=dead"
    browser, html = admin_browser(platform, operator, "voting", changelist)
    selected = [v for v in _selected_actions(html)]
    assert len(selected) == 1, html[:3000]
    landed, html = post_form(
        browser,
        platform.url("voting", f"admin/{changelist}"),
        {
            "csrfmiddlewaretoken": csrf_token(html),
            "action": "replay",
            "index": "0",
            "select_across": "0",
            "_selected_action": selected,
        },
    )
    assert "applied" in html, html[:3000]
    assert _voter_points(platform, victim) == POISON_POINTS
    took, snap = wait_converged(platform, timeout=CONVERGE_TIMEOUT, writer=writer)
    assert snap["voting"]["replayed_letters"] == 1
    report(
        capsys,
        "5 poison message",
        writes=summary,
        later_event_applied_after=f"{flowed:.1f} s",
        dead_lettered_after=f"{dead_after:.1f} s",
        replayed_from_admin="applied",
        converged=f"{took:.1f} s",
    )


def test_7_duplicates_and_stale_versions_injected_into_nats(
    platform: Platform, writer: Writer, voters: list[Voter], round_: Round, capsys
):
    url = platform.config.nats_admin_url
    writes_for(writer, 1.5)
    subject = f"accounts.account.{voters[0].id}"
    data, headers = natsctl.last_message(url, "ACCOUNTS", subject)
    envelope = json.loads(data)
    injected = []
    # a) the same event, same Nats-Msg-Id: JetStream itself drops it.
    ack = natsctl.publish(url, subject, data, headers)
    assert ack["duplicate"], ack
    # b) the same event under a new Nats-Msg-Id (as after the duplicate window): stored, and
    #    the consumer's inbox drops it.
    injected.append(natsctl.publish(url, subject, data, {"Nats-Msg-Id": uuid.uuid4().hex}))
    # c) a stale state: version 1, new event id, absurd points: the version guard drops it.
    stale = {
        **envelope,
        "id": str(uuid.uuid4()),
        "version": 1,
        "data": {**envelope["data"], "points": 999_999},
    }
    injected.append(
        natsctl.publish(url, subject, json.dumps(stale).encode(), {"Nats-Msg-Id": stale["id"]})
    )
    # The same on the other side: voting's tally, as polls_service receives it.
    tally_subject = f"voting.tally.{round_.poll_id}"
    wait_until(
        lambda: _has_message(url, "VOTING", tally_subject),
        timeout=20,
        message="a tally on the stream",
    )
    data, headers = natsctl.last_message(url, "VOTING", tally_subject)
    tally = json.loads(data)
    injected.append(natsctl.publish(url, tally_subject, data, {"Nats-Msg-Id": uuid.uuid4().hex}))
    stale_tally = {
        **tally,
        "id": str(uuid.uuid4()),
        "version": 1,
        "data": {**tally["data"], "ballots": 0, "total_points": 0, "causes": []},
    }
    injected.append(
        natsctl.publish(
            url, tally_subject, json.dumps(stale_tally).encode(), {"Nats-Msg-Id": stale_tally["id"]}
        )
    )
    assert not any(a["duplicate"] for a in injected), injected
    wait_until(
        lambda: (
            _consumed(url, "ACCOUNTS", "voting-accounts", injected[1]["seq"])
            and _consumed(url, "VOTING", "polls-voting", injected[3]["seq"])
        ),
        timeout=30,
        message="the consumers to take the injected messages",
    )
    summary, took = stop_and_converge(platform, writer)
    report(
        capsys,
        "7 duplicates and stale versions injected",
        writes=summary,
        injected=len(injected) + 1,
        dropped_by_jetstream=1,
        applied=0,
        converged=f"{took:.1f} s",
    )


def test_8_the_round_closes_and_is_finalized_after_all_that(
    platform: Platform, operator: Operator, round_: Round, capsys
):
    closed = platform.api("POST", "polls", f"polls/{round_.poll_id}/close/", token=operator.token)
    assert closed.status == 200, closed
    # Closing until voting's final tally arrives (a few seconds ahead): converged before that.
    wait_until(
        lambda: (
            platform.api("GET", "polls", f"polls/{round_.poll_id}/", token=operator.token).body[
                "status"
            ]
            == "finalized"
        ),
        timeout=CONVERGE_TIMEOUT,
        interval=0.5,
        message="the round to be finalized",
    )
    took, snap = wait_converged(platform, timeout=CONVERGE_TIMEOUT)
    assert snap["polls"]["polls"][round_.poll_id][0] == "finalized"
    results = snap["polls"]["results"][round_.poll_id]
    recount = snap["voting"]["recount"][round_.poll_id]
    assert {c: v for c, v in results.items() if v[0]} == recount["causes"]
    report(
        capsys,
        "closing the round",
        ballots=recount["ballots"],
        points=sum(v[0] for v in results.values()),
        finalized_in=f"{took:.1f} s",
    )


def test_6_voting_rebuilds_every_replica_from_the_streams(platform: Platform, capsys):
    """Last: it wipes voting's database. Its replicas (voters, causes, polls) come back from the
    streams; its own data (ballots, tallies) does not, and is not expected to: that is what
    backups are for."""
    wait_converged(platform, timeout=CONVERGE_TIMEOUT)
    before = snapshot(platform)["voting"]
    for name in platform.service_processes("voting"):
        platform.stop(name)
    _wipe_database(platform, "voting")
    started = time.monotonic()
    migrated = platform.manage("voting", "migrate", "--noinput")
    assert migrated.returncode == 0, migrated.stdout + migrated.stderr
    assert not snapshot(platform)["voting"]["voters"]  # empty indeed
    replayed = platform.manage("voting", "replay_events")
    assert replayed.returncode == 0, replayed.stdout + replayed.stderr
    took = time.monotonic() - started
    after = snapshot(platform)
    for kind in ("voters", "causes", "polls"):
        assert after["voting"][kind] == before[kind], kind
    assert differences(after, replicas_only=True) == []
    polls_before = snapshot(platform)["polls"]
    for name in platform.service_processes("voting"):
        platform.spawn(name)
    platform.wait_ready(["voting"])
    # Back in service, the rebuilt voting publishes what it now has (a final tally of no
    # ballots for the finalized poll, at version 1); polls_service holds a newer version of
    # that tally, so its final results stay as they were.
    wait_until(
        lambda: snapshot(platform)["voting"]["outbox_pending"] == 0,
        timeout=30,
        message="voting's outbox to drain",
    )
    wait_until(
        lambda: (
            natsctl.consumer_info(platform.config.nats_admin_url, "VOTING", "polls-voting")[
                "num_pending"
            ]
            == 0
            and natsctl.consumer_info(platform.config.nats_admin_url, "VOTING", "polls-voting")[
                "num_ack_pending"
            ]
            == 0
        ),
        timeout=30,
        message="polls to take voting's events",
    )
    polls_after = snapshot(platform)["polls"]
    assert polls_after["results"] == polls_before["results"]
    assert polls_after["tallies"] == polls_before["tallies"]
    report(
        capsys,
        "6 voting rebuilt from an empty database",
        output=replayed.stdout.strip(),
        voters=len(before["voters"]),
        causes=len(before["causes"]),
        polls=len(before["polls"]),
        migrate_and_replay=f"{took:.1f} s",
    )


# ------------------------------------------------------------------------------- helpers --


def _count(platform: Platform, service: str, code: str) -> int:
    result = platform.manage(service, "shell", "-c", code)
    for line in result.stdout.splitlines():
        if line.startswith("COUNT "):
            return int(line.split()[1])
    raise AssertionError(result.stdout + result.stderr)


def _voter_points(platform: Platform, voter: Voter) -> int | None:
    me = platform.api("GET", "voting", "me/", token=voter.token)
    return me.body["points"] if me.status == 200 else None


def _has_message(url: str, stream: str, subject: str) -> bool:
    try:
        natsctl.last_message(url, stream, subject)
        return True
    except Exception:
        return False


def _consumed(url: str, stream: str, durable: str, seq: int) -> bool:
    info = natsctl.consumer_info(url, stream, durable)
    return info["ack_floor_seq"] >= seq and info["num_ack_pending"] == 0


def _selected_actions(html: str) -> list[str]:
    import re

    return re.findall(r'name="_selected_action" value="([^"]+)"', html)


_TRIGGER_SQLITE = (
    "CREATE TRIGGER systest_poison BEFORE UPDATE ON voting_voter "
    f"WHEN NEW.points = {POISON_POINTS} BEGIN SELECT RAISE(ABORT, 'systest poison'); END"
)
_TRIGGER_POSTGRES = [
    "CREATE FUNCTION systest_poison() RETURNS trigger AS $$ BEGIN "
    "RAISE EXCEPTION 'systest poison'; END $$ LANGUAGE plpgsql",
    "CREATE TRIGGER systest_poison BEFORE UPDATE ON voting_voter FOR EACH ROW "
    f"WHEN (NEW.points = {POISON_POINTS}) EXECUTE FUNCTION systest_poison()",
]
_DROP_SQLITE = ["DROP TRIGGER IF EXISTS systest_poison"]
_DROP_POSTGRES = [
    "DROP TRIGGER IF EXISTS systest_poison ON voting_voter",
    "DROP FUNCTION IF EXISTS systest_poison()",
]


def _poison_trigger(platform: Platform, *, create: bool) -> None:
    statements = {
        "sqlite": [_TRIGGER_SQLITE] if create else _DROP_SQLITE,
        "postgresql": _TRIGGER_POSTGRES if create else _DROP_POSTGRES,
    }
    code = (
        "from django.db import connection\n"
        f"statements = {statements!r}[connection.vendor]\n"
        "with connection.cursor() as c:\n"
        "    for s in statements:\n"
        "        c.execute(s)\n"
        "print('DONE')\n"
    )
    result = platform.manage("voting", "shell", "-c", code)
    assert "DONE" in result.stdout, result.stdout + result.stderr


def _wipe_database(platform: Platform, service: str) -> None:
    url = platform.specs[f"{service}-web"].env.get("DATABASE_URL")
    if url:
        name = database_name(url)
        _postgres_admin(url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        manage_all.ensure_database(url)
    else:
        for path in platform.var_dir.glob(f"{service}.sqlite3*"):
            path.unlink()


# ------------------------------------------------------------- database connection loss --

STORM_SECONDS = 20.0
STORM_INTERVAL = 0.5
BALLOT_CLIENTS = 4


def test_9_database_connection_loss(platform: Platform, operator: Operator, capsys):
    """Every backend of voting's database is terminated (pg_terminate_backend, from a
    connection of the test's own) every 0.5 s for 20 s, while several clients cast ballots:
    a request that lost its connection answers 503 with Retry-After, never 500; every
    acknowledged ballot is there; and once the terminations stop, the outbox drains and polls
    has the tally at once, not after the relay's 30 s lease (its rows are marked on a new
    connection). The outside terminations rarely land in the milliseconds between JetStream's
    ack and the marking, so voting's worker also runs with the relay's after-publish hook set
    to the test fault `lose_db_connection_after_publish`, which ends its own session at that
    moment after every publish. After test 6 on purpose: a round and voters of its own,
    checked by itself."""
    url = platform.specs["voting-web"].env.get("DATABASE_URL", "")
    if not url.startswith("postgres"):
        pytest.skip("terminates PostgreSQL backends (set VOTING_DATABASE_URL)")
    database = database_name(url)
    round_ = open_round(platform, operator)
    clients = [new_delegator(platform) for _ in range(BALLOT_CLIENTS)]
    wait_until(
        lambda: all(
            platform.api("GET", "voting", "me/", token=c.token).status == 200 for c in clients
        ),
        timeout=60,
        message="voting to know the clients",
    )
    ballot_url = platform.url("voting", f"api/polls/{round_.poll_id}/ballot/")
    answers: dict[str, list[tuple[int | None, str | None, list[list]]]] = {
        c.id: [] for c in clients
    }
    storm_over = threading.Event()

    def cast_until_the_storm_is_over(client: Voter, seed: int) -> None:
        rng = random.Random(seed)
        while not storm_over.is_set():
            first, second = rng.sample(round_.causes, 2)
            points = rng.randint(1, 60)
            allocations = [[first, points], [second, rng.randint(0, 100 - points)]]
            status, retry_after = _put_ballot(ballot_url, client.token, allocations)
            answers[client.id].append((status, retry_after, allocations))
            storm_over.wait(0.05)

    casters = [
        threading.Thread(target=cast_until_the_storm_is_over, args=(c, i), daemon=True)
        for i, c in enumerate(clients)
    ]
    platform.stop("voting-worker")
    platform.spawn(
        "voting-worker",
        extra_env={RELAY_FAULT_ENV: "shared_events.core.testing.lose_db_connection_after_publish"},
    )
    for caster in casters:
        caster.start()
    try:
        terminated = _terminate_backends_repeatedly(url, database, STORM_SECONDS, STORM_INTERVAL)
    finally:
        storm_over.set()
        for caster in casters:
            caster.join(30)
    over = time.monotonic()
    try:
        _converges_after_the_storm(platform, round_, clients, answers, terminated, over, capsys)
    finally:
        platform.stop("voting-worker")
        platform.spawn("voting-worker")


def _converges_after_the_storm(
    platform: Platform,
    round_: Round,
    clients: list[Voter],
    answers: dict[str, list[tuple[int | None, str | None, list]]],
    terminated: int,
    over: float,
    capsys,
) -> None:
    url = platform.specs["voting-web"].env["DATABASE_URL"]
    statuses = Counter(status for given in answers.values() for status, _, _ in given)
    assert terminated > 0, "no backend was terminated"
    assert set(statuses) <= {200, 201, 503}, statuses  # no 500, no unanswered request
    assert all(
        retry_after
        for given in answers.values()
        for status, retry_after, _ in given
        if status == 503
    )
    assert statuses[200] + statuses[201] > 0, statuses
    worker_log = (platform.log_dir / "voting-worker.log").read_text(errors="replace")
    this_start = worker_log.split("----- started")[-1]
    assert "ending this database session" in this_start  # the hook did hit the marking

    # Read with plain SQL, not `snapshot` (whose manage.py processes take seconds to start).
    wait_until(
        lambda: _voting_outbox_pending(url) == 0,
        timeout=CONVERGE_TIMEOUT,
        interval=0.1,
        message="voting's outbox to drain",
    )
    drained = time.monotonic() - over
    # Rows left leased by a relay that lost its connection would wait out the lease.
    assert drained < shared_events_conf.DEFAULTS["RELAY_LEASE_SECONDS"], (
        f"drained {drained:.1f} s after the storm"
    )
    polls_url = platform.specs["polls-web"].env["DATABASE_URL"]

    def polls_has_votings_tally() -> bool:
        in_voting, in_polls = _tally_versions(url, polls_url, round_.poll_id)
        return in_voting is not None and in_voting == in_polls

    wait_until(
        polls_has_votings_tally,
        timeout=CONVERGE_TIMEOUT,
        interval=0.1,
        message="polls to have voting's tally",
    )
    replicated = time.monotonic() - over

    def tally_converged() -> list[str]:
        snap = snapshot(platform)
        found = []
        for client in clients:
            ballot = snap["voting"]["ballots"].get(f"{client.id}:{round_.poll_id}")
            given = answers[client.id]
            last_ok = (
                max(i for i, (s, _, _) in enumerate(given) if s in (200, 201))
                if any(s in (200, 201) for s, _, _ in given)
                else None
            )
            if last_ok is None:
                continue
            # The last acknowledged ballot, or a later one whose 503 came after its commit.
            candidates = [a for s, _, a in given[last_ok:] if s in (200, 201, 503)]
            if (ballot[2] if ballot else None) not in candidates:
                found.append(
                    f"client {client.id}: ballot {ballot}, last acknowledged {given[last_ok][2]}"
                )
        tally = snap["voting"]["tallies"].get(round_.poll_id)
        recount = snap["voting"]["recount"].get(round_.poll_id, {"ballots": 0, "causes": {}})
        if tally is None or (tally[3], _nonzero(tally[5])) != (
            recount["ballots"],
            _nonzero(recount["causes"]),
        ):
            found.append(f"voting's tally {tally} != recount {recount}")
        if snap["polls"]["tallies"].get(round_.poll_id) != tally:
            found.append(
                f"polls' tally {snap['polls']['tallies'].get(round_.poll_id)} != voting's {tally}"
            )
        return found

    wait_until(
        lambda: not tally_converged(),
        timeout=CONVERGE_TIMEOUT,
        interval=0.5,
        message="the ballots and the tally to converge",
    )
    report(
        capsys,
        "9 voting's database connections terminated every 0.5 s for 20 s",
        backends_terminated=terminated,
        ballots=dict(sorted(statuses.items())),
        outbox_drained_after=f"{drained:.1f} s",
        polls_had_votings_tally_after=f"{replicated:.1f} s",
    )


def _put_ballot(url: str, token: str, allocations: list[list]) -> tuple[int | None, str | None]:
    """(status, Retry-After) of one ballot; status None when no answer came."""
    try:
        answer = http(
            "PUT",
            url,
            {"allocations": [{"cause": c, "points": p} for c, p in allocations]},
            token=token,
        )
    except OSError:
        return None, None
    return answer.status, answer.headers.get("Retry-After")


def _terminate_backends_repeatedly(url: str, database: str, seconds: float, interval: float) -> int:
    """pg_terminate_backend on every session of `database` (this one is on another database)
    every `interval` seconds for `seconds`; returns how many sessions it ended."""
    conn = postgres_connection(url, "postgres")
    terminated = 0
    try:
        with conn.cursor() as cursor:
            end = time.monotonic() + seconds
            while time.monotonic() < end:
                cursor.execute(
                    "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                    "WHERE datname = %s AND pid <> pg_backend_pid()",
                    [database],
                )
                terminated += cursor.fetchone()[0]
                time.sleep(interval)
    finally:
        conn.close()
    return terminated


def _voting_outbox_pending(url: str) -> int:
    conn = postgres_connection(url)
    try:
        with conn.cursor() as cursor:
            cursor.execute("SELECT count(*) FROM shared_events_outbox WHERE published_at IS NULL")
            return cursor.fetchone()[0]
    finally:
        conn.close()


def _tally_versions(voting_url: str, polls_url: str, poll_id: str) -> tuple[int | None, ...]:
    """The version of the poll's tally in voting, and the one polls has replicated."""
    found = []
    for url, statement in (
        (voting_url, "SELECT version FROM voting_polltally WHERE poll_id = %s"),
        (polls_url, "SELECT source_version FROM polls_tallyreplica WHERE id = %s"),
    ):
        conn = postgres_connection(url)
        try:
            with conn.cursor() as cursor:
                cursor.execute(statement, [poll_id])
                row = cursor.fetchone()
                found.append(row[0] if row else None)
        finally:
            conn.close()
    return tuple(found)


# ------------------------------------------------------------------------ a hung broker --

HANG_SECONDS = 20.0
DRAIN_TIMEOUT = 60.0


@pytest.fixture
def writer_on_a_new_round(platform: Platform, operator: Operator) -> Iterator[Writer]:
    """A writer on an open round and voters of its own: the module's round is finalized by
    test 8, and a ballot on a closed poll is refused."""
    round_ = open_round(platform, operator)
    voters = [new_delegator(platform) for _ in range(4)]
    # Every voter known to voting first; replicas only, as test 6 wiped voting's tallies.
    wait_converged(platform, timeout=CONVERGE_TIMEOUT, replicas_only=True)
    running = Writer(
        platform,
        operator=operator.token,
        voters=voters,
        poll_id=round_.poll_id,
        causes=round_.causes,
        history=History(),
        seed=int(time.time()) & 0xFFFF,
    )
    running.start()
    yield running
    if running.is_alive():
        running.stop()


def test_10_nats_hangs_while_writes_continue(
    platform: Platform, writer_on_a_new_round: Writer, capsys
):
    """NATS frozen (SIGSTOP), not dead: connections stay open and nothing answers. The relays'
    flushes and acks miss their deadlines; nats-py's read loop may die on a late PONG. Every
    connection that missed a deadline is thrown away, so after SIGCONT every outbox drains and
    every replica converges, with no process restarted. Checked on replicas and outboxes only:
    earlier scenarios wiped voting's ballots."""
    writer = writer_on_a_new_round
    running = {name: proc.pid for name, proc in platform.procs.items() if proc.poll() is None}
    nats = platform.procs["nats"]
    writes_for(writer, 1)
    before = writer.mark()
    os.killpg(nats.pid, signal.SIGSTOP)
    try:
        writes_for(writer, HANG_SECONDS / 2)
        # `manage_all.py status` says so: NATS does not answer, the outboxes are failing.
        shown = manage_all_status(platform, "--json")
        writes_for(writer, HANG_SECONDS / 2)
        during = writer.summary(since=before)
        summary = writer.stop()
        held = snapshot(platform)  # what waits in the outboxes when NATS resumes
    finally:
        os.killpg(nats.pid, signal.SIGCONT)
    resumed = time.monotonic()
    assert during.get("ok", 0) > 0 and during.get("failed", 0) == 0, during
    assert shown.returncode == 1, shown.stdout + shown.stderr
    status = json.loads(shown.stdout)
    assert not status["healthy"] and not status["nats"]["reachable"], status
    pending_at_resume = {s: held[s]["outbox_pending"] for s in held}
    assert any(pending_at_resume.values()), pending_at_resume

    drained: list[float] = []

    def drained_and_converged() -> bool:
        snap = snapshot(platform)
        if any(snap[s]["outbox_pending"] for s in snap):
            return False
        if not drained:
            drained.append(time.monotonic() - resumed)
        return not differences(snap, replicas_only=True)

    wait_until(
        drained_and_converged,
        timeout=DRAIN_TIMEOUT,
        interval=0.5,
        message="every outbox to drain and every replica to converge after SIGCONT",
    )
    converged = time.monotonic() - resumed
    # Nothing was restarted to get there.
    assert {
        name: platform.procs[name].pid for name in running if platform.procs[name].poll() is None
    } == running
    report(
        capsys,
        "10 NATS hung (SIGSTOP) while writes continue",
        hang=f"{HANG_SECONDS:.0f} s",
        writes_during_hang=during,
        writes=summary,
        outbox_pending_at_sigcont=pending_at_resume,
        status_during_hang=status.get("problems", [])[:3],
        drained_after_sigcont=f"{drained[0]:.1f} s",
        converged_after_sigcont=f"{converged:.1f} s",
        restarts=0,
    )
