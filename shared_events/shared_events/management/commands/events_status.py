"""`manage.py events_status [--json]`: outbox backlog, consumer lag and dead letters."""

import json

from django.core.management.base import BaseCommand

from shared_events.status import events_status


class Command(BaseCommand):
    help = "Show this service's outbox backlog, consumer lag per stream and dead letters."

    def add_arguments(self, parser):
        parser.add_argument("--json", action="store_true", help="machine-readable output")

    def handle(self, *args, **options):
        status = events_status()
        if options["json"]:
            self.stdout.write(json.dumps(status))
            return
        outbox = status["outbox"]
        age = outbox["oldest_pending_age_seconds"]
        self.stdout.write(f"{status['service']}: outbox {outbox['pending']} pending"
                          f" ({outbox['failing']} failing"
                          + (f", oldest {age:.1f}s" if age is not None else "") + ")")
        for stream, lag in status["consumers"].items():
            self.stdout.write(f"  consumer {stream}: " + ", ".join(
                f"{k} {v}" for k, v in lag.items()))
        self.stdout.write(f"  dead letters: {status['dead_letters']['dead']}")
