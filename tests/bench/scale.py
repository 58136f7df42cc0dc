"""`python manage_all.py bench --scale [--scale-sizes 10000,100000,1000000]`: how the costs grow
with the number of delegators, one platform grown from size to size on this machine.

For each size N (ascending; the platform keeps what the smaller sizes left):

- seeding: accounts and their replicas in voting and polls written straight with COPY (the
  rows a registration would leave, version 1), so seeding is not the run's bottleneck; seeded
  accounts send no events, the accrual below sends one state of each;
- epoch accrual: accounts credits every delegator for one more epoch
  (`accrue_epoch_points`), until every voter replica in voting shows it;
- the chain's stake: importing an epoch of N delegators and freezing a poll's N-voter power
  table, the default run's agents (chain.py) on databases of their own;
- ballots: a new poll of 5 causes, and 30 % of the N delegators each cast one ballot over the
  API (4 clients), while one more client reads the poll's live tally in a loop (the read
  load): ballots per second and latency, the tally read's latency; then how long the
  published tally takes to count the last ballot;
- close → final tally → payouts: polls closes the poll (`poll_close`, no grace), until voting's
  final tally and polls' finalized results (each cause's payout) are there;
- rebuilding voting from the streams: a fresh database migrated, then `manage.py
  replay_events`;
- the JetStream store and the three databases, in bytes per delegator.

Prints a table with a column per size and the growth between sizes, and writes every number to
var/bench/<time>-scale.json (or --out). Each wait has a limit that grows with N and the
ballots stop at `--scale-ballot-seconds` (reported as cut short), so a run ends by itself.
Cleans up like the default run: processes, databases, Redis keys, the temporary folder.
"""

from __future__ import annotations

import dataclasses
import http.client
import io
import json
import os
import random
import secrets
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from tests.system.harness import _postgres_admin, database_name

from . import chain
from .infra import (
    ROOT,
    BenchConfig,
    BenchPlatform,
    Databases,
    RedisKeys,
    connect,
    load_average,
    migrate,
    run_agent,
    scalar,
    standalone_env,
    wait_for,
)
from .progress import Progress, say
from .stats import summary_ms

SIZES = (10_000, 100_000, 1_000_000)
VOTE_SHARE = 0.30
CAUSES = 5
CASTERS = 4
READERS = 1
POINTS = 1_000
RECONNECT_EVERY = 50


@dataclasses.dataclass(frozen=True)
class ScaleParams:
    sizes: tuple[int, ...] = SIZES
    vote_share: float = VOTE_SHARE
    causes: int = CAUSES
    casters: int = CASTERS
    readers: int = READERS
    ballot_seconds: float = 3600.0  # the most the ballots of one size may take


def parse_sizes(text: str) -> tuple[int, ...]:
    try:
        sizes = tuple(sorted({int(s.replace("_", "")) for s in text.split(",") if s.strip()}))
    except ValueError:
        raise SystemExit(f"bench: --scale-sizes wants whole numbers, got {text!r}") from None
    if not sizes or sizes[0] < 10:
        raise SystemExit("bench: --scale-sizes wants sizes of at least 10 delegators")
    return sizes


def _limit(n: int) -> float:
    """Seconds a step of size n may wait before the run gives up on it."""
    return 120 + n / 100


# -- agents ------------------------------------------------------------------------------------


def agent_epoch_now() -> dict[str, Any]:
    from django.utils import timezone

    from shared_events.kit.epochs import epoch_at

    return {"epoch": epoch_at(timezone.now())}


def agent_tokens(ids: list[str]) -> dict[str, Any]:
    from accounts.models import Account
    from accounts.services import browser_token_issue
    from tests.bench.agent import progress

    tokens: list[str] = []
    for start in range(0, len(ids), 2000):
        chunk = ids[start : start + 2000]
        by_id = {str(a.pk): a for a in Account.objects.filter(pk__in=chunk)}
        tokens += [browser_token_issue(account=by_id[i])[0] for i in chunk]
        progress(len(tokens), len(ids), "signing access tokens")
    return {"tokens": tokens}


