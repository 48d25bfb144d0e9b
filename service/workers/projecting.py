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
    def __init__(self, name: str, follower: Follower, *, shared: bool = False) -> None:
        """`shared`: runners in other worker processes write the same view, and a pass
        counts as work when the view moved on, by this runner or another (so the loops this
        one wakes react to changes any worker projected, not only its own)."""
        self.name, self.follower, self.interval = name, follower, follower.interval
        self.shared = shared
        self.waker = Waker()
        self._thread: ThreadPoolExecutor | None = None
        self._position = -1
        self._read_to = 0  # the log's head before the last pass that ran to its end

    def position(self) -> int:
        """How far the log is handled, or read and found to hold nothing for the view (sync:
        the backlog's measure, see `Workers.backlog`)."""
        return max(self.follower.position, self._read_to)

    def wake(self) -> None:
        self.waker.wake()

    async def start(self) -> None:
        self.follower.halting.clear()
        self._thread = ThreadPoolExecutor(1, thread_name_prefix=self.name)

    async def run_once(self) -> int:
        """Handle every event recorded so far (on the loop's thread); how many were handled."""
        assert self._thread is not None, "start() first"
        loop = asyncio.get_running_loop()
        head, handled = await loop.run_in_executor(self._thread, self._pass)
        if not self.follower.halting.is_set():
            self._read_to = head
        if not self.shared or handled:
            return handled
        position = await loop.run_in_executor(self._thread, lambda: self.follower.position)
        moved, self._position = position != self._position, position
        return int(moved)

    def _pass(self) -> tuple[int, int]:
        """The log's head, then every event recorded so far handled (how many)."""
        head = self.follower.app.recorder.max_notification_id() or 0
        return head, self.follower.run_once()

    async def stop(self) -> None:
        # A pass catching up on a long backlog ends after its page, not at the log's head.
        self.follower.halting.set()
        thread, self._thread = self._thread, None
        if thread is not None:
            await asyncio.to_thread(thread.shutdown)
        self.follower.close()
