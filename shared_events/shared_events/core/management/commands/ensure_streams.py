"""`manage.py ensure_streams`: create or update the JetStream streams this service produces
(idempotent). Another producer's stream is that producer's to make (its NATS permissions)."""

import asyncio

from django.core.management.base import BaseCommand

from shared_events.core import conf
from shared_events.core.transport.connection import connect
from shared_events.core.transport.streams import ensure_stream, stream_spec, stream_state


class Command(BaseCommand):
    help = "Create this service's JetStream streams if missing, and bring their limits in line."

    def handle(self, *args, **options):
        asyncio.run(self._run())

    async def _run(self) -> None:
        nc = await connect(conf.get("NATS_URL"), name="ensure-streams")
        try:
            js = nc.jetstream()
            for spec in [stream_spec(p) for p in conf.get("PRODUCES")]:
                await ensure_stream(js, spec)
                state = await stream_state(js, spec.name)
                self.stdout.write(f"{spec.name}: {state}")
        finally:
            await nc.close()