def agent_close_poll(poll: str) -> dict[str, Any]:
    from polls.models import Poll
    from polls.services import poll_close

    started = time.time()
    poll_close(poll=Poll.objects.get(pk=poll))
    return {"started": started}


# -- steps -------------------------------------------------------------------------------------


class ScalePlatform(BenchPlatform):
    def environment(self) -> dict[str, str]:
        env = super().environment()
        # Polls closes on the spot: the close's figure is the platform's work, not the grace.
        env["POLL_CLOSE_GRACE_SECONDS"] = "0"
        return env


@dataclasses.dataclass
class Run:
    platform: ScalePlatform
    dbs: Databases
    config: BenchConfig
    params: ScaleParams
    workdir: Path
    log_dir: Path
    epoch: int = 0
    ids: list[str] = dataclasses.field(default_factory=list)
    operator_token: str = ""

    def agent(self, service: str, function: str, kwargs: dict[str, Any], **kw: Any) -> Any:
        return run_agent(
            service,
            f"scale.{function}" if "." not in function else function,
            kwargs,
            env=self.platform.service_env(service),
            log_dir=self.log_dir,
            **kw,
        )


def _copy(url: str, table: str, columns: str, buffer: io.StringIO) -> None:
    conn = connect(url)
    try:
        buffer.seek(0)
        with conn.cursor() as cursor:
            cursor.copy_expert(f"COPY {table} ({columns}) FROM STDIN", buffer)
    finally:
        conn.close()


def seed_to(run: Run, n: int) -> dict[str, Any]:
    """Delegators up to n: accounts, voting's voters and polls' account replicas, by COPY."""
    start = len(run.ids)
    new = [str(uuid.uuid4()) for _ in range(n - start)]
    bar = Progress(f"seed {len(new):,} delegators (COPY)", 1)
    began = time.perf_counter()
    now = datetime.now(UTC).isoformat()
    password = "!" + secrets.token_hex(20)  # an unusable password, as Django writes one
    accounts, voters, replicas = io.StringIO(), io.StringIO(), io.StringIO()
    for i, pk in enumerate(new, start):
        accounts.write(
            f"{password}\t1\t{pk}\tscale-{i}@bench.example\tdelegator\t{POINTS}\tt\t{now}\t"
            f"{now}\t{run.epoch}\n"
        )
        voters.write(f"1\tf\t{now}\t{pk}\tdelegator\tt\t{POINTS}\t{now}\n")
        replicas.write(f"1\tf\t{now}\t{pk}\tdelegator\tt\n")
    _copy(
        run.platform.db_url("accounts"),
        "accounts_account",
        "password, version, id, email, role, points, is_active, date_joined, updated_at, "
        "accrued_through_epoch",
        accounts,
    )
    _copy(
        run.platform.db_url("voting"),
        "voting_voter",
        "source_version, is_deleted, replicated_at, id, role, is_active, points, joined_at",
        voters,
    )
    _copy(
        run.platform.db_url("polls"),
        "polls_accountreplica",
        "source_version, is_deleted, replicated_at, id, role, is_active",
        replicas,
    )
    for service in ("accounts", "polls", "voting"):
        conn = connect(run.platform.db_url(service))
        try:
            with conn.cursor() as cursor:
                cursor.execute("VACUUM (ANALYZE)")
        finally:
            conn.close()
    run.ids += new
    seconds = time.perf_counter() - began
    bar.finish(f"{seconds:.1f}s")
    return {"delegators": n, "seeded": len(new), "seconds": round(seconds, 2)}


