"""`manage_all.py bench --quick` as a smoke test: every scenario runs to the end, reports a
number for each figure and cleans up after itself. The figures themselves are never checked
(a benchmark, not a timed test; quick-mode figures mean nothing anyway)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from urllib.parse import urlparse

import pytest

from tests.bench.runner import SCENARIOS
from tests.system.harness import ROOT, _with_database


def bench_backends() -> dict[str, str]:
    """The bench needs the production backends: the suites' PostgreSQL and Redis, as in CI."""
    postgres = os.environ.get("ACCOUNTS_DATABASE_URL", "")
    redis = os.environ.get("CELERY_BROKER_URL", "")
    if not postgres.startswith(("postgres://", "postgresql://")) or not redis.startswith(
        "redis://"
    ):
        pytest.skip(
            "the bench needs PostgreSQL and Redis (ACCOUNTS_DATABASE_URL, "
            "CELERY_BROKER_URL); the embedded default has neither"
        )
    # Its own Redis database number, so its cleanup never meets the other suites' keys.
    return {
        "BENCH_POSTGRES_URL": _with_database(postgres, "postgres"),
        "BENCH_REDIS_URL": urlparse(redis)._replace(path="/12").geturl(),
    }


def test_quick_bench_reports_every_scenario_and_cleans_up(tmp_path: Path):
    env = {**os.environ, **bench_backends()}
    out = tmp_path / "bench.json"
    done = subprocess.run(
        [sys.executable, "manage_all.py", "bench", "--quick", "--out", str(out)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-4000:]
    report = json.loads(out.read_text())
    assert report["quick"] and report["errors"] == {}, report["errors"]
    assert report["scenarios_selected"] == SCENARIOS
    for name in (
        "relay",
        "consumer",
        "consumer_scaleout",
        "stake_import",
        "power_freeze",
        "ballots",
        "pages",
        "lag_idle",
        "accrual",
        "catchup",
        "memory_idle_embedded",
        "memory_under_load",
    ):
        assert name in report["scenarios"], name
    figures = report["figures"]
    # catch-up, the stake import and the consumer scale-out (1 and 2 processes) have two rows,
    # ballots four (rate, p50, p99, CPU per request), pages three
    assert len(figures) == 21, [f["scenario"] for f in figures]
    for figure in figures:
        assert isinstance(figure["value"], int | float | str) and figure["value"] not in (
            None,
            "",
        ), figure
    # The ceiling endpoint, served by the bench's own app, inserted rows. `--quick` overlaps the
    # phases on two cores, so one of its 1 s ceiling windows may pass with no answer at all.
    ballots = report["scenarios"]["ballots"]
    ceilings = [ballots[phase]["statuses"] for phase in ("ceiling_before", "ceiling_after")]
    assert any(c.get("201", 0) > 0 for c in ceilings), ceilings
    assert all("404" not in c for c in ceilings), ceilings
    # The page and the ballots sent as its script sends them (cookie, CSRF) were answered.
    pages = report["scenarios"]["pages"]
    assert set(pages["page_get"]["statuses"]) == {"200"}, pages["page_get"]
    assert set(pages["page_ballots"]["statuses"]) <= {"200", "201"}, pages["page_ballots"]
    # The CPU meter found voting's web, PostgreSQL's backends and the load generator at work,
    # in the phases that were answered (a starved window, above, has nothing to measure).
    cpu = ballots["cpu_ms_per_request"]
    answered = [p for p in ("ballots", "ceiling_before", "ceiling_after") if ballots[p]["n"]]
    for group in ("voting-web", "postgres", "load generator", "machine"):
        assert any((cpu[p].get(group) or 0) > 0 for p in answered), (group, cpu)
    # The chain's rows did their whole work: the epoch stored and sent, the table frozen with
    # the cap cutting the whales.
    imported, frozen = report["scenarios"]["stake_import"], report["scenarios"]["power_freeze"]
    assert imported["stored"] == imported["delegators"] and imported["parts_sent"] >= 1, imported
    assert frozen["frozen_rows"] == frozen["voters"] and frozen["capped_rows"] == 3, frozen
    assert bench_databases_left(env, report["run_id"]) == []


def test_scale_bench_reports_every_figure_of_a_size(tmp_path: Path):
    """`bench --scale` at one tiny size: every figure of the curve has a value, the ballots
    were all cast and all counted, and nothing is left. One size runs every step a larger
    one does (a second only repeated them: the growth between sizes is the arithmetic below,
    checked on its own)."""
    from tests.bench.scale import ROWS

    env = {**os.environ, **bench_backends()}
    out = tmp_path / "scale.json"
    size = 40
    done = subprocess.run(
        [
            sys.executable,
            "manage_all.py",
            "bench",
            "--scale",
            "--scale-sizes",
            str(size),
            "--out",
            str(out),
        ],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-4000:]
    report = json.loads(out.read_text())
    assert report["mode"] == "scale" and report["errors"] == {}, report["errors"]
    assert [r["delegators"] for r in report["per_size"]] == [size]
    curve = report["curve"]
    assert [row["figure"] for row in curve] == [label for label, _, _ in ROWS]
    for row in curve:
        assert len(row["values"]) == 1 and row["growth"] == [], row
        assert all(isinstance(v, int | float) for v in row["values"]), row
    [result] = report["per_size"]
    ballots, close = result["ballots"], result["close"]
    # 30 % of the delegators cast, every one answered 201, all in the final tally.
    assert ballots["cast"] == round(0.3 * size) and not ballots["cut_short"], ballots
    assert set(ballots["statuses"]) == {"201"}, ballots
    assert set(ballots["tally_read_statuses"]) == {"200"}, ballots
    assert close["final_tally_equals_cast"] and close["results_rows"] == 5, close
    # The last live tally (running totals) is the final one (counted from the ballots).
    assert close["final_tally_equals_live"], close
    # Voting rebuilt from the streams knows every delegator.
    assert result["replay"]["voters_rebuilt"] == size, result["replay"]
    assert result["sizes"]["jetstream_bytes"] > 0, result["sizes"]
    assert "| figure | unit | 40 |" in report["markdown"]
    assert bench_databases_left(env, report["run_id"]) == []


def test_the_scale_curve_gives_each_figure_its_growth_from_size_to_size():
    """What `bench --scale` prints and writes for several sizes, from the per-size results
    (two made-up sizes: the figures of a real run are the test above)."""
    from tests.bench.scale import ROWS, curve, markdown, table

    def result(n: int, seconds: float) -> dict:
        return {
            "delegators": n,
            "seed": {"seconds": seconds},
            "ballots": {"cast": round(0.3 * n), "ballot": {"p50_ms": 2.0}},
            "seconds": seconds * 10,
        }

    rows = curve([result(10_000, 1.5), result(100_000, 6.0)])
    assert [row["figure"] for row in rows] == [label for label, _, _ in ROWS]
    by_figure = {row["figure"]: row for row in rows}
    seeding = by_figure["seeding by COPY (not a figure: the run's own setup)"]
    assert (seeding["values"], seeding["growth"]) == ([1.5, 6.0], [4.0])
    cast = by_figure["ballots cast (30 % of N, 4 clients)"]
    assert (cast["values"], cast["growth"]) == ([3000, 30000], [10.0])
    p50 = by_figure["ballot latency p50"]
    assert (p50["values"], p50["growth"]) == ([2.0, 2.0], [1.0])
    missing = by_figure["power freeze of an N-voter table"]  # not in these results
    assert (missing["values"], missing["growth"]) == ([None, None], [None])
    cells = table([10_000, 100_000], rows)
    assert cells[0] == ["figure", "unit", "10,000", "100,000", "x 10 growth"]
    text = markdown(cells)
    assert "| ballots cast (30 % of N, 4 clients) |  | 3,000 | 30,000 | x 10.00 |" in text
    assert "| power freeze of an N-voter table | s | - | - | - |" in text


def bench_databases_left(env: dict[str, str], run_id: str) -> list[str]:
    """The run's databases still there (a run drops its own when it ends)."""
    import psycopg2

    conn = psycopg2.connect(env["BENCH_POSTGRES_URL"])
    try:
        with conn.cursor() as cursor:
            cursor.execute(
                "SELECT datname FROM pg_database WHERE datname LIKE %s",
                [f"bench\\_%\\_{run_id}"],
            )
            return [name for (name,) in cursor.fetchall()]
    finally:
        conn.close()
