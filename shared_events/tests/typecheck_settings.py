"""The settings mypy's Django plugin loads to check shared_events (tests/lint/test_lint.py): a
service's settings as `configure()` makes them, because the platform kit reads what it defines
(SERVICE_NAME, ADMIN_SSO, ...). Point VAR_DIR at a throwaway folder: it writes keys there."""

from pathlib import Path

from shared_events.kit.chain_clients.settings import chain_client_settings
from shared_events.kit.service_settings import configure

configure(globals(), service="typecheck", base_dir=Path(__file__).resolve().parent, apps=[])
# The chain clients' settings, as the services that read the chain define them.
chain_client_settings(globals())