def accrual(run: Run, n: int, epochs_ahead: int) -> dict[str, Any]:
    bar = Progress(f"accrual for {n:,} delegators, until voting shows it", 1)
    accrued = run.agent(
        "accounts", "accrual.agent_accrue", {"epochs_ahead": epochs_ahead}, timeout=_limit(n)
    )
    voting = connect(run.platform.db_url("voting"))
    total = "SELECT coalesce(sum(points), 0) FROM voting_voter WHERE role = 'delegator'"
    try:
        wait_for(
            lambda: scalar(voting, total) >= accrued["points_sum"],
            timeout=_limit(n),
            interval=0.05,
            what="voting to show the accrued points",
        )
    finally:
        voting.close()
    visible = time.time() - accrued["started"]
    bar.finish(f"{visible:.1f}s")
    return {
        "accounts_credited": accrued["accounts"],
        "accrual_seconds": round(accrued["finished"] - accrued["started"], 2),
        "seconds_until_visible": round(visible, 2),
    }


def chain_stake(run: Run, n: int) -> dict[str, Any]:
    """The default run's import and freeze agents at n, on fresh databases of their own."""
    envs = {}
    for scenario, service in (("stake_import", "accounts"), ("power_freeze", "voting")):
        envs[service] = {
            **standalone_env(
                service,
                database_url=run.dbs.url(f"{scenario}_{n}"),
                nats_url="nats://127.0.0.1:1",  # nothing is relayed here
                var_dir=run.workdir / f"var-chain-{n}",
                redis_url=run.config.redis_url,
                run_id=run.dbs.run_id,
            ),
            **chain.chain_env(),
        }
    migrate(envs)
    bar = Progress(f"import an epoch of {n:,} delegators", 1)
    imported = run_agent(
        "accounts",
        "chain.agent_stake_import",
        {"n": n, "workdir": str(run.workdir)},
        env=envs["accounts"],
        log_dir=run.log_dir,
        progress=bar,
        timeout=_limit(n) * 3,
    )
    bar.finish(f"{imported['import_seconds']:.1f}s")
    bar = Progress(f"freeze a {n:,}-voter power table", 1)
    frozen = run_agent(
        "voting",
        "chain.agent_power_freeze",
        {"n": n},
        env=envs["voting"],
        log_dir=run.log_dir,
        progress=bar,
        timeout=_limit(n) * 3,
    )
    bar.finish(f"{frozen['freeze_seconds']:.2f}s")
    for env in envs.values():  # their rows are counted here, not in the platform's sizes
        _drop(env["DATABASE_URL"])
    return {
        "import_seconds": imported["import_seconds"],
        "import_ceiling_seconds": imported["ceiling_seconds"],
        "freeze_seconds": frozen["freeze_seconds"],
        "freeze_ceiling_seconds": frozen["ceiling_seconds"],
    }


def _drop(url: str) -> None:
    _postgres_admin(url, f'DROP DATABASE IF EXISTS "{database_name(url)}" WITH (FORCE)')


def open_poll(run: Run, n: int) -> dict[str, Any]:
    poll = run.agent(
        "polls", "seed.agent_create_poll", {"causes": run.params.causes, "closes_in": 86400}
    )
    voting = connect(run.platform.db_url("voting"))
    try:
        wait_for(
            lambda: (
                scalar(
                    voting, "SELECT status FROM voting_pollreplica WHERE id = %s", [poll["poll"]]
                )
                == "open"
            ),
            timeout=120,
            interval=0.1,
            what="the poll to open in voting",
        )
    finally:
        voting.close()
    return poll


@dataclasses.dataclass
class _Calls:
    latencies: list[float] = dataclasses.field(default_factory=list)
    statuses: dict[int, int] = dataclasses.field(default_factory=dict)
    samples: list[str] = dataclasses.field(default_factory=list)

    def record(self, status: int, took: float, data: bytes) -> None:
        self.statuses[status] = self.statuses.get(status, 0) + 1
        if 200 <= status < 300:
            self.latencies.append(took)
        elif len(self.samples) < 5:
            self.samples.append(f"{status} {data[:300]!r}")


