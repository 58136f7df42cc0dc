"""Redis goes away while every process of the platform keeps running (as in Kubernetes, where a
Redis pod restarts under running services), then comes back empty on the same address.

While it is away: registration, sign-in and ballots answer as usual (the throttles, whose
counters live on Redis, let requests through), nothing answers 500, and the events those
writes recorded are still published: on PostgreSQL a commit wakes the workers' relay loops
itself (`shared_events/core/outbox/listen.py`), with no Celery task between. Once it is back:
every outbox drains and every replica converges, with no process restarted.

The Redis is this module's own, on a free port, stopped by the pid this module started: never
the machine's.
"""

from __future__ import annotations

import subprocess
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

import manage_all
from shared_events.core.testing import free_port, port_open, wait_until
from tests.system.actors import create_operator, open_round
from tests.system.convergence import PASSWORD, new_delegator, snapshot, wait_converged
from tests.system.harness import Platform

CONVERGE_TIMEOUT = 120.0
WRITE_ROUNDS = 8


class RedisServer:
    """A redis-server of the test's own on 127.0.0.1:<port>, stoppable and restartable there."""

    def __init__(self, workdir: Path) -> None:
        self.port = free_port()
        self.workdir = workdir
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        self.workdir.mkdir(parents=True, exist_ok=True)
        with open(self.workdir / "redis.log", "ab") as log:
            self.proc = subprocess.Popen(
                [
                    manage_all.scripts_binary("redis-server"),
                    "--bind",
                    "127.0.0.1",
                    "--port",
                    str(self.port),
                    "--save",
                    "",
                    "--appendonly",
                    "no",
                    "--dir",
                    str(self.workdir),
                ],
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
            )
        wait_until(lambda: port_open(self.port), timeout=20, message="redis-server to listen")

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(20)
        wait_until(lambda: not port_open(self.port), timeout=20, message="redis to be gone")


class OwnRedisPlatform(Platform):
    """The platform with its broker and cache on `redis`, queues and keys of its own."""

    def __init__(self, redis: RedisServer) -> None:
        super().__init__()
        self.redis = redis

    def environment(self) -> dict[str, str]:
        env = super().environment()
        env.pop("CACHE_URL", None)
        env["CELERY_BROKER_URL"] = self.redis.url
        env["CELERY_QUEUE_PREFIX"] = f"systest-{self.run_id}-"
        return env


@pytest.fixture(scope="module")
def platform(tmp_path_factory) -> Iterator[OwnRedisPlatform]:
    redis = RedisServer(tmp_path_factory.mktemp("redis"))
    redis.start()
    running = OwnRedisPlatform(redis)
    try:
        running.start()
    except BaseException:
        print(running.logs(tail=200))
        running.close(keep_files=True)
        redis.stop()
        raise
    yield running
    running.close()
    redis.stop()


def test_nothing_answers_500_while_redis_is_away_and_all_drains_once_it_is_back(platform):
    operator = create_operator(platform)
    funding = open_round(platform, operator)
    voters = [new_delegator(platform) for _ in range(3)]
    wait_converged(platform, timeout=CONVERGE_TIMEOUT)

    platform.redis.stop()
    answers: list[tuple[str, int]] = []

    def one_round_of_writes(n: int) -> None:
        email = f"outage-{uuid.uuid4().hex[:10]}@example.com"
        registered = platform.api(
            "POST", "accounts", "register/", {"email": email, "password": PASSWORD}
        )
        signed_in = platform.api(
            "POST", "accounts", "token/", {"email": email, "password": PASSWORD}
        )
        wrong = platform.api(
            "POST", "accounts", "token/", {"email": email, "password": "not-the-password"}
        )
        voter = voters[n % len(voters)]
        ballot = platform.api(
            "PUT",
            "voting",
            f"polls/{funding.poll_id}/ballot/",
            {
                "allocations": [
                    {"cause": funding.causes[0], "points": 10 + n % 50},
                    {"cause": funding.causes[1], "points": 5},
                ]
            },
            token=voter.token,
        )
        answers.extend(
            [
                ("register", registered.status),
                ("token", signed_in.status),
                ("wrong password", wrong.status),
                ("ballot", ballot.status),
            ]
        )
        assert (registered.status, signed_in.status, wrong.status) == (201, 200, 401), (
            registered,
            signed_in,
            wrong,
        )
        assert ballot.status in (200, 201), ballot  # 201: the voter's first ballot

    for n in range(WRITE_ROUNDS):
        one_round_of_writes(n)
    assert all(status < 500 for _what, status in answers), answers
    # The registrations' events leave accounts' outbox with Redis still away: no Celery task
    # (which Redis would carry) stands between a commit and the relay loop.
    wait_until(
        lambda: snapshot(platform)["accounts"]["outbox_pending"] == 0,
        timeout=CONVERGE_TIMEOUT,
        message="accounts' outbox to drain without Redis",
    )
    print(f"\nwhile Redis was away: {len(answers)} requests, none 5xx; accounts' outbox drained")

    platform.redis.start()
    took, _snap = wait_converged(platform, timeout=CONVERGE_TIMEOUT)
    print(f"Redis back: every outbox drained and every replica converged in {took:.1f}s")
    assert platform.exited() == {}, "a process of the platform exited during the outage"
