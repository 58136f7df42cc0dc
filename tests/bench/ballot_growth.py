"""What a ballot costs PostgreSQL as the number of voters grows: an experiment, not a test.

    python -m tests.bench.ballot_growth --server postgres://postgres@127.0.0.1:5432 \
        [--sizes 10000,1000000] [--ballots 3000] [--batches 3] [--workers 4] [--fresh-power]

For each size N, on a database of its own (`ballot_growth_<N>`, dropped at the end unless
--keep): voting's schema migrated, N delegator voters and an open poll of 5 causes written by
generate_series, and the poll's power table frozen for all N (one row per voter; with
--fresh-power none, so each first cast freezes its own, as a poll of the open mode does),
then VACUUM ANALYZE of those tables. Then `--batches` batches of `--ballots` first casts
each, by distinct voters picked at random, through the real write path (`services.ballot_cast`, so
`ballot_sql.ballot_write`) in `--workers` processes, each with its own connection. A
CHECKPOINT before each batch: every batch starts with the same full-page-write state.

Per batch: ballots/s, latency, and per ballot what PostgreSQL did (the database's and the
cluster's counters, deltas over the batch): blocks hit and read, WAL bytes, records and
full-page images, and with pg_stat_statements (when the server preloads it) the execution time
of each statement. Comparing the first batch across sizes separates the size of the tables from
the ballots the tables accumulate (the later batches of one size). WAL and checkpoint counters
are the cluster's: run it on a server of its own for them to be the ballots' alone.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
CAUSES = 5
POINTS = 1_000


# -- the worker: runs inside voting's Django settings (tests/bench/agent.py) -------------------


def agent_cast(voters: list[str], poll: str, causes: list[str], start_at: float) -> dict:
    from django.db import connection

    from voting import services

    connection.ensure_connection()
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        backend = cursor.fetchone()[0]
    cpu_before = _cpu_seconds(backend)
    rng = random.Random(voters[0])
    while time.time() < start_at:
        time.sleep(0.005)
    latencies = []
    for voter in voters:
        chosen = rng.sample(causes, 3)
        allocations = [{"cause": uuid.UUID(c), "points": rng.randint(1, 300)} for c in chosen]
        began = time.perf_counter()
        services.ballot_cast(
            voter_id=uuid.UUID(voter), poll_id=uuid.UUID(poll), allocations=allocations
        )
        latencies.append(time.perf_counter() - began)
    ended = time.time()
    backend_cpu = None if cpu_before is None else (_cpu_seconds(backend) or 0.0) - cpu_before
    with connection.cursor() as cursor:  # a custom plan is planned again at each execution
        cursor.execute("SELECT name, generic_plans, custom_plans FROM pg_prepared_statements")
        plans = cursor.fetchall()
    connection.close()
    return {
        "latencies": latencies,
        "ended": ended,
        "plans": plans,
        "backend": backend,
        "backend_cpu": backend_cpu,
    }


def _cpu_seconds(pid: int) -> float | None:
    """User and system CPU of a process of this machine (a PostgreSQL backend when the server
    runs here), None when it is not readable."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


# -- the driver ----------------------------------------------------------------------------------


def _connect(url: str) -> Any:
    import psycopg2

    conn = psycopg2.connect(url)
    conn.autocommit = True
    return conn


def _rows(conn: Any, sql: str, params: Any = None) -> list[tuple]:
    with conn.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchall() if cursor.description else []


def _seed(url: str, n: int, *, frozen_power: bool) -> dict[str, Any]:
    conn = _connect(url)
    poll, causes = str(uuid.uuid4()), [str(uuid.uuid4()) for _ in range(CAUSES)]
    began = time.monotonic()
    _rows(
        conn,
        "INSERT INTO voting_voter (source_version, is_deleted, replicated_at, id, role,"
        " is_active, points, stake_address, joined_at)"
        " SELECT 1, false, now(), gen_random_uuid(), 'delegator', true, %s, NULL, now()"
        " FROM generate_series(1, %s)",
        [POINTS, n],
    )
    _rows(
        conn,
        "INSERT INTO voting_pollreplica (source_version, is_deleted, replicated_at, id, title,"
        " description, fund_lovelace, opens_at, closes_at, status, results_visibility, causes,"
        " cap_percent, min_stake_lovelace, power_formula, snapshot_epoch)"
        " VALUES (1, false, now(), %s, 'growth', '', 1000000, now() - interval '1 hour',"
        " now() + interval '1 day', 'open', 'live', %s, NULL, 0, 'points', NULL)",
        [poll, json.dumps(causes)],
    )
    if frozen_power:
        _rows(
            conn,
            "INSERT INTO voting_pollpower (poll_id, stake_address, voter_id, uncapped, power,"
            " frozen_at) SELECT %s, NULL, id, points, points, now() FROM voting_voter",
            [poll],
        )
    # The seeded tables only: a ballot table vacuumed while empty says 0 pages, and the plans
    # of its foreign-key checks, cached per connection at the first ballot, scan it whole.
    _rows(conn, "VACUUM ANALYZE voting_voter, voting_pollreplica, voting_pollpower")
    seconds = time.monotonic() - began
    voters = [r[0] for r in _rows(conn, "SELECT id::text FROM voting_voter")]
    conn.close()
    return {"poll": poll, "causes": causes, "voters": voters, "seed_seconds": seconds}