def _request(
    conn: http.client.HTTPConnection,
    port: int,
    method: str,
    path: str,
    body: bytes | None,
    headers: dict[str, str],
) -> tuple[http.client.HTTPConnection, int, float, bytes]:
    sent = time.perf_counter()
    try:
        conn.request(method, path, body, headers)
        response = conn.getresponse()
        data, status = response.read(), response.status
    except (OSError, http.client.HTTPException) as exc:
        conn.close()
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        data, status = repr(exc).encode(), 0
    return conn, status, time.perf_counter() - sent, data


def cast_and_read(run: Run, poll: dict[str, Any], tokens: list[str]) -> dict[str, Any]:
    """Every token casts one ballot (CASTERS clients, each sending the next as soon as the
    last is answered) while READERS clients read the live tally in a loop, until every ballot
    is cast or the time allowed has passed."""
    port = run.platform.port("voting")
    ballot_path = f"/voting/api/polls/{poll['poll']}/ballot/"
    tally_path = f"/voting/api/polls/{poll['poll']}/tally/"
    causes = poll["causes"]
    lock = threading.Lock()
    next_voter = iter(range(len(tokens)))
    casts = [_Calls() for _ in range(run.params.casters)]
    reads = [_Calls() for _ in range(run.params.readers)]
    casting_done = threading.Event()
    deadline = time.monotonic() + run.params.ballot_seconds

    def headers(token: str) -> dict[str, str]:
        return {
            "Authorization": f"Bearer {token}",
            "Content-Type": "application/json",
            "Accept": "application/json",
        }

    def caster(k: int) -> None:
        rng = random.Random(k)
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        try:
            for sent in range(10**12):
                if time.monotonic() > deadline:
                    return
                with lock:
                    who = next(next_voter, None)
                if who is None:
                    return
                if sent and sent % RECONNECT_EVERY == 0:
                    conn.close()
                    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
                chosen = rng.sample(causes, rng.randint(1, len(causes)))
                share = POINTS // len(chosen)
                body = json.dumps(
                    {"allocations": [{"cause": c, "points": rng.randint(1, share)} for c in chosen]}
                ).encode()
                conn, status, took, data = _request(
                    conn, port, "PUT", ballot_path, body, headers(tokens[who])
                )
                casts[k].record(status, took, data)
        finally:
            conn.close()

    def reader(k: int) -> None:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        sent = 0
        try:
            while not casting_done.is_set():
                sent += 1
                if sent % RECONNECT_EVERY == 0:
                    conn.close()
                    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
                conn, status, took, data = _request(
                    conn, port, "GET", tally_path, None, headers(tokens[k % len(tokens)])
                )
                reads[k].record(status, took, data)
        finally:
            conn.close()

    # Warm up each web worker (its first requests load code and open connections) with reads
    # of the tally and of a ballot, which cast nothing.
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    for i in range(40):
        for path in (tally_path, ballot_path):
            if i % 10 == 0:
                conn.close()
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
            conn, *_ = _request(conn, port, "GET", path, None, headers(tokens[i % len(tokens)]))
    conn.close()
    threads = [
        threading.Thread(target=caster, args=(k,), daemon=True) for k in range(run.params.casters)
    ]
    readers = [
        threading.Thread(target=reader, args=(k,), daemon=True) for k in range(run.params.readers)
    ]
    bar = Progress(f"{len(tokens):,} ballots, the live tally read beside", len(tokens))
    began = time.monotonic()
    for t in [*threads, *readers]:
        t.start()
    while any(t.is_alive() for t in threads):
        done = sum(sum(c.statuses.values()) for c in casts)
        elapsed = time.monotonic() - began
        bar.update(done, f"{done / elapsed:,.0f}/s" if elapsed else "")
        time.sleep(0.2)
    seconds = time.monotonic() - began
    casting_done.set()
    for t in readers:
        t.join(30)
    cast_latencies = [x for c in casts for x in c.latencies]
    read_latencies = [x for r in reads for x in r.latencies]
    statuses: dict[str, int] = {}
    for c in casts:
        for status, count in c.statuses.items():
            statuses[str(status)] = statuses.get(str(status), 0) + count
    read_statuses: dict[str, int] = {}
    for r in reads:
        for status, count in r.statuses.items():
            read_statuses[str(status)] = read_statuses.get(str(status), 0) + count
    cast = len(cast_latencies)
    bar.finish(f"{cast / seconds:,.0f} ballots/s, {len(read_latencies) / seconds:,.0f} reads/s")
    return {
        "voters": len(tokens),
        "cast": cast,
        "cut_short": cast + sum(n for s, n in statuses.items() if not s.startswith("2"))
        < len(tokens),
        "seconds": round(seconds, 2),
        "ballots_per_second": round(cast / seconds, 1) if seconds else None,
        "statuses": statuses,
        "error_samples": [s for c in casts for s in c.samples][:5],
        "ballot": summary_ms(cast_latencies),
        "tally_reads_per_second": round(len(read_latencies) / seconds, 1) if seconds else None,
        "tally_read_statuses": read_statuses,
        "tally_read": summary_ms(read_latencies),
    }


