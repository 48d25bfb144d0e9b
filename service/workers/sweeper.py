"""The sweeper: reconciles, at start-up and then every minute, what the followers missed.

At start-up every job not yet dispatched is handed to the dispatcher; later, a job submitted
but still not dispatched half a minute later (its dispatch failed in a way the dispatcher's
position does not show) is handed to the dispatcher again. Jobs of
providers under a concurrency cap are left alone: the dispatcher keeps their line (and
reconciles its own leftovers when it takes the lead), and a sweep must not wade through a
long line of waiting jobs to reach a stuck one. Jobs that went quiet upstream need nothing
here: every dispatched job is polled (after its first poll) at least every `PollPolicy.cap`
seconds, and after an outage overdue rows are claimed first.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Collection
from datetime import timedelta
from uuid import UUID

from projections.inflight.view import InflightView
from service.workers.poller import Clock, utc_now
from service.workers.waker import Waker

log = logging.getLogger(__name__)
UNDISPATCHED_AFTER = timedelta(seconds=30)
SWEEP_LIMIT = 100


class Sweeper:
    name = "sweeper"

    def __init__(
        self,
        view: InflightView,
        dispatch: Callable[[UUID], Awaitable[None]],
        *,
        clock: Clock = utc_now,
        interval: float = 60.0,
        capped: Collection[str] = (),
    ) -> None:
        self.view, self.dispatch, self.clock, self.interval = view, dispatch, clock, interval
        self.capped = tuple(capped)
        self._swept = False
        self.waker = Waker()  # nothing wakes it but stopping: it runs on a schedule

    def wake(self) -> None:
        self.waker.wake()

    async def start(self) -> None:
        pass

    async def run_once(self) -> int:
        """Dispatch what was submitted but never dispatched; how many jobs were handed over.
        The first pass (at start-up) takes every such job: a submit left by the process
        before this one awaits its outcome, and nobody else looks at it again."""
        older = self.clock() - (UNDISPATCHED_AFTER if self._swept else timedelta(0))
        self._swept = True
        rows = await asyncio.to_thread(self.view.undispatched, older, SWEEP_LIMIT, skip=self.capped)
        for row in rows:
            log.info("sweep: dispatching %s, submitted but never dispatched", row.job_id)
            await self.dispatch(row.job_id)
        return len(rows)

    async def stop(self) -> None:
        pass
