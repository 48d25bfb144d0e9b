"""A projection's `Follower` (`projections.follower`) as a background loop.

The event store and the views are synchronous, so each loop's passes run on a thread of
its own, one pass at a time; a slow view holds up only itself. The `Follower` stays free
of asyncio (and of `service`): this adapter is the only place the two meet.
"""

from __future__ import annotations

import asyncio
from concurrent.futures import ThreadPoolExecutor

from projections.follower import Follower
from service.workers.waker import Waker


class ProjectionLoop:
    def __init__(self, name: str, follower: Follower) -> None:
        self.name, self.follower, self.interval = name, follower, follower.interval
        self.waker = Waker()
        self._thread: ThreadPoolExecutor | None = None

    def wake(self) -> None:
        self.waker.wake()

    async def start(self) -> None:
        self._thread = ThreadPoolExecutor(1, thread_name_prefix=self.name)

    async def run_once(self) -> int:
        """Handle every event recorded so far (on the loop's thread); how many were handled."""
        assert self._thread is not None, "start() first"
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._thread, self.follower.run_once)

    async def stop(self) -> None:
        thread, self._thread = self._thread, None
        if thread is not None:
            await asyncio.to_thread(thread.shutdown)
        self.follower.close()
