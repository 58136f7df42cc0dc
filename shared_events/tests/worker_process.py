"""The test project's Celery app, for a real worker process:
`python -m celery -A tests.worker_process worker ...` with TEST_WORKER_OPTIONS, a JSON holding
the test's database settings (`database`), SHARED_EVENTS overrides (`shared_events`), the
broker's URL (`broker_url`) and the beat's schedule file (`schedule_file`). The beat schedule
is shared_events' own (the relay sweep every second)."""

import json
import os

os.environ["DJANGO_SETTINGS_MODULE"] = "tests.settings"

from django.conf import settings  # noqa: E402

from shared_events.core.celery_app import beat_schedule, make_celery_app  # noqa: E402
from shared_events.kit.metrics_celery import record_celery_metrics  # noqa: E402

_options = json.loads(os.environ["TEST_WORKER_OPTIONS"])
# Before Celery sets Django up: no connection has read the settings yet.
settings.DATABASES["default"].update(_options["database"])
settings.SHARED_EVENTS = {**settings.SHARED_EVENTS, **_options["shared_events"]}
settings.CELERY_BROKER_URL = _options["broker_url"]
settings.CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
settings.CELERY_BEAT_SCHEDULE = beat_schedule()
settings.CELERY_BEAT_SCHEDULE_FILENAME = _options["schedule_file"]

app = make_celery_app("testsvc", "tests.settings")
record_celery_metrics()
