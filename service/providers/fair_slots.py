"""Render slots shared round-robin by tenant.

A plain semaphore serves waiters first come, first served: a tenant that queues 50 renders
keeps another tenant's one render waiting behind all 50. Here each tenant waits in a line
of its own, and a freed slot goes to the next tenant in turn (the one that was served
longest ago), which takes the oldest job of its line. A tenant with nothing waiting has no
turn; coming back, it joins the end of the round.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Generic, TypeVar

T = TypeVar("T")


class TenantQueue(Generic[T]):
    """Items waiting per tenant; `pop` serves the tenants in turn, each in arrival order."""

    def __init__(self) -> None:
        # A dict keeps insertion order: its first key is the tenant whose turn it is.
        self._lines: dict[str, deque[T]] = {}

    def __len__(self) -> int:
        return sum(len(line) for line in self._lines.values())

    def push(self, tenant: str, item: T) -> None:
        self._lines.setdefault(tenant, deque()).append(item)

    def pop(self) -> tuple[str, T] | None:
        """The next tenant's oldest item, or None when nothing waits."""
        if not self._lines:
            return None
        tenant = next(iter(self._lines))
        line = self._lines.pop(tenant)
        item = line.popleft()
        if line:
            self._lines[tenant] = line  # to the end of the round
        return tenant, item

    def remove(self, tenant: str, item: T) -> None:
        """Take a waiting item out (its waiter gave up); the tenant keeps its turn."""
        line = self._lines.get(tenant)
        if line is None or item not in line:
            return
        line.remove(item)
        if not line:
            del self._lines[tenant]


class FairSlots:
    """`size` slots; waiters are served round-robin by tenant (see `TenantQueue`)."""

    def __init__(self, size: int) -> None:
        self.size, self.free = size, size
        self._waiting: TenantQueue[asyncio.Future[None]] = TenantQueue()

    @property
    def waiting(self) -> int:
        return len(self._waiting)

    @asynccontextmanager
    async def slot(self, tenant: str) -> AsyncIterator[None]:
        """Hold one slot for the block (waiting for it in `tenant`'s line)."""
        await self._acquire(tenant)
        try:
            yield
        finally:
            self._release()

    async def _acquire(self, tenant: str) -> None:
        if self.free and not self._waiting:
            self.free -= 1
            return
        granted = asyncio.get_running_loop().create_future()
        self._waiting.push(tenant, granted)
        try:
            await granted
        except asyncio.CancelledError:
            if granted.done() and not granted.cancelled():
                self._release()  # handed a slot as it gave up: pass it on
            else:
                self._waiting.remove(tenant, granted)
            raise

    def _release(self) -> None:
        while (turn := self._waiting.pop()) is not None:
            _, granted = turn
            if not granted.done():
                granted.set_result(None)  # the slot passes straight to the waiter
                return
        self.free += 1
