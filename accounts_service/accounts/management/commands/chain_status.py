"""`manage.py chain_status [--json]`: the chain source, the newest stored epoch of the pool's
stake history, the last good sync, and "stale since" when the source fails. Exits 1 when stale."""

import json
import sys

from django.core.management.base import BaseCommand

from accounts.selectors import chain_status


class Command(BaseCommand):
    # No system checks: they import the URLconf and every view, seconds of start-up on a
    # loaded machine; `manage_all.py status` runs this beside every service's events_status.
    requires_system_checks: list[str] = []
    help = (
        "Show the chain source, the newest stored epoch and whether the source is stale; "
        "exit 1 when it is."
    )

    def add_arguments(self, parser):
        parser.add_argument("--json", action="store_true", help="machine-readable output")

    def handle(self, *args, **options):
        status = chain_status()
        self.stdout.write(json.dumps(status) if options["json"] else status["summary"])
        if status["problems"]:
            sys.exit(1)
