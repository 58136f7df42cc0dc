"""A real consumer process of the test project, for the tests that run several side by side:
`python -m tests.consumer_process '<json>'`, the JSON holding the test's database settings
(`database`) and SHARED_EVENTS overrides (`shared_events`). SIGTERM stops it cleanly, as
`manage.py consume_events`."""

import asyncio
import json
import logging
import os
import signal
import sys


def main() -> None:
    options = json.loads(sys.argv[1])
    os.environ["DJANGO_SETTINGS_MODULE"] = "tests.settings"
    from django.conf import settings

    # Before django.setup(): no connection has read the settings yet.
    settings.DATABASES["default"].update(options["database"])
    settings.SHARED_EVENTS = {**settings.SHARED_EVENTS, **options["shared_events"]}
    import django

    django.setup()
    from shared_events.core.consumer.runner import ConsumerRunner

    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")

    async def run() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stop.set)
        await ConsumerRunner().run(stop)

    asyncio.run(run())


if __name__ == "__main__":
    main()