def _counters(conn: Any) -> dict[str, float]:
    (db,) = _rows(
        conn,
        "SELECT blks_hit, blks_read, xact_commit, xact_rollback, tup_inserted, tup_updated"
        " FROM pg_stat_database WHERE datname = current_database()",
    )
    (wal,) = _rows(conn, "SELECT wal_records, wal_fpi, wal_bytes FROM pg_stat_wal")
    (cp,) = _rows(
        conn,
        "SELECT checkpoints_timed + checkpoints_req, buffers_checkpoint, buffers_backend"
        " FROM pg_stat_bgwriter",
    )
    (lsn,) = _rows(conn, "SELECT pg_current_wal_lsn() - '0/0'::pg_lsn")
    names = (
        "blks_hit blks_read commits rollbacks tup_inserted tup_updated"
        " wal_records wal_fpi wal_bytes checkpoints buffers_checkpoint buffers_backend wal_lsn"
    ).split()
    return dict(zip(names, [float(v) for v in (*db, *wal, *cp, *lsn)], strict=True))


def _multixact(conn: Any) -> float:
    """MultiXact ids made so far (the poll row's FOR SHARE by concurrent ballots makes them)."""
    return float(
        _rows(conn, "SELECT next_multixact_id::text::bigint FROM pg_control_checkpoint()")[0][0]
    )


def _statements(conn: Any) -> list[dict[str, Any]] | None:
    try:
        rows = _rows(
            conn,
            "SELECT query, calls, total_exec_time, shared_blks_hit, shared_blks_read,"
            " shared_blks_dirtied, wal_fpi, wal_bytes FROM pg_stat_statements"
            " WHERE dbid = (SELECT oid FROM pg_database WHERE datname = current_database())"
            " ORDER BY total_exec_time DESC LIMIT 12",
        )
    except Exception:
        return None
    keys = "query calls ms hit read dirtied wal_fpi wal_bytes".split()
    return [dict(zip(keys, r, strict=True)) for r in rows]


def _reset_statements(conn: Any) -> bool:
    try:
        _rows(conn, "CREATE EXTENSION IF NOT EXISTS pg_stat_statements")
        _rows(conn, "SELECT pg_stat_statements_reset()")
        return True
    except Exception:
        return False


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def _batch(
    url: str, env: dict[str, str], seeded: dict[str, Any], voters: list[str], workers: int
) -> dict[str, Any]:
    conn = _connect(url)
    _rows(conn, "CHECKPOINT")
    has_statements = _reset_statements(conn)
    before = _counters(conn) | {"multixacts": _multixact(conn)}
    start_at = time.time() + 3.0  # after the workers' Django start-up
    procs = []
    with tempfile.TemporaryDirectory() as tmp:
        for k in range(workers):
            out = Path(tmp) / f"{k}.json"
            proc = subprocess.Popen(
                [
                    sys.executable,
                    str(ROOT / "tests/bench/agent.py"),
                    "ballot_growth.agent_cast",
                    str(out),
                ],
                cwd=ROOT / "voting_service",
                env=env,
                stdin=subprocess.PIPE,
                text=True,
            )
            proc.stdin.write(
                json.dumps(
                    {
                        "voters": voters[k::workers],
                        "poll": seeded["poll"],
                        "causes": seeded["causes"],
                        "start_at": start_at,
                    }
                )
            )
            proc.stdin.close()
            procs.append((proc, out))
        results = []
        for proc, out in procs:
            if proc.wait():
                raise SystemExit(f"ballot_growth: a worker failed ({proc.returncode})")
            results.append(json.loads(out.read_text()))
    seconds = max(r["ended"] for r in results) - start_at
    after = _counters(conn)
    _rows(conn, "CHECKPOINT")  # pg_control_checkpoint() is as of the last checkpoint
    after["multixacts"] = _multixact(conn)
    statements = _statements(conn) if has_statements else None
    (sizes,) = _rows(
        conn,
        "SELECT pg_total_relation_size('voting_voter'), pg_total_relation_size('voting_pollpower'),"
        " pg_total_relation_size('voting_ballot') + pg_total_relation_size('voting_allocation')"
        " + pg_total_relation_size('voting_ballotrevision')"
        " + pg_total_relation_size('shared_events_outbox'), pg_database_size(current_database())",
    )
    conn.close()
    n = len(voters)
    latencies = [x for r in results for x in r["latencies"]]
    plans: dict[str, list[int]] = {}
    for r in results:
        for name, generic, custom in r["plans"]:
            total = plans.setdefault(name, [0, 0])
            total[0], total[1] = total[0] + generic, total[1] + custom
    per = {k: (after[k] - before[k]) / n for k in after}
    report = {
        "ballots": n,
        "seconds": round(seconds, 2),
        "ballots_per_s": round(n / seconds, 1),
        "latency_ms": {
            "mean": round(1000 * sum(latencies) / n, 2),
            "p50": round(1000 * _percentile(latencies, 0.5), 2),
            "p99": round(1000 * _percentile(latencies, 0.99), 2),
        },
        "per_ballot": {k: round(v, 2) for k, v in per.items()},
        "plans_generic_custom": plans,
        "backends": [r["backend"] for r in results],
        "backend_cpu_ms_per_ballot": None
        if any(r["backend_cpu"] is None for r in results)
        else round(1000 * sum(r["backend_cpu"] for r in results) / n, 3),
        "bytes": dict(
            zip(("voters", "power", "ballots_and_outbox", "database"), sizes, strict=True)
        ),
    }
    if statements is not None:
        report["statement_ms_per_ballot"] = round(sum(s["ms"] for s in statements) / n, 3)
        report["statements"] = [
            {**s, "query": " ".join(s["query"].split())[:110], "ms": round(s["ms"], 1)}
            for s in statements
        ]
    return report


