"""A thread-safe nudge for an asyncio loop: "there is work, look now"."""

from __future__ import annotations

import asyncio
import contextlib
from datetime import datetime

SOONEST = 0.01  # seconds: work due now (e.g. under another worker's lease) is not a spin


class Waker:
    def __init__(self) -> None:
        self._event = asyncio.Event()
        self._loop: asyncio.AbstractEventLoop | None = None
        # A nudge is on its way or waiting: more are redundant. Every save wakes every
        # follower, so this spares the event loop most cross-thread calls under load.
        self._pending = False

    def bind(self) -> None:
        """Attach to the running loop (call from the task that waits)."""
        self._loop = asyncio.get_running_loop()
        self._pending = False  # a nudge sent to another loop may never have arrived

    def wake(self) -> None:
        """Safe from any thread, e.g. from the event store's save."""
        if self._pending or self._loop is None or self._loop.is_closed():
            return
        self._pending = True
        self._loop.call_soon_threadsafe(self._event.set)

    async def wait(self, seconds: float) -> None:
        """Until woken or `seconds` pass, whichever is first."""
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._event.wait(), seconds)
        # Cleared before the next pass starts: a wake skipped while this one was pending
        # came after its work was saved, so that pass sees the work.
        self._pending = False
        self._event.clear()


def until_due(due: datetime | float | None, now: datetime | float, longest: float) -> float:
    """Seconds to sleep until `due` (a datetime or unix seconds, like `now`), within
    [SOONEST, longest]; `longest` when nothing is due."""
    if due is None:
        return longest
    if isinstance(due, datetime) and isinstance(now, datetime):
        wait = (due - now).total_seconds()
    elif isinstance(due, float) and isinstance(now, float):
        wait = due - now
    else:
        raise TypeError(f"compare like with like: {due!r} and {now!r}")
    return min(max(wait, SOONEST), longest)
