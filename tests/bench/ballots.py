"""Casting ballots over the API, beside its ceiling on the same web stack.

- figure: 4 clients (keep-alive connections) PUT ballots of random delegators (2,000 of them,
  so most are re-votes after the first seconds) spreading random points over 1 to 4 of the
  open poll's 10 causes: `PUT /voting/api/polls/<id>/ballot/`, the answer being the stored
  ballot, as a client gets it;
- ceiling: the same clients, tokens and server (gunicorn, Django, DRF, the JWT check,
  PostgreSQL) answering `POST /voting/api/bench/insert/`, which inserts one row (benchapp, an
  app only the bench's settings install). Measured just before and just after the ballots,
  and averaged, so a change of machine load during the run weighs on both alike.
- where the CPU goes: over each load's measured seconds, the CPU of voting's web (gunicorn and
  its workers), of PostgreSQL's backends serving the bench's databases, of the load generator
  (this process) and of the whole machine, each per request (`infra.CpuMeter`).

The memory sampler runs during the ballots; the replication-lag probe (lag.py) during a second
ballot load of its own, since the probe is a load too.
"""

from __future__ import annotations

import json
import random
import time
from typing import Any

from tests.system.harness import database_name

from . import lag
from .infra import SERVICES, Agent, CpuMeter, RssSampler, connect, load_average
from .load import LoadResult, Request, run_load
from .stats import summary_ms

NAME = "ballots"


def _ballot_builder(poll: str, causes: list[str], tokens: list[str], points: int):
    path = f"/voting/api/polls/{poll}/ballot/"
    headers = [
        {
            "Authorization": f"Bearer {t}",
            "Content-Type": "application/json",
            "Accept": "application/json",
        }
        for t in tokens
    ]

    def build(rng: random.Random) -> Request:
        who = rng.randrange(len(tokens))
        chosen = rng.sample(causes, rng.randint(1, 4))
        share = points // len(chosen)
        allocations = [{"cause": c, "points": rng.randint(1, share)} for c in chosen]
        return "PUT", path, json.dumps({"allocations": allocations}).encode(), headers[who]

    return build


def _ceiling_builder(tokens: list[str]):
    headers = [
        {
            "Authorization": f"Bearer {t}",
            "Content-Type": "application/json",
            "Accept": "application/json",
        }
        for t in tokens
    ]
    body = json.dumps({"note": "bench"}).encode()

    def build(rng: random.Random) -> Request:
        return "POST", "/voting/api/bench/insert/", body, headers[rng.randrange(len(tokens))]

    return build


def _describe(result: LoadResult) -> dict[str, Any]:
    return {
        "requests_per_second": round(result.per_second, 1),
        "ok": result.ok,
        "errors": result.errors,
        "statuses": {str(k): v for k, v in result.statuses.items()},
        "error_samples": result.samples_of_errors[:5],
        **summary_ms(result.latencies),
    }


