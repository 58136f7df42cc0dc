import logging
import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
application = get_wsgi_application()

# Once per start of the web server (its only process under `up`), not in every process.
from shared_events.kit.chain_mode import announce_mode  # noqa: E402 (needs the settings)

announce_mode(logging.getLogger("polls"))
