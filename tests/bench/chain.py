"""Voting power from the chain: importing one epoch's stake distribution, and freezing a poll's
power table when it opens. Each runs in its service's settings (agents) on a PostgreSQL
database of its own, nothing else running; no NATS is needed (the outbox rows an import writes
are not relayed here, the relay has its own scenario).

- stake_import (accounts_service, `CHAIN_SOURCE=file`): the epoch's loyalty window before it
  (`LOYALTY_BACKFILL_EPOCHS - 1` epochs of the same delegators, a few joining each epoch) is
  stored first, written straight with COPY, so importing the newest epoch completes its window
  and sends it with every row's loyalty, as an epoch goes out in production.
  - ceiling: COPY of the same rows (stake address, epoch, lovelace) into a copy of the stake
    table with its indexes: the write alone, without reading and checking the file, the
    loyalty or the events;
  - figure: `manage.py import_stake_snapshot FILE` (call_command) of a CSV file of N rows.
- power_freeze (voting_service, `CHAIN_SOURCE=file`): the epoch's N rows applied as accounts'
  parts of 1,000 (the consumer's `epoch_stake_apply_part`), a scheduled poll with
  `stake_x_loyalty` and a cap; then
  - ceiling: INSERT … SELECT of the epoch's rows into a copy of the power table with its
    indexes, without formula or cap;
  - figure: the poll's opening as the consumer applies it (`poll_apply_state`, status open),
    which freezes the table: N rows, the cap applied.
"""

from __future__ import annotations

import csv
import hashlib
import io
import random
import time
import uuid
from pathlib import Path
from typing import Any

NAME = "chain"
# Blockfrost's example pool: any bech32 pool id will do.
POOL = "pool1pu5jlj4q9w9jlxeu370a3c9myx47md5j5m2str0naunn2q3lkdy"
EPOCH = 500
CAP_PERCENT = 1


def chain_env() -> dict[str, str]:
    """What the agents' service settings need beyond the bench's standalone environment."""
    return {"CHAIN_SOURCE": "file", "POOL_ID": POOL, "CARDANO_NETWORK": "mainnet"}


def stake_addresses(count: int, seed: str = "bench") -> list[str]:
    """Distinct mainnet stake addresses (key hashes derived from the index)."""
    from pycardano import Address, Network, VerificationKeyHash

    return [
        Address(
            staking_part=VerificationKeyHash(
                hashlib.blake2b(f"{seed}{i}".encode(), digest_size=28).digest()
            ),
            network=Network.MAINNET,
        ).encode()
        for i in range(count)
    ]


def _stakes(n: int) -> list[tuple[str, int]]:
    """1 to 2 million ada each, and three whales of 500 million whom a cap of 1 % cuts."""
    rng = random.Random(n)
    return [
        (a, 500_000_000_000_000 if i < 3 else rng.randint(1_000_000, 2_000_000_000_000))
        for i, a in enumerate(stake_addresses(n))
    ]


