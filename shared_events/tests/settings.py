"""Settings of the small project that tests shared_events on its own."""

import os
import tempfile
from pathlib import Path

from shared_events.kit.service_settings import database_from_url, sqlite_database

SECRET_KEY = "shared-events-tests"
USE_TZ = True
INSTALLED_APPS = [
    "django.contrib.contenttypes",
    "django.contrib.auth",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.admin",
    "shared_events.core",
    "tests.testapp.apps.TestappConfig",
]
MIDDLEWARE = [
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
]
ROOT_URLCONF = "tests.urls"
TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ]
        },
    }
]
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
_db_url = os.environ.get("SHARED_EVENTS_DATABASE_URL")
DATABASES = {
    # A file, not :memory:, so the consumer's and relays' threads share it with real locking.
    "default": database_from_url(_db_url)
    if _db_url
    else {
        **sqlite_database(Path(tempfile.gettempdir()) / "shared-events-tests.sqlite3"),
        "TEST": {
            "NAME": str(Path(tempfile.gettempdir()) / f"shared-events-test-{os.getpid()}.sqlite3")
        },
    }
}
SHARED_EVENTS = {
    "SERVICE": "testsvc",
    "PRODUCES": ("testing",),
    "RELAY_KICK": False,
    "RELAY_BACKOFF_BASE_SECONDS": 0.05,
    "RELAY_BACKOFF_CAP_SECONDS": 0.2,
    "RELAY_PUBLISH_TIMEOUT_SECONDS": 2.0,
    "CONSUMER_MAX_DELIVERIES": 3,
    "CONSUMER_BACKOFF_BASE_SECONDS": 0.1,
    "CONSUMER_BACKOFF_CAP_SECONDS": 0.2,
    "CONSUMER_FETCH_TIMEOUT_SECONDS": 0.3,
}
JWT_ISSUER = "accounts"
JWT_AUDIENCE = "charity-vote"
JWT_PUBLIC_KEYS: dict[str, str] = {}  # filled by the identity tests
