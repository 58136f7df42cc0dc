"""Catch-up: voting_service stopped (web, worker, beat, consumer) while N accounts change twice
each, then started; seconds from the start of its processes until its replicas have converged
(the sum of the delegators' points equals accounts', as in accrual.py).

The accounts change with the real guarded bulk update (one event per account per change), in
two transactions; the relay publishes them all while voting is down, so voting starts with a
backlog of 2 x N messages on its durable consumer.
"""

from __future__ import annotations

import time
from typing import Any

from .accrual import _SUM, ensure_delegators
from .infra import connect, run_agent, scalar, wait_for
from .progress import Progress

NAME = "catchup"
VOTING_PROCESSES = ("voting-web", "voting-worker", "voting-beat", "voting-consumer")


def agent_change_twice(n: int) -> dict[str, Any]:
    from django.db import transaction
    from django.db.models import F, Sum

    from accounts.models import Account, Role

    ids = list(
        Account.objects.filter(role=Role.DELEGATOR).order_by("pk").values_list("pk", flat=True)[:n]
    )
    for _ in range(2):
        with transaction.atomic():
            Account.objects.filter(pk__in=ids).update(points=F("points") + 1)
    total = Account.objects.filter(role=Role.DELEGATOR).aggregate(s=Sum("points"))["s"]
    return {"changed": len(ids), "points_sum": int(total)}


def run(ctx: Any) -> dict[str, Any]:
    n = ctx.params.catchup_accounts
    platform = ctx.platform
    ensure_delegators(ctx, max(n, ctx.params.accrual_delegators))
    accounts = connect(platform.db_url("accounts"))
    try:
        for name in VOTING_PROCESSES:
            platform.stop(name)
        bar = Progress(f"{n:,} accounts change twice", 2 * n)
        changed = run_agent(
            "accounts",
            "catchup.agent_change_twice",
            {"n": n},
            env=platform.service_env("accounts"),
            log_dir=ctx.log_dir,
        )
        pending = "SELECT count(*) FROM shared_events_outbox WHERE published_at IS NULL"
        wait_for(
            lambda: scalar(accounts, pending) == 0,
            timeout=300,
            interval=0.1,
            what="the accounts relay to publish every change",
            on_poll=lambda: bar.update(2 * n - scalar(accounts, pending)),
        )
        bar.finish("relayed while voting was down")
    finally:
        accounts.close()

    target = changed["points_sum"]
    bar = Progress("voting started, catching up", 1)
    started = time.time()
    for name in VOTING_PROCESSES:
        platform.spawn(name)
    voting = None
    try:
        voting = connect(platform.db_url("voting"))
        total = _SUM.format(table="voting_voter")
        before = scalar(voting, total)
        first: list[float] = []  # when the first batch committed: the boot's share of the wait

        def converged_yet() -> bool:
            now = scalar(voting, total)
            if not first and now != before:
                first.append(time.time() - started)
            return now >= target

        wait_for(converged_yet, timeout=600, interval=0.02, what="voting to catch up")
        converged = time.time() - started
        bar.finish(f"{converged:.1f}s")
        platform.wait_ready(["voting"], timeout=60)
    finally:
        if voting is not None:
            voting.close()
    return {
        "accounts": changed["changed"],
        "events": 2 * changed["changed"],
        "seconds_to_converge": round(converged, 2),
        "seconds_to_first_batch": round(first[0] if first else converged, 2),
    }


def figures(result: dict[str, Any]) -> list[dict[str, Any]]:
    s = result["seconds_to_converge"]
    return [
        {
            "scenario": f"catch-up: voting stopped while {result['accounts']:,} accounts change "
            "twice, then started",
            "figure": "s",
            "value": s,
            "ceiling": None,
            "ratio": None,
            "goal": "<= 10 s",
            "met": s <= 10,
        },
        {
            "scenario": "  of which: start until the first batch committed (the boot)",
            "figure": "s",
            "value": result["seconds_to_first_batch"],
            "ceiling": None,
            "ratio": None,
            "goal": "reported",
            "met": None,
        },
    ]
