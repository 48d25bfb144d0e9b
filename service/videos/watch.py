"""One watcher per process wakes the requests waiting on a job when that job has new events,
and the event streams of a tenant's feed when the feed has new entries for that tenant.

A request that holds until its job changes (a NovaKit long-poll or sync create, a Concurred
sync create, a download waiting for the stored copy) registers here and sleeps: it costs
nothing while it waits, and re-reads its job only when woken (or on its own timeout). The
watcher looks at the store for all of them at once: at once after a save in this process
(`Gateway.on_saved`), and every `interval` seconds for events other processes wrote, the
store's newest notification id first (one cheap query), then the job events after the last
one it saw. Nobody waiting: it sleeps too, and saves cost it nothing.

A feed stream (`GET /v1/events` as Server-Sent Events) waits on its tenant: the feed view is
written by its projection a little after the event, so the watcher reads the view's rows
after the last one it saw (one indexed query for every tenant at once, each interval while
such a stream is open) and wakes the streams of the tenants those rows belong to.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable, Hashable
from typing import TypeVar
from uuid import UUID

from eventsourcing.utils import get_topic

from events.app import Gateway
from events.job import Job
from projections.feed.view import FeedQuery, FeedView
from service.workers.waker import Waker

JOB_TOPICS = [
    get_topic(kind)
    for kind in vars(Job).values()
    if isinstance(kind, type) and issubclass(kind, Job.Event) and kind is not Job.Event
]
PAGE = 500
K = TypeVar("K", bound=Hashable)


class JobWatch:
    def __init__(
        self, gateway: Gateway, *, feed: FeedView | None = None, interval: float = 0.5
    ) -> None:
        self.gateway, self.feed, self.interval = gateway, feed, interval
        self.scans = 0  # how many times it looked at the store (for tests and /metrics)
        self._waiting: dict[UUID, set[asyncio.Event]] = {}
        self._tenants: dict[str, set[asyncio.Event]] = {}
        self._position: int | None = None  # None: nobody waits, nothing is followed
        self._feed_position: int | None = None  # likewise, for the feed's streams
        self._someone = asyncio.Event()
        self._waker = Waker()
        self._task: asyncio.Task[None] | None = None

    @property
    def waiting(self) -> int:
        """How many requests wait on a job or a tenant's feed right now."""
        waiters = [*self._waiting.values(), *self._tenants.values()]
        return sum(len(events) for events in waiters)

    async def start(self) -> None:
        self._waker.bind()
        self.gateway.on_saved(self._waker.wake)
        self._task = asyncio.create_task(self._run(), name="job-watch")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    def watching(self, job_id: UUID) -> contextlib.AbstractAsyncContextManager[asyncio.Event]:
        """An event set whenever `job_id` has new events, from now on. Read the job again
        after entering: what happened before is not told."""
        return self._watch(self._waiting, job_id, self._follow_jobs)

    def watching_tenant(self, tenant: str) -> contextlib.AbstractAsyncContextManager[asyncio.Event]:
        """An event set whenever the feed has new entries of `tenant`, from now on. Read the
        feed again after entering: what was there before is not told."""
        if self.feed is None:
            raise RuntimeError("this JobWatch was built without the feed view")
        return self._watch(self._tenants, tenant, self._follow_feed)

    @contextlib.asynccontextmanager
    async def _watch(
        self, waiting: dict[K, set[asyncio.Event]], key: K, follow: Callable[[], Awaitable[None]]
    ) -> AsyncIterator[asyncio.Event]:
        changed = asyncio.Event()
        waiting.setdefault(key, set()).add(changed)
        try:
            await follow()
            self._someone.set()
            yield changed
        finally:
            waiters = waiting.get(key, set())
            waiters.discard(changed)
            if not waiters:
                waiting.pop(key, None)

    async def _follow_jobs(self) -> None:
        if self._position is None:  # the first waiter: follow from the newest event
            latest = await asyncio.to_thread(self._latest)
            if self._position is None:
                self._position = latest

    async def _follow_feed(self) -> None:
        if self._feed_position is None:  # the first stream: follow from the newest entry
            latest = await asyncio.to_thread(self._feed_latest)
            if self._feed_position is None:
                self._feed_position = latest

    async def _run(self) -> None:
        while True:
            if not self._waiting:
                self._position = None
            if not self._tenants:
                self._feed_position = None
            if not self._waiting and not self._tenants:
                self._someone.clear()
                await self._someone.wait()
            await self._waker.wait(self.interval)
            if self._position is not None:  # None: every waiter left while this one slept
                self._position, jobs = await asyncio.to_thread(self._changes, self._position)
                _wake(self._waiting, jobs)
            if self._feed_position is not None:
                self._feed_position, tenants = await asyncio.to_thread(
                    self._feed_changes, self._feed_position
                )
                _wake(self._tenants, tenants)

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

    def _feed_latest(self) -> int:
        assert self.feed is not None
        return self.feed.max_tracking_id(self.gateway.name) or 0

    def _feed_changes(self, position: int) -> tuple[int, set[str]]:
        """The last feed position seen, and the tenants with entries after `position`."""
        assert self.feed is not None
        self.scans += 1
        tenants = set[str]()
        while True:
            query = FeedQuery(tenant=None, after=position, limit=PAGE)
            entries, more = self.feed.page(query)
            tenants.update(entry.tenant for entry in entries)
            position = entries[-1].position if entries else position
            if not more:
                return position, tenants


def _wake(waiting: dict[K, set[asyncio.Event]], keys: set[K]) -> None:
    for key in keys:
        for event in waiting.get(key, ()):
            event.set()
