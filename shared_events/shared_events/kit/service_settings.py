"""Twelve-factor settings shared by the three services.

Every value comes from the environment; with nothing set, a service runs on the embedded
default: its own SQLite file under var/, the NATS server and the Redis broker that
`manage_all.py up` starts from wheels, and keys and secrets generated once under var/.
"""

from __future__ import annotations

import os
import secrets
from datetime import datetime
from pathlib import Path
from typing import Any, overload
from urllib.parse import urlparse

import dj_database_url

from ..core.celery_app import beat_schedule
from .chain_mode import checked_chain_source
from .identity.keys import load_public_keys, write_once
from .logs import logging_config
from .owner_only import owner_only_dir, owner_only_sqlite

EMBEDDED_NATS_PORT = 14222  # not 4222: a machine may run its own NATS there


@overload
def env(name: str, default: str) -> str: ...
@overload
def env(name: str, default: None = None) -> str | None: ...
def env(name: str, default: str | None = None) -> str | None:
    value = os.environ.get(name)
    return value if value not in (None, "") else default


def env_bool(name: str, default: bool = False) -> bool:
    value = env(name)
    if value is None:
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def env_count(name: str, default: int) -> int:
    value = (env(name) or str(default)).strip()
    if not (value.isascii() and value.isdigit()):
        from django.core.exceptions import ImproperlyConfigured

        raise ImproperlyConfigured(f"{name}={value!r} is not a whole number")
    return int(value)


def env_strict_bool(name: str, default: bool = False) -> bool:
    """Like env_bool, but a value that is neither yes nor no is refused, not read as no: for a
    setting whose typo would quietly change who may vote."""
    value = env(name)
    if value is None:
        return default
    if value.strip().lower() in {"1", "true", "yes", "on"}:
        return True
    if value.strip().lower() in {"0", "false", "no", "off"}:
        return False
    from django.core.exceptions import ImproperlyConfigured

    raise ImproperlyConfigured(f"{name}={value!r} is neither true nor false")


def epoch_clock(ns: dict[str, Any]) -> None:
    """The Cardano epoch clock (kit/epochs.py): mainnet's unless a testnet or a demo says."""
    from django.core.exceptions import ImproperlyConfigured

    ns["CARDANO_EPOCH_REFERENCE_NUMBER"] = env_count("CARDANO_EPOCH_REFERENCE_NUMBER", 208)
    start = env("CARDANO_EPOCH_REFERENCE_START", "2020-07-29T21:44:51+00:00")
    try:
        aware = datetime.fromisoformat(start).tzinfo is not None
    except ValueError:
        aware = False
    if not aware:
        raise ImproperlyConfigured(
            f"CARDANO_EPOCH_REFERENCE_START={start!r} is not an ISO 8601 time with its offset"
        )
    ns["CARDANO_EPOCH_REFERENCE_START"] = start
    ns["CARDANO_EPOCH_LENGTH_SECONDS"] = env_count("CARDANO_EPOCH_LENGTH_SECONDS", 432000)
    if ns["CARDANO_EPOCH_LENGTH_SECONDS"] < 1:
        raise ImproperlyConfigured("CARDANO_EPOCH_LENGTH_SECONDS must be at least 1")


def env_list(name: str, default: str) -> list[str]:
    return [item.strip() for item in env(name, default).split(",") if item.strip()]


def repo_root(base_dir: Path) -> Path:
    return base_dir.parent


def var_dir(base_dir: Path) -> Path:
    return owner_only_dir(Path(env("VAR_DIR") or repo_root(base_dir) / "var").resolve())


def database_from_url(url: str) -> dict[str, Any]:
    """postgres://user:pass@host:port/name?sslmode=require  or  sqlite:////abs/path.sqlite3"""
    database = dj_database_url.parse(
        url,
        # Persistent: a connection per request would cost more than most requests.
        conn_max_age=int(env("DB_CONN_MAX_AGE", "60")),
        conn_health_checks=True,
    )
    if database["ENGINE"] == "django.db.backends.sqlite3":
        return sqlite_database(Path(database["NAME"]))
    if database["ENGINE"] != "django.db.backends.postgresql":
        raise ValueError(f"unsupported DATABASE_URL scheme {url.split(':', 1)[0]!r}")
    return dict(database)


