"""`manage.py relay_outbox`: publish what the outbox holds now, without Celery."""

from django.core.management.base import BaseCommand

from shared_events.core.outbox.relay import relay_pending


class Command(BaseCommand):
    help = "Publish due outbox rows to NATS JetStream once (the Celery relay does this normally)."

    def handle(self, *args, **options):
        result, _more = relay_pending(time_budget=60)
        self.stdout.write(
            f"published {result.published}, superseded {result.superseded}, failed {result.failed}"
        )