def tally_caught_up(run: Run, poll: str, cast: int) -> float:
    """Seconds until voting's published tally counts every ballot cast."""
    voting = connect(run.platform.db_url("voting"))
    began = time.monotonic()
    try:
        wait_for(
            lambda: (
                (
                    scalar(
                        voting, "SELECT ballots FROM voting_polltally WHERE poll_id = %s", [poll]
                    )
                    or 0
                )
                >= cast
            ),
            timeout=_limit(cast),
            interval=0.05,
            what="the published tally to count every ballot",
        )
    finally:
        voting.close()
    return round(time.monotonic() - began, 2)


# What a live tally read cost before the running totals: an aggregate over every allocation of
# the poll (the statement the ORM wrote then), beside what a read costs now (the published row).
_AGGREGATE = """
SELECT cause_id, sum(points), count(id),
       (SELECT count(DISTINCT ballot_id) FROM voting_allocation WHERE poll_id = %(poll)s
        AND points > 0)
FROM voting_allocation WHERE poll_id = %(poll)s AND points > 0 GROUP BY cause_id
"""
_PUBLISHED = "SELECT causes, ballots, total_points FROM voting_polltally WHERE poll_id = %(poll)s"


def read_costs(run: Run, poll: str) -> dict[str, Any]:
    """Median of 5 of each statement, in the database alone (no HTTP)."""
    voting = connect(run.platform.db_url("voting"))
    costs = {}
    try:
        for name, sql in (("aggregate_ms", _AGGREGATE), ("published_row_ms", _PUBLISHED)):
            took = []
            for _ in range(5):
                began = time.perf_counter()
                with voting.cursor() as cursor:
                    cursor.execute(sql, {"poll": poll})
                    cursor.fetchall()
                took.append(time.perf_counter() - began)
            costs[name] = round(sorted(took)[2] * 1000, 2)
    finally:
        voting.close()
    return costs


def close_and_pay(run: Run, n: int, poll: str, cast: int) -> dict[str, Any]:
    bar = Progress("close → final tally → payouts in polls", 1)
    counts = "SELECT causes, ballots, total_points FROM voting_polltally WHERE poll_id = %s"
    voting = connect(run.platform.db_url("voting"))
    with voting.cursor() as cursor:  # the live tally, from the running totals
        cursor.execute(counts, [poll])
        live = cursor.fetchone()
    closed = run.agent("polls", "agent_close_poll", {"poll": poll}, timeout=_limit(n))
    polls = connect(run.platform.db_url("polls"))
    marks: dict[str, float] = {}

    def done() -> bool:
        if "final" not in marks and scalar(
            voting, "SELECT final FROM voting_polltally WHERE poll_id = %s", [poll]
        ):
            marks["final"] = time.time()
        if scalar(polls, "SELECT status FROM polls_poll WHERE id = %s", [poll]) in (
            "finalized",
            "paid",
        ):
            marks.setdefault("final", time.time())
            marks["results"] = time.time()
            return True
        return False

    try:
        wait_for(done, timeout=_limit(n), interval=0.05, what="polls to finalize the poll")
        with voting.cursor() as cursor:  # the final tally, counted from the ballots
            cursor.execute(counts, [poll])
            final = cursor.fetchone()
        counted = final[1]
        payouts = scalar(polls, "SELECT count(*) FROM polls_pollresult WHERE poll_id = %s", [poll])
    finally:
        voting.close()
        polls.close()
    bar.finish(f"{marks['results'] - closed['started']:.1f}s")
    return {
        "final_tally_seconds": round(marks["final"] - closed["started"], 2),
        "results_seconds": round(marks["results"] - closed["started"], 2),
        "final_tally_ballots": counted,
        "final_tally_equals_cast": counted == cast,
        "final_tally_equals_live": final == live,
        "results_rows": payouts,
    }


