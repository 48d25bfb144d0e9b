"""Follows the event log for some topics and hands each job id to an async handler.

Its position is tracked in its own tracking table, so work recorded just before a crash
is picked up after the restart. Handlers must be idempotent: after a crash between
handling and saving the position, a batch is handled again.
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
        self.waker = Waker()

    def wake(self) -> None:
        """Thread-safe: look for new events now."""
        self.waker.wake()

    async def start(self) -> None:
        pass

    async def stop(self) -> None:
        pass  # its tracking outlives it: a dispatcher stops and starts with its leadership

    async def run_once(self) -> int:
        """Handle every matching event recorded so far; return how many were seen."""
        seen = 0
        while True:
            position = await asyncio.to_thread(self.tracking.max_tracking_id, self.gateway.name)
            notifications = await asyncio.to_thread(
                self.gateway.recorder.select_notifications,
                start=position or 0,
                limit=BATCH,
                topics=self._topics,
                inclusive_of_start=False,
            )
            if not notifications:
                return seen
            await self.handle_batch(notifications)
            last = Tracking(self.gateway.name, notifications[-1].id)
            await asyncio.to_thread(self.tracking.insert_tracking, last)
            seen += len(notifications)

    async def _handle_each(self, notifications: Sequence[Notification]) -> None:
        await asyncio.gather(*(self.handle(UUID(str(n.originator_id))) for n in notifications))
