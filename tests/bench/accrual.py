"""Epoch accrual for N delegators: from the start of the accrual until every voter replica in
voting_service shows the new points.

The accrual is the real one (`accounts.services.accrue_epoch_points`, what the beat task runs),
called inside accounts_service for the next epoch, so every delegator is owed one. The bench
then reads voting's database directly until the sum of the delegators' points there equals the
sum in accounts (points only grow here, so equal sums mean every replica is current).
"""

from __future__ import annotations

import time
from typing import Any

from .infra import connect, run_agent, scalar, wait_for
from .progress import Progress

NAME = "accrual"

_SUM = "SELECT coalesce(sum(points), 0) FROM {table} WHERE role = 'delegator'"


def agent_accrue(epochs_ahead: int = 1) -> dict[str, Any]:
    """The accrual as the beat task runs it, `epochs_ahead` epochs from now (the scale run
    goes further ahead at each size, so everyone credited before is owed one more epoch)."""
    from datetime import timedelta

    from django.conf import settings
    from django.db.models import Sum
    from django.utils import timezone

    from accounts.models import Account, Role
    from accounts.services import accrue_epoch_points

    then = timezone.now() + timedelta(seconds=settings.CARDANO_EPOCH_LENGTH_SECONDS * epochs_ahead)
    started = time.time()
    report = accrue_epoch_points(now=then)
    finished = time.time()
    total = Account.objects.filter(role=Role.DELEGATOR).aggregate(s=Sum("points"))["s"]
    return {
        "started": started,
        "finished": finished,
        "accounts": report.accounts,
        "entries": report.entries,
        "points_sum": int(total),
    }


def ensure_delegators(ctx: Any, total: int) -> int:
    """Top the platform up to `total` delegators and wait until voting knows them all."""
    accounts = connect(ctx.platform.db_url("accounts"))
    voting = connect(ctx.platform.db_url("voting"))
    try:
        have = scalar(accounts, "SELECT count(*) FROM accounts_account WHERE role = 'delegator'")
        if have < total:
            bar = Progress("more delegators", total - have)
            run_agent(
                "accounts",
                "seed.agent_create_delegators",
                {"n": total - have, "label": f"extra{int(time.time())}", "points": 100},
                env=ctx.platform.service_env("accounts"),
                log_dir=ctx.log_dir,
                progress=bar,
            )
            bar.finish()
        bar = Progress("voting replicates them", total)
        count = "SELECT count(*) FROM voting_voter WHERE role = 'delegator'"
        wait_for(
            lambda: scalar(voting, count) >= total,
            timeout=300,
            interval=0.2,
            what="voting to know every delegator",
            on_poll=lambda: bar.update(scalar(voting, count)),
        )
        bar.finish()
        return total
    finally:
        accounts.close()
        voting.close()


def run(ctx: Any) -> dict[str, Any]:
    n = ctx.params.accrual_delegators
    ensure_delegators(ctx, n)
    voting = connect(ctx.platform.db_url("voting"))
    try:
        bar = Progress(f"accrual for {n:,} delegators", 1)
        accrued = run_agent(
            "accounts",
            "accrual.agent_accrue",
            {},
            env=ctx.platform.service_env("accounts"),
            log_dir=ctx.log_dir,
        )
        target = accrued["points_sum"]
        total = _SUM.format(table="voting_voter")
        wait_for(
            lambda: scalar(voting, total) >= target,
            timeout=600,
            interval=0.02,
            what="voting to show the new points",
        )
        visible = time.time()
        bar.finish(f"{visible - accrued['started']:.1f}s")
    finally:
        voting.close()
    return {
        "delegators": n,
        "accounts_credited": accrued["accounts"],
        "accrual_seconds": round(accrued["finished"] - accrued["started"], 2),
        "seconds_until_visible": round(visible - accrued["started"], 2),
    }


def figures(result: dict[str, Any]) -> list[dict[str, Any]]:
    s = result["seconds_until_visible"]
    return [
        {
            "scenario": f"epoch accrual for {result['delegators']:,} delegators until every "
            "voter replica shows it",
            "figure": "s",
            "value": s,
            "ceiling": None,
            "ratio": None,
            "goal": "<= 20 s",
            "met": s <= 20,
        }
    ]