def replay(run: Run, n: int) -> dict[str, Any]:
    """Voting rebuilt from the streams into a fresh database beside the running platform."""
    url = run.dbs.url(f"voting_replay_{n}")
    env = {**run.platform.service_env("voting"), "DATABASE_URL": url, "VOTING_DATABASE_URL": url}
    bar = Progress("rebuild voting from the streams (replay_events)", 1)
    began = time.perf_counter()
    migrate({"voting": env})
    migrated = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "manage.py", "replay_events"],
        cwd=ROOT / "voting_service",
        env=env,
        capture_output=True,
        text=True,
        timeout=_limit(n) * 3,
    )
    replayed = time.perf_counter()
    if done.returncode:
        raise RuntimeError(f"replay_events failed:\n{done.stdout[-2000:]}{done.stderr[-2000:]}")
    conn = connect(url)
    try:
        voters = scalar(conn, "SELECT count(*) FROM voting_voter WHERE role = 'delegator'")
    finally:
        conn.close()
    _drop(url)
    bar.finish(f"{replayed - migrated:.1f}s, {voters:,} voters")
    return {
        "migrate_seconds": round(migrated - began, 2),
        "replay_seconds": round(replayed - migrated, 2),
        "said": done.stdout.strip().splitlines()[-1] if done.stdout.strip() else "",
        "voters_rebuilt": voters,
    }


def sizes_on_disk(run: Run, n: int) -> dict[str, Any]:
    store = run.platform.var_dir / "nats"
    jetstream = sum((Path(d) / f).stat().st_size for d, _, files in os.walk(store) for f in files)
    databases = {}
    for service in ("accounts", "polls", "voting"):
        conn = connect(run.platform.db_url(service))
        try:
            databases[service] = scalar(conn, "SELECT pg_database_size(current_database())")
        finally:
            conn.close()
    return {
        "jetstream_bytes": jetstream,
        "database_bytes": databases,
        "jetstream_bytes_per_delegator": round(jetstream / n, 1),
        "database_bytes_per_delegator": round(sum(databases.values()) / n, 1),
    }


def one_size(run: Run, n: int, index: int) -> dict[str, Any]:
    say(f"\n== {n:,} delegators ==")
    began = time.monotonic()
    result: dict[str, Any] = {"delegators": n, "load_average_at_start": load_average()}
    result["seed"] = seed_to(run, n)
    result["accrual"] = accrual(run, n, index + 1)
    result["chain"] = chain_stake(run, n)
    poll = open_poll(run, n)
    voters = random.Random(n).sample(run.ids, max(1, round(n * run.params.vote_share)))
    bar = Progress(f"sign {len(voters):,} access tokens", len(voters))
    tokens = run.agent(
        "accounts", "agent_tokens", {"ids": voters}, progress=bar, timeout=_limit(len(voters))
    )["tokens"]
    bar.finish()
    ballots = cast_and_read(run, poll, tokens)
    ballots["tally_caught_up_seconds"] = tally_caught_up(run, poll["poll"], ballots["cast"])
    ballots["read_costs"] = read_costs(run, poll["poll"])
    result["ballots"] = ballots
    result["close"] = close_and_pay(run, n, poll["poll"], ballots["cast"])
    result["replay"] = replay(run, n)
    result["sizes"] = sizes_on_disk(run, n)
    result["load_average_at_end"] = load_average()
    result["seconds"] = round(time.monotonic() - began, 1)
    return result


