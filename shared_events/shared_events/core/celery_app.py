"""One Celery app per service, configured the same way everywhere."""

from __future__ import annotations

import os

from celery import Celery

from .celery_liveness import install as install_liveness


def beat_schedule() -> dict[str, dict]:
    return {
        # The safety net under the on-commit kick: anything a kick missed goes within a second.
        "relay-outbox-sweep": {
            "task": "shared_events.relay_outbox",
            "schedule": 1.0,
            "options": {"expires": 5},
        },
        "purge-outbox": {"task": "shared_events.purge_outbox", "schedule": 3600.0},
        "purge-inbox": {"task": "shared_events.purge_inbox", "schedule": 3600.0},
    }


def make_celery_app(service: str, settings_module: str = "config.settings") -> Celery:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", settings_module)
    app = Celery(service)
    app.config_from_object("django.conf:settings", namespace="CELERY")
    app.autodiscover_tasks()
    install_liveness(app)
    return app