def agent_stake_import(n: int, workdir: str) -> dict[str, Any]:
    from django.conf import settings
    from django.core.management import call_command
    from django.db import connection, transaction

    from accounts.chain.sources import values
    from accounts.chain.sources.snapshot_file import StakeSnapshotFile
    from accounts.models import EpochStake, EpochStakeImport, EpochStakePublication
    from accounts.selectors.stake_history import epoch_stake_with_loyalty, loyalty_window_start
    from accounts.services.stake_history import distribution_digest
    from shared_events.core.outbox.models import OutboxEvent
    from tests.bench.agent import progress

    settings.SHARED_EVENTS = {**settings.SHARED_EVENTS, "RELAY_KICK": False}
    window = settings.LOYALTY_BACKFILL_EPOCHS
    rows = _stakes(n)
    stake_table = EpochStake._meta.db_table

    # The window before the epoch: the same delegators, minus a few who joined since.
    started = time.perf_counter()
    for back in range(window - 1, 0, -1):
        epoch = EPOCH - back
        older = rows[: n - n * back // (window * 4)]
        with transaction.atomic():
            EpochStakeImport.objects.create(
                epoch=epoch,
                pool_id=POOL,
                source="file",
                delegators=len(older),
                total_lovelace=sum(lovelace for _, lovelace in older),
                digest=distribution_digest(older),
            )
            _copy(connection, stake_table, epoch, older)
        progress(window - back, window, "storing the loyalty window")
    with connection.cursor() as cursor:
        cursor.execute(f"ANALYZE {stake_table}")
    setup_seconds = time.perf_counter() - started

    path = Path(workdir) / f"stake-{EPOCH}.csv"
    with path.open("w", newline="") as out:
        writer = csv.writer(out)
        writer.writerow(["stake_address", "epoch", "lovelace"])
        writer.writerows((address, EPOCH, lovelace) for address, lovelace in rows)

    # Ceiling: the same rows COPYed into a copy of the table with its indexes, then dropped.
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(f"CREATE TABLE bench_stake_ceiling (LIKE {stake_table} INCLUDING ALL)")
        started = time.perf_counter()
        _copy(connection, "bench_stake_ceiling", EPOCH, rows)
        ceiling_seconds = time.perf_counter() - started
        cursor.execute("DROP TABLE bench_stake_ceiling")
    progress(window, window, "ceiling done")

    outbox_before = OutboxEvent.objects.count()
    output = io.StringIO()
    started = time.perf_counter()
    call_command("import_stake_snapshot", str(path), stdout=output)
    import_seconds = time.perf_counter() - started
    # What of it is reading and checking the file (every address with pycardano), apart: after
    # the import, so both ran with the same modules loaded, and with the checked addresses'
    # cache emptied, as the command's fresh process has it.
    values._checked_stake_address.cache_clear()
    started = time.perf_counter()
    with path.open("rb") as stream:
        StakeSnapshotFile.read(stream, network=values.network_of("mainnet"), pool_id=POOL)
    read_seconds = time.perf_counter() - started
    # And the loyalty of the epoch's rows over its window (the events carry it), apart.
    started = time.perf_counter()
    epoch_stake_with_loyalty(epoch=EPOCH, since=loyalty_window_start(EPOCH, window))
    loyalty_seconds = time.perf_counter() - started

    publication = EpochStakePublication.objects.get(epoch_id=EPOCH)
    return {
        "delegators": n,
        "loyalty_window": window,
        "history_rows": EpochStake.objects.exclude(epoch_id=EPOCH).count(),
        "setup_seconds": round(setup_seconds, 2),
        "ceiling_seconds": round(ceiling_seconds, 3),
        "import_seconds": round(import_seconds, 3),
        "read_seconds": round(read_seconds, 3),
        "loyalty_seconds": round(loyalty_seconds, 3),
        "stored": EpochStake.objects.filter(epoch_id=EPOCH).count(),
        "parts_sent": publication.parts,
        "events_recorded": OutboxEvent.objects.count() - outbox_before,
        "command_output": output.getvalue().strip(),
    }


def _copy(connection: Any, table: str, epoch: int, rows: list[tuple[str, int]]) -> None:
    data = io.StringIO("".join(f"{epoch}\t{address}\t{lovelace}\n" for address, lovelace in rows))
    with connection.cursor() as cursor:
        cursor.copy_expert(f"COPY {table} (epoch, stake_address, lovelace) FROM STDIN", data)


def agent_power_freeze(n: int) -> dict[str, Any]:
    from datetime import UTC, datetime, timedelta

    from django.db import connection, transaction

    from shared_events.core.schemas.accounts import EPOCH_STAKE_ROWS_PER_PART, EpochStakePart
    from shared_events.core.schemas.polls import PollState
    from tests.bench.agent import progress
    from voting import services
    from voting.models import EpochStake, PollPower, PollPowerTable

    rng = random.Random(n)
    rows = [[a, lovelace, rng.randint(1, 18)] for a, lovelace in _stakes(n)]
    rows.sort()
    parts = [
        rows[i : i + EPOCH_STAKE_ROWS_PER_PART] for i in range(0, n, EPOCH_STAKE_ROWS_PER_PART)
    ]
    started = time.perf_counter()
    for number, part in enumerate(parts):
        services.epoch_stake_apply_part(
            state=EpochStakePart(
                epoch=EPOCH, part=number, parts=len(parts), pool_id=POOL, rows=part
            ),
            version=1,
        )
        progress(number + 1, len(parts), "replicating the epoch's parts")
    now = datetime.now(UTC)
    state = {
        "id": str(uuid.uuid4()),
        "title": "Bench round",
        "description": "",
        "fund_lovelace": 10_000_000_000,
        "opens_at": now.isoformat(),
        "closes_at": (now + timedelta(hours=1)).isoformat(),
        "results_visibility": "live",
        "causes": [str(uuid.uuid4()) for _ in range(5)],
        "power_formula": "stake_x_loyalty",
        "cap_percent": CAP_PERCENT,
        "snapshot_epoch": EPOCH,
    }
    services.poll_apply_state(state=PollState(status="scheduled", **state), version=1)
    stake_table, power_table = EpochStake._meta.db_table, PollPower._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(f"ANALYZE {stake_table}")
    setup_seconds = time.perf_counter() - started

    # Ceiling: the epoch's rows copied into a copy of the power table with its indexes.
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(f"CREATE TABLE bench_power_ceiling (LIKE {power_table} INCLUDING ALL)")
        started = time.perf_counter()
        cursor.execute(
            "INSERT INTO bench_power_ceiling (poll_id, stake_address, lovelace, loyalty,"
            " uncapped, power, frozen_at)"
            f" SELECT %s, stake_address, lovelace, loyalty, lovelace, lovelace, now()"
            f" FROM {stake_table} WHERE epoch = %s",
            [state["id"], EPOCH],
        )
        ceiling_seconds = time.perf_counter() - started
        cursor.execute("DROP TABLE bench_power_ceiling")

    started = time.perf_counter()
    services.poll_apply_state(state=PollState(status="open", **state), version=2)
    freeze_seconds = time.perf_counter() - started
    table = PollPowerTable.objects.get(poll_id=state["id"])
    capped = PollPower.objects.filter(poll_id=state["id"], power=table.cap).count()
    return {
        "voters": n,
        "setup_seconds": round(setup_seconds, 2),
        "ceiling_seconds": round(ceiling_seconds, 3),
        "freeze_seconds": round(freeze_seconds, 3),
        "frozen_rows": PollPower.objects.filter(poll_id=state["id"]).count(),
        "cap": table.cap,
        "capped_rows": capped,
    }


def figures_import(result: dict[str, Any]) -> list[dict[str, Any]]:
    s, ceiling = result["import_seconds"], result["ceiling_seconds"]
    return [
        {
            "scenario": f"stake import: an epoch of {result['delegators']:,} delegators "
            f"(`import_stake_snapshot`, CSV), its loyalty over {result['loyalty_window']} "
            "epochs, sent",
            "figure": "s",
            "value": s,
            "ceiling": ceiling,
            "ceiling_what": "COPY of the same rows into the stake table's copy",
            "ratio": ceiling / s if s else None,
            "goal": "<= 10 s",
            "met": s <= 10,
        },
        {
            "scenario": "  of which, each measured apart after it: reading and checking the "
            "file / the rows' loyalty",
            "figure": "s",
            "value": f"{result['read_seconds']:.2f} / {result['loyalty_seconds']:.2f}",
            "ceiling": None,
            "ratio": None,
            "goal": "reported",
            "met": None,
        },
    ]


def figures_freeze(result: dict[str, Any]) -> list[dict[str, Any]]:
    s, ceiling = result["freeze_seconds"], result["ceiling_seconds"]
    return [
        {
            "scenario": f"power freeze: a {result['voters']:,}-voter table at poll open "
            f"(stake_x_loyalty, cap {CAP_PERCENT} %)",
            "figure": "s",
            "value": s,
            "ceiling": ceiling,
            "ceiling_what": "INSERT … SELECT of the epoch's rows into the power table's copy",
            "ratio": ceiling / s if s else None,
            "goal": "<= 5 s",
            "met": s <= 5,
        }
    ]
