from django.apps import AppConfig


class SharedEventsConfig(AppConfig):
    name = "shared_events.core"
    # The label the tables, migrations and admin URLs were made under, before core/ and kit/.
    label = "shared_events"
    verbose_name = "Events (outbox, inbox, dead letters)"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from .consumer.registry import load_handlers

        # Import every app's consumers module now, so a duplicate or unknown handler fails at
        # start-up of any process rather than when its first event arrives.
        load_handlers()