# -- output ------------------------------------------------------------------------------------

# (label, path in a size's result, unit)
ROWS = [
    ("seeding by COPY (not a figure: the run's own setup)", ("seed", "seconds"), "s"),
    ("epoch accrual until every voter replica shows it", ("accrual", "seconds_until_visible"), "s"),
    ("  of which accounts' crediting", ("accrual", "accrual_seconds"), "s"),
    ("stake import of an epoch of N delegators", ("chain", "import_seconds"), "s"),
    ("power freeze of an N-voter table", ("chain", "freeze_seconds"), "s"),
    ("ballots cast (30 % of N, 4 clients)", ("ballots", "cast"), ""),
    ("ballots per second", ("ballots", "ballots_per_second"), "/s"),
    ("ballot latency p50", ("ballots", "ballot", "p50_ms"), "ms"),
    ("ballot latency p99", ("ballots", "ballot", "p99_ms"), "ms"),
    (
        "live tally read, 1 client beside the ballots: p50",
        ("ballots", "tally_read", "p50_ms"),
        "ms",
    ),
    ("live tally read p99", ("ballots", "tally_read", "p99_ms"), "ms"),
    ("live tally reads per second", ("ballots", "tally_reads_per_second"), "/s"),
    ("  in the database: the published row", ("ballots", "read_costs", "published_row_ms"), "ms"),
    (
        "  in the database: the aggregate a read ran before",
        ("ballots", "read_costs", "aggregate_ms"),
        "ms",
    ),
    (
        "published tally counts the last ballot, after it",
        ("ballots", "tally_caught_up_seconds"),
        "s",
    ),
    ("close → voting's final tally", ("close", "final_tally_seconds"), "s"),
    ("close → polls' results and payouts", ("close", "results_seconds"), "s"),
    ("rebuild voting: migrate a fresh database", ("replay", "migrate_seconds"), "s"),
    ("rebuild voting: replay_events", ("replay", "replay_seconds"), "s"),
    ("JetStream store per delegator", ("sizes", "jetstream_bytes_per_delegator"), "B"),
    ("databases (3) per delegator", ("sizes", "database_bytes_per_delegator"), "B"),
    ("the size's whole run", ("seconds",), "s"),
]


def _get(result: dict[str, Any], path: tuple[str, ...]) -> Any:
    value: Any = result
    for key in path:
        if not isinstance(value, dict) or key not in value:
            return None
        value = value[key]
    return value