def sqlite_database(path: Path) -> dict[str, Any]:
    owner_only_sqlite(path)  # accounts' holds the password hashes
    return {
        "ENGINE": "django.db.backends.sqlite3",
        "NAME": str(path),
        "OPTIONS": {
            # Several processes share the file: WAL lets readers run beside the writer, the
            # timeout waits for the lock instead of failing, IMMEDIATE avoids the deadlock of
            # two readers both upgrading to writers.
            "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
            "timeout": 30,
            "transaction_mode": "IMMEDIATE",
        },
        "CONN_MAX_AGE": 60,
        # A file beside it, not :memory:, so tests with threads get real locking and timeouts.
        "TEST": {"NAME": str(path.with_name(f"test_{path.name}"))},
    }


def persistent_secret(path: Path) -> str:
    """A secret generated once and kept under var/ (embedded default only)."""
    write_once(path, secrets.token_urlsafe(50).encode())
    return path.read_text().strip()


def redis_credentials(service: str) -> dict[str, str]:
    """REDIS_PASSWORD, with REDIS_USERNAME (by default the service's own ACL user; `default` for
    a Redis with one `requirepass`), as redis-py options. Given apart from CELERY_BROKER_URL:
    Celery reads that variable itself and would drop credentials written into the setting."""
    password = env("REDIS_PASSWORD")
    if not password:
        return {}
    return {"username": env("REDIS_USERNAME", service), "password": password}


def broker_transport_options(queue: str) -> dict[str, Any]:
    return {
        "socket_timeout": 5,
        "socket_connect_timeout": 2,
        # Every key and channel of the service under one prefix, as the cache's (its
        # KEY_PREFIX is the queue's name): a Redis ACL user per service is given only its own
        # (redis_acl_rule).
        "global_keyprefix": f"{queue}:",
    }


def redis_acl_rule(service: str) -> str:
    """What a service's Redis ACL user may do (after `user <name> on >password`): its own keys
    and channels, no command that could reach beyond them or stop the server."""
    return f"resetchannels ~{service}:* &{service}:* +@all -@dangerous"


def redis_url_for_clients(broker_url: str, db: int) -> str | None:
    """The cache reaches the broker's Redis too; kombu's socket form becomes redis-py's."""
    if broker_url.startswith("redis+socket://"):
        return f"unix://{broker_url.split('://', 1)[1].split('?')[0]}?db={db}"
    if broker_url.startswith(("redis://", "rediss://")):
        parsed = urlparse(broker_url)
        return parsed._replace(path=f"/{db}").geturl()
    return None


