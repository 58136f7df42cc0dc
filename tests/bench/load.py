"""A small closed-loop HTTP load generator: N client threads, each with a keep-alive
connection (http.client), sending the next request as soon as the previous answer is read.

Each client opens a new connection every RECONNECT_EVERY requests: gunicorn's workers each
keep the connections they accepted, so 4 connections made once may land 3 to 1 or 4 to 0 on
2 workers for a whole run, and leave a core idle in one run and not in the next."""

from __future__ import annotations

import http.client
import random
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field

from .infra import CpuMeter
from .progress import Progress

Request = tuple[str, str, bytes, dict[str, str]]  # method, path, body, headers
RECONNECT_EVERY = 50


@dataclass
class LoadResult:
    seconds: float = 0.0
    latencies: list[float] = field(default_factory=list)  # seconds, answered 2xx only
    statuses: Counter = field(default_factory=Counter)
    errors: int = 0  # connection errors and non-2xx answers
    samples_of_errors: list[str] = field(default_factory=list)

    @property
    def ok(self) -> int:
        return len(self.latencies)

    @property
    def per_second(self) -> float:
        return self.ok / self.seconds if self.seconds else 0.0


def run_load(
    port: int,
    build: Callable[[random.Random], Request],
    *,
    clients: int,
    duration: float,
    warmup: float,
    label: str,
    seed: int = 1,
    cpu: CpuMeter | None = None,
) -> LoadResult:
    """Warm up for `warmup` seconds (connections, the workers' first requests), then measure
    for `duration` seconds. Requests in flight at the end are not counted. A `cpu` meter runs
    over the measured seconds (to the progress loop's 0.2 s)."""
    start = time.monotonic() + warmup
    end = start + duration
    per_thread = [LoadResult() for _ in range(clients)]
    lock = threading.Lock()

    def client(i: int) -> None:
        rng = random.Random(seed * 1000 + i)
        mine = per_thread[i]
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        sent_here = 0
        try:
            while True:
                now = time.monotonic()
                if now >= end:
                    return
                if sent_here >= RECONNECT_EVERY:
                    conn.close()
                    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
                    sent_here = 0
                sent_here += 1
                method, path, body, headers = build(rng)
                sent = time.perf_counter()
                try:
                    conn.request(method, path, body, headers)
                    response = conn.getresponse()
                    data = response.read()
                    status = response.status
                except (OSError, http.client.HTTPException) as exc:
                    conn.close()
                    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
                    status, data = 0, repr(exc).encode()
                took = time.perf_counter() - sent
                if not (start <= now and time.monotonic() <= end):
                    continue  # warm-up, or answered after the end
                mine.statuses[status] += 1
                if 200 <= status < 300:
                    mine.latencies.append(took)
                else:
                    mine.errors += 1
                    if len(mine.samples_of_errors) < 5:
                        with lock:
                            mine.samples_of_errors.append(f"{status} {data[:300]!r}")
        finally:
            conn.close()

    threads = [threading.Thread(target=client, args=(i,), daemon=True) for i in range(clients)]
    bar = Progress(label, warmup + duration, unit="s")
    for t in threads:
        t.start()
    metering = None if cpu is None else "before"
    while any(t.is_alive() for t in threads):
        now = time.monotonic()
        if metering == "before" and now >= start:
            cpu.start()
            metering = "on"
        elif metering == "on" and now >= end:
            cpu.stop()
            metering = "done"
        ok = sum(len(r.latencies) for r in per_thread)
        measured = max(0.0, min(now, end) - start)
        note = "warming up" if now < start else f"{ok / measured:,.0f} req/s" if measured else ""
        bar.update(min(warmup + duration, now - (start - warmup)), note)
        time.sleep(0.2)
    for t in threads:
        t.join()
    if metering == "on":
        cpu.stop()
    total = LoadResult(seconds=duration)
    for r in per_thread:
        total.latencies.extend(r.latencies)
        total.statuses.update(r.statuses)
        total.errors += r.errors
        total.samples_of_errors.extend(r.samples_of_errors)
    bar.finish(f"{total.per_second:,.0f} req/s, {total.errors} errors")
    return total
