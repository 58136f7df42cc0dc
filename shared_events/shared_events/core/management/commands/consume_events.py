"""`manage.py consume_events`: the service's long-running event consumer."""

import asyncio
import logging
import signal

from django.core.management.base import BaseCommand

from shared_events.core.consumer.runner import ConsumerRunner
from shared_events.core.metrics_port import serve_metrics_port


class Command(BaseCommand):
    help = "Apply other services' events from NATS JetStream to this service's replicas."
    # The deploy's `migrate` ran Django's system checks; at each (re)start of a consumer they
    # would import the whole API layer for nothing, before catching up.
    requires_system_checks = []

    def handle(self, *args, **options):
        logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
        serve_metrics_port()  # METRICS_PORT: applied, apply latency, replication lag
        asyncio.run(self._run())

    async def _run(self) -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            # Finish and ack the batch in hand, then leave.
            loop.add_signal_handler(sig, stop.set)
        await ConsumerRunner().run(stop)
