"""`manage.py events_status [--json]`: outbox backlog, consumer lag, dead letters, whether NATS
answers, and the verdict. Exits 1 when the pipeline is not healthy."""

import json
import sys

from django.core.management.base import BaseCommand

from shared_events.core.status import events_status


class Command(BaseCommand):
    # No system checks: they import the URLconf, every view and what the views import, seconds
    # of start-up on a loaded machine, for a command that reads two tables and JetStream.
    requires_system_checks: list[str] = []
    help = (
        "Show this service's outbox backlog, consumer lag per stream, dead letters and "
        "whether NATS answers; exit 1 with the problems when the pipeline is not healthy."
    )

    def add_arguments(self, parser):
        parser.add_argument("--json", action="store_true", help="machine-readable output")
        parser.add_argument(
            "--sample-seconds",
            type=float,
            default=None,
            help="how far apart the two samples of consumer lag are taken",
        )

    def handle(self, *args, **options):
        status = events_status(sample_seconds=options["sample_seconds"])
        if options["json"]:
            self.stdout.write(json.dumps(status))
        else:
            self._write_text(status)
        if not status["healthy"]:
            sys.exit(1)

    def _write_text(self, status):
        outbox = status["outbox"]
        age = outbox["oldest_pending_age_seconds"]
        self.stdout.write(
            f"{status['service']}: outbox {outbox['pending']} pending"
            f" ({outbox['failing']} failing"
            + (f", oldest {age:.1f}s" if age is not None else "")
            + ")"
        )
        for stream, lag in status["consumers"].items():
            self.stdout.write(
                f"  consumer {stream}: " + ", ".join(f"{k} {v}" for k, v in lag.items())
            )
        self.stdout.write(f"  dead letters: {status['dead_letters']['dead']}")
        self.stdout.write(f"  nats: {'answers' if status['nats']['answers'] else 'NO ANSWER'}")
        if status["healthy"]:
            self.stdout.write("  healthy")
        for problem in status["problems"]:
            self.stdout.write(f"  PROBLEM {problem}")
