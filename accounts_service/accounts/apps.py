import logging

from django.apps import AppConfig

from shared_events.kit.chain_mode import mode_summary, open_eligibility

log = logging.getLogger(__name__)


class AccountsConfig(AppConfig):
    name = "accounts"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from .chain import checks  # noqa: F401 (registers the chain source's system check)

        # Once per process (web worker, Celery worker, beat, command): who earns points here.
        if open_eligibility():
            log.warning("%s", mode_summary())
        else:
            log.info("%s", mode_summary())
