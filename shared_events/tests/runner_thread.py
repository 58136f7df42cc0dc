"""Running the real consumer runner in a background thread of the test process."""

import asyncio
import threading

from shared_events.core.consumer.runner import ConsumerRunner


class RunnerThread:
    def __init__(self) -> None:
        self.runner = ConsumerRunner()
        self._loop = asyncio.new_event_loop()
        self._stop: asyncio.Event | None = None
        self._thread = threading.Thread(target=self._main, daemon=True)
        self._ready = threading.Event()

    def _main(self) -> None:
        asyncio.set_event_loop(self._loop)

        async def go() -> None:
            self._stop = asyncio.Event()
            self._ready.set()
            await self.runner.run(self._stop)

        self._loop.run_until_complete(go())

    def __enter__(self) -> "RunnerThread":
        self._thread.start()
        self._ready.wait(5)
        return self

    def __exit__(self, *exc) -> None:
        self._loop.call_soon_threadsafe(self._stop.set)
        self._thread.join(15)
        assert not self._thread.is_alive(), "the consumer did not stop"
