"""A Redis ACL user per service, against a real redis-server with the rules the Kubernetes
manifests give it (service_settings.redis_acl_rule): with the settings REDIS_PASSWORD makes, a
service's Celery worker runs its tasks and its cache works, and it can touch nothing of
another service's queue or cache."""

from __future__ import annotations

import subprocess
import sysconfig
import threading
from pathlib import Path

import pytest
import redis
from celery import Celery
from django.core.cache.backends.redis import RedisCache

from shared_events.core.testing import free_port, wait_until
from shared_events.kit.service_settings import configure, redis_acl_rule

PASSWORDS = {"accounts": "accounts-pw-1", "polls": "polls-pw/with:odd@chars%"}


@pytest.fixture
def acl_redis(tmp_path):
    port = free_port()
    acl = tmp_path / "users.acl"
    acl.write_text(
        "user default on nopass -@all +ping\n"
        + "".join(f"user {s} on >{pw} {redis_acl_rule(s)}\n" for s, pw in PASSWORDS.items())
    )
    server = subprocess.Popen(
        [
            str(Path(sysconfig.get_path("scripts")) / "redis-server"),
            *("--port", str(port), "--bind", "127.0.0.1", "--aclfile", str(acl)),
            *("--save", "", "--appendonly", "no", "--dir", str(tmp_path)),
        ],
        stdout=subprocess.DEVNULL,
    )
    anonymous = redis.Redis(port=port)

    def answers() -> bool:
        try:
            return bool(anonymous.ping())
        except redis.ConnectionError:
            return False

    wait_until(answers, timeout=10, message="redis")
    yield port
    anonymous.close()
    server.terminate()
    server.wait(10)


def settings_of(service: str, port: int, monkeypatch, tmp_path) -> dict:
    monkeypatch.setenv("VAR_DIR", str(tmp_path / "var"))
    for name in ("CELERY_QUEUE_PREFIX", "CACHE_URL", "REDIS_USERNAME"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("CELERY_BROKER_URL", f"redis://127.0.0.1:{port}/0")
    monkeypatch.setenv("REDIS_PASSWORD", PASSWORDS[service])
    ns: dict = {}
    configure(ns, service=service, base_dir=tmp_path / f"{service}_service", apps=[])
    return ns


def celery_app(ns: dict) -> Celery:
    app = Celery(f"acl-{ns['SERVICE_NAME']}")
    app.config_from_object(
        {
            "broker_url": ns["CELERY_BROKER_URL"],
            "broker_user": ns["CELERY_BROKER_USER"],
            "broker_password": ns["CELERY_BROKER_PASSWORD"],
            "broker_transport_options": ns["CELERY_BROKER_TRANSPORT_OPTIONS"],
            "task_default_queue": ns["CELERY_TASK_DEFAULT_QUEUE"],
            "task_ignore_result": True,
            "result_backend": None,
            "worker_enable_remote_control": ns["CELERY_WORKER_ENABLE_REMOTE_CONTROL"],
            "broker_connection_retry_on_startup": False,
        }
    )
    return app


def cache_of(ns: dict) -> RedisCache:
    default = ns["CACHES"]["default"]
    return RedisCache(
        default["LOCATION"], {"KEY_PREFIX": default["KEY_PREFIX"], "OPTIONS": default["OPTIONS"]}
    )


def test_each_service_runs_its_tasks_and_cache_under_its_own_user(acl_redis, monkeypatch, tmp_path):
    ns = settings_of("accounts", acl_redis, monkeypatch, tmp_path)
    app = celery_app(ns)
    ran: list[int] = []

    @app.task(name="acl.noted")
    def noted(x: int) -> None:
        ran.append(x)

    worker = app.Worker(
        pool="threads", concurrency=1, without_gossip=True, without_mingle=True, loglevel="ERROR"
    )
    thread = threading.Thread(target=worker.start, daemon=True)
    thread.start()
    try:
        noted.delay(42)
        wait_until(lambda: ran == [42], timeout=20, message="the task to run")
    finally:
        worker.stop(in_sighandler=False)
        thread.join(10)
    assert not thread.is_alive()

    cache = cache_of(ns)
    cache.set("throttle", 3)
    assert cache.get("throttle") == 3


def test_a_service_cannot_touch_another_services_queue_or_cache(acl_redis, monkeypatch, tmp_path):
    accounts = settings_of("accounts", acl_redis, monkeypatch, tmp_path)
    cache_of(accounts).set("admin-ticket", "secret")
    celery_app(accounts).send_task("acl.noted", args=[1])  # waits in accounts' queue

    polls = settings_of("polls", acl_redis, monkeypatch, tmp_path)
    client = redis.Redis.from_url(
        polls["CELERY_BROKER_URL"],
        username=polls["CELERY_BROKER_USER"],
        password=polls["CELERY_BROKER_PASSWORD"],
    )
    try:
        for command in (
            ("LPUSH", "accounts:accounts", "forged task"),  # enqueue on accounts' queue
            ("RPOP", "accounts:accounts"),  # take accounts' task
            ("GET", "accounts:1:admin-ticket"),  # read accounts' cache
            ("KEYS", "*"),
            ("FLUSHALL",),
            ("PUBLISH", "accounts:/0.celery.pidbox", "x"),
        ):
            with pytest.raises(redis.exceptions.NoPermissionError):
                client.execute_command(*command)
        assert client.lpush("polls:polls", "mine") == 1  # its own it may
    finally:
        client.close()
    anonymous = redis.Redis(port=acl_redis)
    with pytest.raises((redis.exceptions.NoPermissionError, redis.exceptions.AuthenticationError)):
        anonymous.get("accounts:1:admin-ticket")
    anonymous.close()
    assert cache_of(accounts).get("admin-ticket") == "secret"
