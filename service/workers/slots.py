"""Per-provider concurrency caps: which jobs hold a dispatch slot and which wait, in order.

A job holds a slot of its provider from the moment the dispatcher admits it (before its
intent is saved) until the job ends; a job over the cap waits (it stays `queued`, nothing is
appended) and is admitted, first submitted first, when a job of its provider ends. Pure
bookkeeping: the dispatcher feeds it the event log in order and rebuilds it from the store
each time it takes the lead (`seed_slots`), so the counts survive restarts.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Mapping
from typing import NamedTuple, Protocol
from uuid import UUID

from events.job import Job
from projections.inflight.view import InflightRow

log = logging.getLogger(__name__)
CATCH_UP_TIMEOUT = 60.0


class ProviderSlots:
    def __init__(self, caps: Mapping[str, int]) -> None:
        self.caps = dict(caps)
        self._holding: dict[str, set[UUID]] = {name: set() for name in caps}
        # Dicts keep insertion order: a FIFO with O(1) removal (a waiting job canceled).
        self._waiting: dict[str, dict[UUID, None]] = {name: {} for name in caps}
        self._provider_of: dict[UUID, str] = {}

    def capped(self, provider: str) -> bool:
        return provider in self.caps

    def holds(self, job_id: UUID) -> bool:
        provider = self._provider_of.get(job_id)
        return provider is not None and job_id in self._holding[provider]

    def knows(self, job_id: UUID) -> bool:
        return job_id in self._provider_of

    def hold(self, provider: str, job_id: UUID) -> None:
        """`job_id` holds a slot already (it was intended or dispatched), even over the cap
        (a lowered cap, at restart: the next admissions wait until it is met again)."""
        self._forget(job_id)
        self._holding[provider].add(job_id)
        self._provider_of[job_id] = provider

    def queue(self, provider: str, job_id: UUID) -> bool:
        """Put `job_id` at the back of its provider's line; False if it is known already."""
        if job_id in self._provider_of:
            return False
        self._waiting[provider][job_id] = None
        self._provider_of[job_id] = provider
        return True

    def release(self, job_id: UUID) -> None:
        """The job ended (or left the line): its slot or its place is free."""
        self._forget(job_id)

    def admit(self) -> list[UUID]:
        """Move waiting jobs into free slots, oldest first; the jobs admitted."""
        admitted = []
        for provider, cap in self.caps.items():
            holding, waiting = self._holding[provider], self._waiting[provider]
            while waiting and len(holding) < cap:
                job_id = next(iter(waiting))
                del waiting[job_id]
                holding.add(job_id)
                admitted.append(job_id)
        return admitted

    def counts(self) -> dict[str, tuple[int, int]]:
        """Per capped provider: (jobs holding a slot, jobs waiting)."""
        return {p: (len(self._holding[p]), len(self._waiting[p])) for p in self.caps}

    def clear(self) -> None:
        for provider in self.caps:
            self._holding[provider].clear()
            self._waiting[provider].clear()
        self._provider_of.clear()

    def _forget(self, job_id: UUID) -> None:
        provider = self._provider_of.pop(job_id, None)
        if provider is not None:
            self._holding[provider].discard(job_id)
            self._waiting[provider].pop(job_id, None)


class Backlog(Protocol):
    """Where the slots are rebuilt from: the `inflight` view, its position in the log and
    whether it has caught up with the log."""

    def caught_up(self) -> bool: ...

    def position(self) -> int: ...

    def unfinished(self, provider: str) -> list[InflightRow]: ...


class Seed(NamedTuple):
    position: int  # the log position the slots reflect: later submissions are to be queued
    intended: list[UUID]  # jobs holding a slot with an intent and no `Dispatched`: reconcile


async def seed_slots(
    slots: ProviderSlots, backlog: Backlog, find_job: Callable[[UUID], Job | None]
) -> Seed:
    """Rebuild `slots` from the store. Each unfinished job of a capped provider holds a slot
    if it was dispatched or intended (an intent without `Dispatched` may have reached the
    upstream), else waits in submit order. The view is read once it has caught up with the
    log, so it lists every job the dispatcher's own (earlier) position has passed."""
    slots.clear()
    if not slots.caps:
        return Seed(0, [])
    await _wait_caught_up(backlog)
    position, intended = await asyncio.to_thread(backlog.position), []
    for provider in slots.caps:
        for row in await asyncio.to_thread(backlog.unfinished, provider):
            if row.upstream_id is not None:
                slots.hold(provider, row.job_id)
                continue
            job = await asyncio.to_thread(find_job, row.job_id)
            if job is None or job.is_terminal:
                continue
            if job.is_dispatched:  # the view has not seen its `Dispatched` yet
                slots.hold(provider, row.job_id)
            elif job.pending_attempt is not None:
                slots.hold(provider, row.job_id)
                intended.append(row.job_id)
            else:
                slots.queue(provider, row.job_id)
    return Seed(position, intended)


async def _wait_caught_up(backlog: Backlog) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + CATCH_UP_TIMEOUT
    while not await asyncio.to_thread(backlog.caught_up):
        if loop.time() > deadline:
            log.warning("inflight view still catching up; counting provider slots anyway")
            return
        await asyncio.sleep(0.05)
