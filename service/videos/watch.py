"""One watcher per process wakes the requests waiting on a job when that job has new events.

A request that holds until its job changes (a NovaKit long-poll or sync create, a Concurred
sync create, a download waiting for the stored copy) registers here and sleeps: it costs
nothing while it waits, and re-reads its job only when woken (or on its own timeout). The
watcher looks at the store for all of them at once: at once after a save in this process
(`Gateway.on_saved`), and every `interval` seconds for events other processes wrote, the
store's newest notification id first (one cheap query), then the job events after the last
one it saw. Nobody waiting: it sleeps too, and saves cost it nothing.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from uuid import UUID

from eventsourcing.utils import get_topic

from events.app import Gateway
from events.job import Job
from service.workers.waker import Waker

JOB_TOPICS = [
    get_topic(kind)
    for kind in vars(Job).values()
    if isinstance(kind, type) and issubclass(kind, Job.Event) and kind is not Job.Event
]
PAGE = 500


class JobWatch:
    def __init__(self, gateway: Gateway, *, interval: float = 0.5) -> None:
        self.gateway, self.interval = gateway, interval
        self.scans = 0  # how many times it looked at the store (for tests and /metrics)
        self._waiting: dict[UUID, set[asyncio.Event]] = {}
        self._position: int | None = None  # None: nobody waits, nothing is followed
        self._someone = asyncio.Event()
        self._waker = Waker()
        self._task: asyncio.Task[None] | None = None

    @property
    def waiting(self) -> int:
        """How many requests wait on a job right now."""
        return sum(len(events) for events in self._waiting.values())

    async def start(self) -> None:
        self._waker.bind()
        self.gateway.on_saved(self._waker.wake)
        self._task = asyncio.create_task(self._run(), name="job-watch")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    @contextlib.asynccontextmanager
    async def watching(self, job_id: UUID) -> AsyncIterator[asyncio.Event]:
        """An event set whenever `job_id` has new events, from now on. Read the job again
        after entering: what happened before is not told."""
        changed = asyncio.Event()
        self._waiting.setdefault(job_id, set()).add(changed)
        try:
            if self._position is None:  # the first waiter: follow from the newest event
                latest = await asyncio.to_thread(self._latest)
                if self._position is None:
                    self._position = latest
            self._someone.set()
            yield changed
        finally:
            waiters = self._waiting.get(job_id, set())
            waiters.discard(changed)
            if not waiters:
                self._waiting.pop(job_id, None)

    async def _run(self) -> None:
        while True:
            if not self._waiting:
                self._position = None
                self._someone.clear()
                await self._someone.wait()
            await self._waker.wait(self.interval)
            if self._position is None:
                continue  # every waiter left while this one slept
            self._position, changed = await asyncio.to_thread(self._changes, self._position)
            for job_id in changed:
                for event in self._waiting.get(job_id, ()):
                    event.set()

    def _latest(self) -> int:
        return self.gateway.recorder.max_notification_id() or 0

    def _changes(self, position: int) -> tuple[int, set[UUID]]:
        """The newest notification id, and the jobs with events after `position` up to it."""
        self.scans += 1
        latest, changed = self._latest(), set[UUID]()
        while position < latest:
            page = self.gateway.recorder.select_notifications(
                start=position,
                limit=PAGE,
                stop=latest,
                topics=JOB_TOPICS,
                inclusive_of_start=False,
            )
            changed.update(UUID(str(notification.originator_id)) for notification in page)
            if len(page) < PAGE:
                break
            position = page[-1].id
        return latest, changed
