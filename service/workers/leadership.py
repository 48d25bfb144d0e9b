"""Loops that run only while this process holds the dispatcher lock (`service.workers.leader`,
SQLite's single worker; PostgreSQL workers claim jobs instead, `service.workers.claiming`).

Leadership is a loop itself. Without the lock, each pass tries to take it (every `retry`
seconds); on taking it, `on_lead` runs (the local renders a restart interrupted resume)
and then the led loops (the dispatcher) start. While leading, each pass checks (every
`check` seconds) that the lock is still held; if not, the led loops stop (their passes in
progress finish), `on_step_down` runs (the local renders stop), and this process tries to
take the lock again. Stopping the worker steps down, then lets go of the lock.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Sequence

from service.workers.leader import LeaderLock
from service.workers.loop import Loop, Runner
from service.workers.waker import Waker

log = logging.getLogger(__name__)
RETRY = 2.0  # seconds between attempts to take over dispatching
CHECK = 5.0  # seconds between checks that the leader still holds its lock


async def _nothing() -> None:
    pass


class Leadership:
    name = "leader"

    def __init__(
        self,
        lock: LeaderLock,
        loops: Sequence[Loop],
        *,
        on_lead: Callable[[], Awaitable[None]] = _nothing,
        on_step_down: Callable[[], Awaitable[None]] = _nothing,
        retry: float = RETRY,
        check: float = CHECK,
    ) -> None:
        self.lock, self.led = lock, Runner(loops)
        self.on_lead, self.on_step_down = on_lead, on_step_down
        self.retry, self.check = retry, check
        self.waker = Waker()  # only stopping wakes it: its passes keep their own time

    @property
    def leading(self) -> bool:
        return self.led.running

    @property
    def interval(self) -> float:
        return self.check if self.leading else self.retry

    def wake(self) -> None:
        """Wake the led loops (e.g. on new events); a follower of the lock needs no nudge."""
        self.led.wake()

    async def start(self) -> None:
        pass

    async def run_once(self) -> int:
        """Take the lock, or make sure it is still ours; 1 when this pass took it."""
        if not self.leading:
            return int(await self._take_the_lead())
        if not await asyncio.to_thread(self.lock.still_held):
            await self._step_down()
            log.warning(
                "lost the dispatcher lock (its database session ended): this "
                "worker stops dispatching until it takes the lock again"
            )
        return 0

    async def stop(self) -> None:
        await self._step_down()
        await asyncio.to_thread(self.lock.release)

    async def _take_the_lead(self) -> bool:
        try:
            acquired = await asyncio.to_thread(self.lock.try_acquire)
        except Exception as error:  # the store is unreachable: try again shortly
            log.warning("cannot take the dispatcher lock: %r", error)
            return False
        if acquired:
            log.info("this worker dispatches (it holds the dispatcher lock)")
            await self.on_lead()
            await self.led.start()
        return acquired

    async def _step_down(self) -> None:
        if self.leading:
            await self.led.stop()
        await self.on_step_down()