def configure(
    ns: dict[str, Any],
    *,
    service: str,
    base_dir: Path,
    apps: list[str],
    produces: tuple[str, ...] = (),
    rest_authentication: tuple[str, ...] = (
        "shared_events.kit.identity.authentication.JWTAuthentication",
    ),
    extra_beat_schedule: dict[str, dict] | None = None,
    metrics_scrape_time: tuple[str, ...] = (),
    api_description: str = "",
) -> None:
    """Fill a service's settings module namespace (`configure(globals(), ...)`)."""
    var = var_dir(base_dir)
    prefix = f"/{service}/"
    if not env_bool("EMBEDDED_DEFAULTS", True):
        # Deployed: a missing setting must fail loudly, not fall back to a local file.
        missing = [
            n for n in ("SECRET_KEY", "DATABASE_URL", "NATS_URL", "CELERY_BROKER_URL") if not env(n)
        ]
        if missing:
            from django.core.exceptions import ImproperlyConfigured

            raise ImproperlyConfigured(f"EMBEDDED_DEFAULTS=0 but {', '.join(missing)} unset")

    ns["BASE_DIR"] = base_dir
    ns["VAR_DIR"] = var
    ns["SERVICE_NAME"] = service
    ns["URL_PREFIX"] = prefix
    ns["DEBUG"] = env_bool("DEBUG")
    ns["SECRET_KEY"] = env("SECRET_KEY") or persistent_secret(var / "secrets" / f"{service}.key")
    ns["ALLOWED_HOSTS"] = env_list("ALLOWED_HOSTS", "localhost,127.0.0.1,[::1]")
    ns["CSRF_TRUSTED_ORIGINS"] = env_list("CSRF_TRUSTED_ORIGINS", "")
    if env_bool("SECURE_PROXY_SSL_HEADER"):
        ns["SECURE_PROXY_SSL_HEADER"] = ("HTTP_X_FORWARDED_PROTO", "https")

    ns["INSTALLED_APPS"] = [
        "django.contrib.admin",
        "django.contrib.auth",
        "django.contrib.contenttypes",
        "django.contrib.sessions",
        "django.contrib.messages",
        "whitenoise.runserver_nostatic",
        "django.contrib.staticfiles",
        "shared_events.core",
        # Before rest_framework, so its templates (the browsable API's header) take precedence.
        "shared_events.kit",
        "rest_framework",
        "drf_spectacular",
        "drf_spectacular_sidecar",
        *apps,
    ]
    ns["MIDDLEWARE"] = [
        # Outermost: counts and times every answer, a 503 from the one below included.
        "shared_events.kit.metrics_web.HttpMetricsMiddleware",
        # Then: every line of the request carries its id, and the response the header.
        "shared_events.kit.request_id.RequestIdMiddleware",
        # Then: a lost database connection anywhere below is a 503, not a 500.
        "shared_events.kit.db_unavailable.DatabaseUnavailableMiddleware",
        "django.middleware.security.SecurityMiddleware",
        "shared_events.kit.request_guards.RefuseNulCharactersMiddleware",
        "whitenoise.middleware.WhiteNoiseMiddleware",
        "django.contrib.sessions.middleware.SessionMiddleware",
        "django.middleware.common.CommonMiddleware",
        "django.middleware.csrf.CsrfViewMiddleware",
        "django.contrib.auth.middleware.AuthenticationMiddleware",
        "django.contrib.messages.middleware.MessageMiddleware",
        "django.middleware.clickjacking.XFrameOptionsMiddleware",
    ]
    ns["ROOT_URLCONF"] = "config.urls"
    ns["WSGI_APPLICATION"] = "config.wsgi.application"
    ns["TEMPLATES"] = [
        {
            "BACKEND": "django.template.backends.django.DjangoTemplates",
            "DIRS": [],
            "APP_DIRS": True,
            "OPTIONS": {
                "context_processors": [
                    "django.template.context_processors.request",
                    "django.contrib.auth.context_processors.auth",
                    "django.contrib.messages.context_processors.messages",
                    "shared_events.kit.context.service_links",
                    "shared_events.kit.pages.page_links",
                ]
            },
        }
    ]
    database_url = env("DATABASE_URL")
    ns["DATABASES"] = {
        "default": database_from_url(database_url)
        if database_url
        else sqlite_database(var / f"{service}.sqlite3")
    }
    ns["DEFAULT_AUTO_FIELD"] = "django.db.models.BigAutoField"
    ns["LANGUAGE_CODE"] = "en-us"
    ns["TIME_ZONE"] = "UTC"
    ns["USE_I18N"] = True
    ns["USE_TZ"] = True

    # Every path of a service sits under its prefix, so one host can route by path, and each
    # service's cookies are its own even on one host (ports do not separate cookies).
    ns["STATIC_URL"] = f"{prefix}static/"
    # collectstatic fills STATIC_ROOT in the image; locally the finders serve the files.
    ns["STATIC_ROOT"] = Path(env("STATIC_ROOT") or var / "static" / service)
    ns["STATIC_ROOT"].mkdir(parents=True, exist_ok=True)
    ns["WHITENOISE_USE_FINDERS"] = True
    ns["SESSION_COOKIE_NAME"] = f"{service}_sessionid"
    ns["SESSION_COOKIE_PATH"] = prefix
    ns["CSRF_COOKIE_NAME"] = f"{service}_csrftoken"
    ns["CSRF_COOKIE_PATH"] = prefix
    ns["LOGIN_URL"] = f"{prefix}admin/login/"

    broker_url = env("CELERY_BROKER_URL") or f"redis+socket://{var / 'redis.sock'}"
    credentials = redis_credentials(service)
    cache_url = env("CACHE_URL") or redis_url_for_clients(broker_url, db=1)
    queue = f"{env('CELERY_QUEUE_PREFIX', '')}{service}"
    ns["CACHES"] = {
        # The queue's name as key prefix: platforms sharing one Redis keep their counters apart.
        # Short timeouts: a Redis that is away must not hold a request (the callers fail open).
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": cache_url,
            "KEY_PREFIX": queue,
            "OPTIONS": {"socket_connect_timeout": 1.0, "socket_timeout": 1.0, **credentials},
        }
        if cache_url
        else {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}
    }

    ns["CELERY_BROKER_URL"] = broker_url
    # kombu takes these where the URL has none (CELERY_BROKER_URL may be the bare host).
    ns["CELERY_BROKER_USER"] = credentials.get("username")
    ns["CELERY_BROKER_PASSWORD"] = credentials.get("password")
    ns["CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP"] = True
    # A worker whose Redis is away waits for it however long it takes, as the outbox does.
    ns["CELERY_BROKER_CONNECTION_MAX_RETRIES"] = None
    ns["CELERY_BROKER_CONNECTION_TIMEOUT"] = 2.0
    ns["CELERY_BROKER_TRANSPORT_OPTIONS"] = broker_transport_options(queue)
    # Remote control (`celery inspect`, broadcast shutdown) is unused, and its pattern
    # subscription is one a per-service Redis ACL cannot grant.
    ns["CELERY_WORKER_ENABLE_REMOTE_CONTROL"] = False
    ns["CELERY_TASK_DEFAULT_QUEUE"] = queue
    ns["CELERY_TASK_IGNORE_RESULT"] = True
    ns["CELERY_RESULT_BACKEND"] = None
    ns["CELERY_WORKER_HIJACK_ROOT_LOGGER"] = False
    ns["CELERY_BEAT_SCHEDULE"] = {**beat_schedule(), **(extra_beat_schedule or {})}
    ns["CELERY_BEAT_SCHEDULE_FILENAME"] = env(
        "CELERY_BEAT_SCHEDULE_FILENAME", str(var / f"{service}-celerybeat-schedule")
    )

    ns["SHARED_EVENTS"] = {
        "SERVICE": service,
        "NATS_URL": env("NATS_URL", f"nats://127.0.0.1:{EMBEDDED_NATS_PORT}"),
        # The service's own NATS user (the user defaults to the service's name) and TLS.
        "NATS_USER": env("NATS_USER"),
        "NATS_PASSWORD": env("NATS_PASSWORD"),
        "NATS_TLS_CA_FILE": env("NATS_TLS_CA_FILE"),
        "NATS_TLS_CERT_FILE": env("NATS_TLS_CERT_FILE"),
        "NATS_TLS_KEY_FILE": env("NATS_TLS_KEY_FILE"),
        "PRODUCES": produces,
        "STREAM_REPLICAS": int(env("NATS_STREAM_REPLICAS", "1")),
        # Every process declares the streams: the same partitions in every service's settings.
        "STREAM_PARTITIONS": env_count("NATS_STREAM_PARTITIONS", 1),
        "CONSUMER_REPLICAS": env_count("CONSUMER_REPLICAS", 1),
        # Empty where the cluster lacks the pod-index label: the host name's ordinal then.
        "CONSUMER_REPLICA_INDEX": env_count("CONSUMER_REPLICA_INDEX", 0)
        if env("CONSUMER_REPLICA_INDEX")
        else None,
        "OUTBOX_STALE_AFTER_SECONDS": float(env("OUTBOX_STALE_AFTER_SECONDS", "60")),
        # Only the system tests set it, to a fault of shared_events.core.testing.
        "RELAY_AFTER_PUBLISH": env("SHARED_EVENTS_RELAY_AFTER_PUBLISH"),
        # The service's gauges its beat reads from the database when scraped.
        "METRICS_SCRAPE_TIME": metrics_scrape_time,
    }

    # Operators sign in to accounts' admin; the other admins trust its one-use tickets.
    ns["ADMIN_SSO"] = service != "accounts"
    ns["ADMIN_SSO_SESSION_SECONDS"] = int(env("ADMIN_SSO_SESSION_SECONDS", str(8 * 3600)))
    ns["ADMIN_SSO_RECHECK_SECONDS"] = int(env("ADMIN_SSO_RECHECK_SECONDS", "600"))
    if ns["ADMIN_SSO"]:
        ns["MIDDLEWARE"].append(
            "shared_events.kit.identity.admin_sso.AdminSessionRecheckMiddleware"
        )
    ns["SERVICE_PUBLIC_URLS"] = {
        name: env(f"{name.upper()}_PUBLIC_URL", "") for name in ("accounts", "polls", "voting")
    }

    # Voting power (kit/chain_mode.py): every service knows where accounts reads the pool's
    # stake from and whether the platform runs in the open mode; and the epoch clock.
    ns["CHAIN_SOURCE"] = checked_chain_source(env("CHAIN_SOURCE", "none"))
    ns["OPEN_ELIGIBILITY"] = env_strict_bool("OPEN_ELIGIBILITY")
    epoch_clock(ns)

    # The browsable API's sign-in, shared by all services on a host (identity/browser.py).
    ns["BROWSER_TOKEN_COOKIE"] = env("BROWSER_TOKEN_COOKIE", "charity_vote_access")

    ns["JWT_ISSUER"] = "accounts"
    ns["JWT_AUDIENCE"] = "charity-vote"
    ns["JWT_PUBLIC_KEYS"] = load_public_keys(var)

    ns["REST_FRAMEWORK"] = {
        "DEFAULT_AUTHENTICATION_CLASSES": list(rest_authentication),
        "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
        "DEFAULT_RENDERER_CLASSES": [
            "rest_framework.renderers.JSONRenderer",
            "rest_framework.renderers.BrowsableAPIRenderer",
        ],
        "DEFAULT_PARSER_CLASSES": ["shared_events.kit.parsers.BoundedJSONParser"],
        "DEFAULT_SCHEMA_CLASS": "shared_events.kit.openapi.AutoSchema",
        "DEFAULT_PAGINATION_CLASS": "shared_events.kit.pagination.LimitOffsetPagination",
        "PAGE_SIZE": 50,
        "EXCEPTION_HANDLER": "shared_events.kit.api.exception_handler",
        "VIEW_NAME_FUNCTION": "shared_events.kit.api.view_name",
        "DEFAULT_THROTTLE_RATES": {
            "login": env("THROTTLE_LOGIN", "10/min"),
            "login_email": env("THROTTLE_LOGIN_EMAIL", "5/min"),
            "register": env("THROTTLE_REGISTER", "30/hour"),
        },
        "UNAUTHENTICATED_USER": "django.contrib.auth.models.AnonymousUser",
        # Proxies in front whose X-Forwarded-For entry is believed, counted from the right; the
        # rest of the header is the client's to forge (accounts/throttles.py client_address).
        "NUM_PROXIES": env_count("TRUSTED_PROXY_COUNT", 0),
    }
    ns["SPECTACULAR_SETTINGS"] = {
        "TITLE": f"{service} service API",
        "DESCRIPTION": api_description,
        "VERSION": "1.0.0",
        "SCHEMA_PATH_PREFIX": f"{prefix}api/",
        "SERVE_INCLUDE_SCHEMA": False,
        # The docs page's assets are served from the package, not a CDN.
        "SWAGGER_UI_DIST": "SIDECAR",
        "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
        "REDOC_DIST": "SIDECAR",
        "COMPONENT_SPLIT_REQUEST": True,
    }

    ns["LOGGING"] = logging_config(
        service=service, level=env("LOG_LEVEL", "INFO"), log_format=env("LOG_FORMAT", "text")
    )
    ns["LOGGING"]["loggers"] = {
        "django.db.backends": {"level": "INFO"},
        # The relay and tally sweeps run every second: their "received", "succeeded" and
        # "sending due task" lines would bury everything else.
        "celery.app.trace": {"level": env("CELERY_TASK_LOG_LEVEL", "WARNING")},
        "celery.worker.strategy": {"level": env("CELERY_TASK_LOG_LEVEL", "WARNING")},
        "celery.beat": {"level": env("CELERY_TASK_LOG_LEVEL", "WARNING")},
        # The request id middleware writes a line per request, with its ids: Django's own
        # line about a 4xx or 5xx would say it again without them.
        "django.request": {"level": "ERROR"},
    }
