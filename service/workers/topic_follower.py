"""Follows the event log for some topics and hands each job id to an async handler.

Its position is tracked in its own tracking table, so work recorded just before a crash
is picked up after the restart. Handlers must be idempotent: after a crash between
handling and saving the position, a batch is handled again.

The tracking table holds the last event *handled*; how far the log was *read* is kept in
memory too. Without it, a follower whose topics are rare (the canceler follows only
`Canceled`) re-read the log from its last handled event, at worst the start, on every poll:
idle CPU grew with the history (a 10-minute soak doubled it). Reading up to the log's head
as seen before the query is safe: both stores commit events in position order (SQLite has
one writer; eventsourcing's PostgreSQL recorder locks the table for each append).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from uuid import UUID

from eventsourcing.persistence import Notification, Tracking, TrackingRecorder
from eventsourcing.utils import get_topic

from events.app import Gateway
from service.workers.waker import Waker

BATCH = 100


class TopicFollower:
    """A background loop (`service.workers.loop`) over the events of some topics."""

    def __init__(
        self,
        gateway: Gateway,
        tracking: TrackingRecorder,
        topics: Sequence[type],
        handle: Callable[[UUID], Awaitable[None]],
        *,
        interval: float = 0.05,
        name: str = "follower",
        handle_batch: Callable[[Sequence[Notification]], Awaitable[None]] | None = None,
    ) -> None:
        """Each batch goes to `handle_batch` when given (it sees topics and order), else
        each job id to `handle`, all at once."""
        self.gateway, self.tracking, self.handle = gateway, tracking, handle
        self.handle_batch = handle_batch or self._handle_each
        self.interval, self.name = interval, name
        self._topics = [get_topic(topic) for topic in topics]
        self._read_to = 0  # no event of our topics up to here (this process's knowledge)
        self.waker = Waker()

    def wake(self) -> None:
        """Thread-safe: look for new events now."""
        self.waker.wake()

    def position(self) -> int:
        """How far the log is handled or known to hold nothing of our topics (sync)."""
        return max(self.tracking.max_tracking_id(self.gateway.name) or 0, self._read_to)

    async def start(self) -> None:
        pass

    async def stop(self) -> None:
        pass  # its tracking outlives it: a dispatcher stops and starts with its leadership

    async def run_once(self) -> int:
        """Handle every matching event recorded so far; return how many were seen."""
        seen = 0
        while True:
            tracked = await asyncio.to_thread(self.tracking.max_tracking_id, self.gateway.name)
            head = await asyncio.to_thread(self.gateway.recorder.max_notification_id) or 0
            start = max(tracked or 0, self._read_to)
            if start >= head:
                return seen
            notifications = await asyncio.to_thread(
                self.gateway.recorder.select_notifications,
                start=start,
                limit=BATCH,
                stop=head,
                topics=self._topics,
                inclusive_of_start=False,
            )
            if not notifications:
                self._read_to = head
                return seen
            await self.handle_batch(notifications)
            last = Tracking(self.gateway.name, notifications[-1].id)
            await asyncio.to_thread(self.tracking.insert_tracking, last)
            seen += len(notifications)
            if len(notifications) < BATCH:  # handled and saved: the rest up to `head` is read
                self._read_to = head

    async def _handle_each(self, notifications: Sequence[Notification]) -> None:
        await asyncio.gather(*(self.handle(UUID(str(n.originator_id))) for n in notifications))