def _run_size(server: str, n: int, args: argparse.Namespace) -> dict[str, Any]:
    name = f"ballot_growth_{n}"
    admin = _connect(f"{server}/postgres")
    _rows(admin, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    _rows(admin, f'CREATE DATABASE "{name}"')
    url = f"{server}/{name}"
    env = {k: v for k, v in os.environ.items() if not k.endswith("DATABASE_URL")}
    env.update({"DATABASE_URL": url, "CHAIN_SOURCE": "none", "PYTHONUNBUFFERED": "1"})
    env.setdefault("CELERY_BROKER_URL", "redis://127.0.0.1:6379/15")
    subprocess.run(
        [sys.executable, "manage.py", "migrate", "--noinput"],
        cwd=ROOT / "voting_service",
        env=env,
        check=True,
        stdout=subprocess.DEVNULL,
    )
    seeded = _seed(url, n, frozen_power=not args.fresh_power)
    print(f"# N={n:,}: seeded in {seeded['seed_seconds']:.1f} s", flush=True)
    voters = random.Random(n).sample(seeded["voters"], args.ballots * args.batches)
    batches = []
    for b in range(args.batches):
        chunk = voters[b * args.ballots : (b + 1) * args.ballots]
        batch = _batch(url, env, seeded, chunk, args.workers)
        batches.append(batch)
        print(
            f"# N={n:,} batch {b + 1}: "
            + json.dumps({k: v for k, v in batch.items() if k != "statements"}),
            flush=True,
        )
        for s in batch.get("statements", []):
            print(
                f"#    {s['calls']:>6} {s['ms']:>8} ms hit={s['hit']} read={s['read']}"
                f" dirtied={s['dirtied']} fpi={s['wal_fpi']}  {s['query']}",
                flush=True,
            )
    if not args.keep:
        _rows(admin, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    admin.close()
    return {"n": n, "seed_seconds": seeded["seed_seconds"], "batches": batches}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--server", default="postgres://postgres@127.0.0.1:5432")
    parser.add_argument("--sizes", default="10000,1000000")
    parser.add_argument("--ballots", type=int, default=3000)
    parser.add_argument("--batches", type=int, default=3)
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--fresh-power", action="store_true")
    parser.add_argument("--keep", action="store_true")
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()
    sizes = [int(s.replace("_", "")) for s in args.sizes.split(",")]
    if any(args.ballots * args.batches > n for n in sizes):
        raise SystemExit("ballot_growth: more ballots than voters in a size")
    results = [_run_size(args.server, n, args) for n in sizes]
    if args.out:
        args.out.write_text(
            json.dumps(
                {"args": vars(args) | {"out": str(args.out)}, "sizes": results},
                indent=1,
                default=float,
            )
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