def run(ctx: Any) -> dict[str, Any]:
    p = ctx.params
    seed = ctx.seed
    port = ctx.platform.port("voting")
    ballot = _ballot_builder(seed["poll"], seed["causes"], seed["tokens"], p.points)
    ceiling = _ceiling_builder(seed["tokens"])

    roots = {name: proc.pid for name, proc in ctx.platform.procs.items()}
    pg = connect(ctx.platform.db_url("voting"))
    databases = [database_name(ctx.platform.db_url(s)) for s in SERVICES]
    cpu = {phase: CpuMeter(roots, pg, databases) for phase in ("before", "ballots", "after")}
    before = run_load(
        port,
        ceiling,
        clients=p.clients,
        duration=p.ceiling_seconds,
        warmup=p.warmup,
        label="ceiling (insert one row)",
        seed=1,
        cpu=cpu["before"],
    )
    # The memory sampler runs beside the ballots (it reads /proc twice a second).
    load_at_start = load_average()
    with RssSampler(roots) as sampler:
        ballots = run_load(
            port,
            ballot,
            clients=p.clients,
            duration=p.ballot_seconds,
            warmup=p.warmup,
            label="cast ballots",
            seed=2,
            cpu=cpu["ballots"],
        )
    load_at_end = load_average()
    after = run_load(
        port,
        ceiling,
        clients=p.clients,
        duration=p.ceiling_seconds,
        warmup=p.warmup,
        label="ceiling again (insert one row)",
        seed=3,
        cpu=cpu["after"],
    )
    pg.close()
    # The lag under load gets a ballot load of its own: the probe (a points change every
    # 0.1 s, each followed through relay and consumer, its replica polled every few ms) is a
    # load in itself, which would lower the measured ballots' rate.
    probe = Agent(
        "accounts",
        "lag.agent_probe",
        {
            "account_ids": seed["probe_ids"],
            "voting_db_url": ctx.platform.db_url("voting"),
            "start_at": time.time() + p.warmup,
            "duration": p.lag_load_seconds,
            "interval": p.lag_interval_loaded,
        },
        env=ctx.platform.service_env("accounts"),
        log_dir=ctx.log_dir,
    )
    try:
        beside_probe = run_load(
            port,
            ballot,
            clients=p.clients,
            duration=p.lag_load_seconds,
            warmup=p.warmup,
            label="ballots beside the lag probe",
            seed=4,
        )
        loaded_lag = probe.result(timeout=p.lag_load_seconds + 60)
    finally:
        probe.kill()

    ceiling_rate = (before.per_second + after.per_second) / 2
    return {
        "delegators": len(seed["tokens"]),
        "causes": len(seed["causes"]),
        "clients": p.clients,
        "seconds": p.ballot_seconds,
        "web_workers": ctx.platform.web_workers,
        "ballots": _describe(ballots),
        "new_ballots": ballots.statuses.get(201, 0),
        "re_votes": ballots.statuses.get(200, 0),
        "ceiling_before": _describe(before),
        "ceiling_after": _describe(after),
        "ceiling_requests_per_second": round(ceiling_rate, 1),
        "ratio": ballots.per_second / ceiling_rate if ceiling_rate else None,
        "lag_under_load": lag.summarize(loaded_lag),
        "ballots_beside_the_lag_probe": _describe(beside_probe),
        "lag_samples_under_load_ms": [round(x * 1000, 2) for x in loaded_lag["lags"]],
        "cpu_ms_per_request": {
            "ballots": cpu["ballots"].per_request_ms(ballots.per_second),
            "ceiling_before": cpu["before"].per_request_ms(before.per_second),
            "ceiling_after": cpu["after"].per_request_ms(after.per_second),
        },
        "machine_busy_percent": {
            phase: round(100 * m.seconds.get("machine", 0) / m.wall, 1) if m.wall else None
            for phase, m in cpu.items()
        },
        "peak_rss_bytes": dict(sorted(sampler.peak.items())),
        "rss_samples": sampler.samples,
        "load_average_at_start": load_at_start,
        "load_average_at_end": load_at_end,
    }


def figures(result: dict[str, Any]) -> list[dict[str, Any]]:
    b = result["ballots"]
    c = result["ceiling_before"], result["ceiling_after"]

    def both(key: str) -> float | None:
        return (c[0][key] + c[1][key]) / 2 if c[0][key] and c[1][key] else None

    ceiling_p50, ceiling_p99 = both("p50_ms"), both("p99_ms")
    ratio = result["ratio"]
    scenario = (
        f"cast ballots over the API: {result['delegators']:,} delegators, "
        f"{result['causes']} causes, {result['clients']} clients, "
        f"{result['seconds']:.0f} s"
    )
    return [
        {
            "scenario": scenario,
            "figure": "ballots/s",
            "value": b["requests_per_second"],
            "ceiling": result["ceiling_requests_per_second"],
            "ceiling_what": "authenticated POST inserting one row",
            "ratio": ratio,
            "goal": ">= 60 % of ceiling",
            "met": ratio is not None and ratio >= 0.60 and b["errors"] == 0,
        },
        {
            "scenario": "  ballot latency p50",
            "figure": "ms",
            "value": b["p50_ms"],
            "ceiling": ceiling_p50,
            "ratio": None,
            "goal": "reported",
            "met": None,
        },
        {
            "scenario": "  ballot latency p99",
            "figure": "ms",
            "value": b["p99_ms"],
            "ceiling": ceiling_p99,
            "ratio": None,
            "goal": "< 100 ms",
            "met": b["p99_ms"] is not None and b["p99_ms"] < 100,
        },
        {
            "scenario": "  CPU per request: voting web / PostgreSQL / load generator / machine",
            "figure": "ms",
            "value": _cpu_split(result["cpu_ms_per_request"]["ballots"]),
            "ceiling": _cpu_split(
                _averaged(
                    result["cpu_ms_per_request"]["ceiling_before"],
                    result["cpu_ms_per_request"]["ceiling_after"],
                )
            ),
            "ratio": None,
            "goal": "reported",
            "met": None,
        },
    ]


def _averaged(a: dict[str, float], b: dict[str, float]) -> dict[str, float]:
    return {k: (a[k] + b[k]) / 2 for k in a.keys() & b.keys()}


def _cpu_split(ms: dict[str, float]) -> str:
    parts = [ms.get(k) for k in ("voting-web", "postgres", "load generator", "machine")]
    return " / ".join("-" if v is None else f"{v:.1f}" for v in parts)
