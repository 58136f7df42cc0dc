"""Replication lag: an account's change committed in accounts_service until voting_service's
voter replica shows that version.

The probe runs inside accounts_service (an agent): it adjusts an account's points with the real
service function (`points_adjust`: a ledger entry and the account, one transaction, one outbox
event), takes the wall clock right after the commit returns, then reads voting's database
directly every few milliseconds (`SELECT source_version FROM voting_voter`, no HTTP in the way)
until the new version is there. Both clocks are this machine's. The path measured is the whole
pipeline: the commit's NOTIFY, the relay loop in accounts' worker, JetStream, voting's
consumer and its commit.
"""

from __future__ import annotations

import time
from typing import Any

from .stats import summary_ms


def agent_probe(
    *,
    account_ids: list[str],
    voting_db_url: str,
    start_at: float,
    duration: float | None = None,
    samples: int | None = None,
    interval: float = 0.1,
    poll_every: float = 0.005,
    timeout: float = 10.0,
) -> dict[str, Any]:
    import psycopg2

    from accounts.models import Account
    from accounts.services import points_adjust
    from tests.bench.agent import progress

    replica = psycopg2.connect(voting_db_url)
    replica.autocommit = True
    cursor = replica.cursor()
    accounts = list(Account.objects.filter(pk__in=account_ids))
    # Warm the connection and the code path before the clock starts.
    cursor.execute("SELECT 1")
    lags: list[float] = []
    timeouts = 0
    time.sleep(max(0.0, start_at - time.time()))
    begun = time.monotonic()
    i = 0
    while True:
        if samples is not None and i >= samples:
            break
        if duration is not None and time.monotonic() - begun >= duration:
            break
        account = accounts[i % len(accounts)]
        i += 1
        next_at = time.monotonic() + interval
        entry = points_adjust(
            account=account, delta=1, reason="bench: replication lag probe", by=None
        )
        committed = time.time()
        version = entry.account.version
        while True:
            cursor.execute("SELECT source_version FROM voting_voter WHERE id = %s", [account.pk])
            row = cursor.fetchone()
            now = time.time()
            if row and row[0] >= version:
                lags.append(now - committed)
                break
            if now - committed > timeout:
                timeouts += 1
                break
            time.sleep(poll_every)
        total = samples if samples is not None else duration
        done = i if samples is not None else time.monotonic() - begun
        progress(
            done,
            total or 1,
            f"lag p50 {sorted(lags)[len(lags) // 2] * 1000:.0f} ms" if lags else "",
        )
        time.sleep(max(0.0, next_at - time.monotonic()))
    replica.close()
    return {"lags": lags, "timeouts": timeouts}


def summarize(result: dict[str, Any]) -> dict[str, Any]:
    return {**summary_ms(result["lags"]), "timeouts": result["timeouts"]}


def figures(idle: dict[str, Any], loaded: dict[str, Any] | None) -> list[dict[str, Any]]:
    rows = [
        {
            "scenario": "replication lag, idle: commit in accounts -> voter replica in voting",
            "figure": "p50 / p99 ms",
            "value": f"{idle['p50_ms']:.0f} / {idle['p99_ms']:.0f}",
            "ceiling": None,
            "ratio": None,
            "goal": "reported (goals are under load)",
            "met": None,
        }
    ]
    if loaded is not None:
        p50, p99 = loaded["p50_ms"], loaded["p99_ms"]
        rows.append(
            {
                "scenario": "replication lag under the ballot load",
                "figure": "p50 / p99 ms",
                "value": f"{p50:.0f} / {p99:.0f}",
                "ceiling": None,
                "ratio": None,
                "goal": "p50 <= 15 ms, p99 <= 50 ms",
                "met": p50 <= 15 and p99 <= 50 and loaded["timeouts"] == 0,
            }
        )
    return rows
