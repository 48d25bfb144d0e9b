"""One shape for every background loop, and the runner that drives any of them.

A loop has a name, an interval and four verbs: `start` (before its first pass), `wake`
(thread-safe: there may be work, look now), `run_once` (one pass over the work that is
due; returns how much it did) and `stop` (after its last pass). The `Runner` drives each
loop on a task of its own, always the same way: a pass, then a wait until the loop is
woken or its interval passes. A pass that fails is logged and retried after a pause (a
store blip must not stop the work for good).

Stopping is bounded (SIGTERM ≤ 2 s with any backlog): the passes in progress get `grace`
seconds to finish, then they are cancelled where they wait. That is safe because every loop
records its progress in the store only after the work it stands for (a follower's
position after its batch, a dispatch after its intent, a delivery's lease until it is
marked sent): whatever a cancelled pass did not record is done again after a restart. The
dispatcher makes no new upstream call once told to stop (`Dispatcher.halt`), so a cut
submit is rare, and reconciled from its intent when it happens.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Sequence
from typing import Protocol

from service.workers.waker import Waker

log = logging.getLogger(__name__)
RETRY_AFTER = 1.0  # seconds between a failed pass and the next
STOP_GRACE = 0.5  # seconds the passes in progress get to finish when the loops stop


class Loop(Protocol):
    @property
    def name(self) -> str: ...

    @property
    def interval(self) -> float:
        """Seconds between passes when nothing wakes the loop."""

    @property
    def waker(self) -> Waker:
        """What the runner waits on between passes; `wake()` sets it (or a led loop's)."""

    async def start(self) -> None: ...

    def wake(self) -> None: ...

    async def run_once(self) -> int: ...

    async def stop(self) -> None: ...


class Runner:
    """Drives loops: they start in the given order and stop in the reverse order."""

    def __init__(
        self,
        loops: Sequence[Loop],
        *,
        retry_after: float = RETRY_AFTER,
        grace: float = STOP_GRACE,
    ) -> None:
        self.loops = tuple(loops)
        self.retry_after, self.grace = retry_after, grace
        self._after_work: dict[str, list[Callable[[], None]]] = {}
        self._stopping = asyncio.Event()
        self._tasks: list[asyncio.Task[None]] = []

    @property
    def running(self) -> bool:
        return bool(self._tasks)

    def after_work(self, name: str, callback: Callable[[], None]) -> None:
        """Call `callback` after each pass of the loop `name` that did some work."""
        self._after_work.setdefault(name, []).append(callback)

    def wake(self) -> None:
        """Wake every loop (thread-safe)."""
        for loop in self.loops:
            loop.wake()

    async def start(self) -> None:
        self._stopping.clear()
        for loop in self.loops:
            loop.waker.bind()
            await loop.start()
            self._tasks.append(asyncio.create_task(self._drive(loop), name=loop.name))

    async def stop(self) -> None:
        """Give the passes in progress `grace` seconds, cancel those still running, then stop
        each loop, the last started first."""
        self._stopping.set()
        for loop in self.loops:
            loop.waker.wake()
        if self._tasks:
            _, late = await asyncio.wait(self._tasks, timeout=self.grace)
            for task in late:
                log.info("stopping %s: its pass is cut short", task.get_name())
                task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        self._tasks.clear()
        for loop in reversed(self.loops):
            try:
                await loop.stop()
            except Exception:  # the others must still stop
                log.exception("stopping %s failed", loop.name)

    async def _drive(self, loop: Loop) -> None:
        while not self._stopping.is_set():
            try:
                if await loop.run_once():
                    for callback in self._after_work.get(loop.name, ()):
                        callback()
            except Exception:
                if self._stopping.is_set():
                    return  # e.g. the dispatcher refused to start a submit: nothing to retry
                log.exception("%s pass failed; retrying", loop.name)
                await self._pause(self.retry_after)
            if not self._stopping.is_set():
                await loop.waker.wait(loop.interval)

    async def _pause(self, seconds: float) -> None:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._stopping.wait(), seconds)