def curve(per_size: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """One row per figure: its value at each size and the growth from each size to the next."""
    rows = []
    for label, path, unit in ROWS:
        values = [_get(r, path) for r in per_size]
        growth = [
            round(b / a, 2)
            if isinstance(a, int | float) and isinstance(b, int | float) and a
            else None
            for a, b in zip(values, values[1:], strict=False)
        ]
        rows.append({"figure": label, "unit": unit, "values": values, "growth": growth})
    return rows


def _fmt(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:,.1f}" if abs(value) >= 10 else f"{value:,.2f}"
    if isinstance(value, int):
        return f"{value:,}"
    return str(value)


def table(sizes: list[int], rows: list[dict[str, Any]]) -> list[list[str]]:
    header = ["figure", "unit", *(f"{n:,}" for n in sizes)]
    header += [
        f"x {b // a if b % a == 0 else round(b / a, 1)} growth"
        for a, b in zip(sizes, sizes[1:], strict=False)
    ]
    out = [header]
    for row in rows:
        out.append(
            [row["figure"], row["unit"], *map(_fmt, row["values"])]
            + [("-" if g is None else f"x {g:.2f}") for g in row["growth"]]
        )
    return out


def print_table(cells: list[list[str]]) -> None:
    widths = [max(len(r[i]) for r in cells) for i in range(len(cells[0]))]
    print()
    for i, row in enumerate(cells):
        print("  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip())
        if i == 0:
            print("  ".join("-" * w for w in widths))


def markdown(cells: list[list[str]]) -> str:
    lines = ["| " + " | ".join(cells[0]) + " |", "|" + "---|" * len(cells[0])]
    lines += ["| " + " | ".join(row) + " |" for row in cells[1:]]
    return "\n".join(lines)


# -- main --------------------------------------------------------------------------------------


def main(*, sizes: tuple[int, ...], out: Path | None, keep: bool, ballot_seconds: float) -> int:
    params = ScaleParams(sizes=sizes, ballot_seconds=ballot_seconds)
    config = BenchConfig()
    config.check()
    run_id = secrets.token_hex(3)
    started = time.time()
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    out = out or ROOT / "var" / "bench" / f"{stamp}-scale.json"
    workdir = Path(tempfile.mkdtemp(prefix=f"bench-scale-{run_id}-"))
    log_dir = workdir / "logs"
    log_dir.mkdir()
    dbs = Databases(config, run_id)
    redis_keys = RedisKeys(config.redis_url)
    report: dict[str, Any] = {
        "run_id": run_id,
        "mode": "scale",
        "started_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": {
            "cpus": os.cpu_count(),
            "load_average": load_average(),
            "python": sys.version.split()[0],
        },
        "params": dataclasses.asdict(params),
        "web_workers": config.web_workers,
        "per_size": [],
        "curve": [],
        "errors": {},
    }
    say(
        f"bench --scale {run_id}: sizes {', '.join(f'{n:,}' for n in sizes)}; "
        f"{os.cpu_count()} CPUs, load average {' '.join(map(str, load_average()))}"
    )
    platform = ScalePlatform(config, dbs, workdir / "platform")
    code = 0
    try:
        bar = Progress("starting the platform", 1)
        platform.start(timeout=180)
        bar.finish(f"{len(platform.procs)} processes")
        run = Run(platform, dbs, config, params, workdir, log_dir)
        run.epoch = run.agent("accounts", "agent_epoch_now", {})["epoch"]
        for index, n in enumerate(sizes):
            try:
                report["per_size"].append(one_size(run, n, index))
            except Exception as exc:
                say(f"\n  {n:,} delegators FAILED: {exc}")
                report["errors"][str(n)] = repr(exc)[-4000:]
                say(f"\nthe platform's last log lines:\n{platform.logs(tail=15)}")
                break
    except KeyboardInterrupt:
        say("\nbench: interrupted; cleaning up")
        report["errors"]["interrupted"] = "KeyboardInterrupt"
        code = 130
    except Exception as exc:
        report["errors"]["platform"] = repr(exc)[-4000:]
    finally:
        if platform.log_dir.exists():
            shutil.copytree(platform.log_dir, log_dir / "platform", dirs_exist_ok=True)
        bar = Progress("stopping the platform and cleaning up", 1)
        platform.close(keep_files=True)
        dbs.drop_all()
        removed = redis_keys.cleanup()
        kept = f", kept {workdir}" if keep else ""
        if not keep:
            shutil.rmtree(workdir, ignore_errors=True)
        bar.finish(f"{len(dbs.created)} databases dropped, {removed} Redis keys deleted{kept}")
    measured = [r["delegators"] for r in report["per_size"]]
    report["curve"] = curve(report["per_size"])
    cells = table(measured, report["curve"]) if measured else [["figure", "unit"]]
    report["markdown"] = markdown(cells)
    report["seconds"] = round(time.time() - started, 1)
    report["machine"]["load_average_at_end"] = load_average()
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(report, indent=2))
    if measured:
        print_table(cells)
    print(f"\n{len(measured)} sizes in {report['seconds']:.0f}s, written to {out}")
    if report["errors"]:
        print(f"FAILED: {', '.join(report['errors'])} (details in the JSON file)")
        code = code or 1
    return code
