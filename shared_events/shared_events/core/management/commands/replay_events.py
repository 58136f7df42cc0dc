"""`manage.py replay_events`: rebuild this service's replicas from the streams."""

from django.core.management.base import BaseCommand

from shared_events.core.consumer.rebuild import rebuild_replicas


class Command(BaseCommand):
    help = (
        "Read every retained event of the followed streams from the start and apply it. "
        "Idempotent: safe on a populated database and beside the running consumer."
    )

    def add_arguments(self, parser):
        parser.add_argument("--stream", action="append", help="only this stream (repeatable)")

    def handle(self, *args, **options):
        streams = {s.upper() for s in options["stream"]} if options["stream"] else None
        report = rebuild_replicas(streams=streams)
        self.stdout.write(
            f"read {report.read} events, applied {report.applied}, failed {report.failed}"
        )
        if report.failed:
            raise SystemExit(1)
