"""gunicorn's settings, read from the working directory: its own lines go through the
service's logging (one JSON object per line with LOG_FORMAT=json)."""

from shared_events.kit.logs import gunicorn_logconfig

logconfig_dict = gunicorn_logconfig("polls")
