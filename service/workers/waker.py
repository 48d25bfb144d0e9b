"""A thread-safe nudge for an asyncio loop: "there is work, look now"."""

from __future__ import annotations

import asyncio
import contextlib


class Waker:
    def __init__(self) -> None:
        self._event = asyncio.Event()
        self._loop: asyncio.AbstractEventLoop | None = None

    def bind(self) -> None:
        """Attach to the running loop (call from the task that waits)."""
        self._loop = asyncio.get_running_loop()

    def wake(self) -> None:
        """Safe from any thread, e.g. from the event store's save."""
        if self._loop is not None and not self._loop.is_closed():
            self._loop.call_soon_threadsafe(self._event.set)

    async def wait(self, seconds: float) -> None:
        """Until woken or `seconds` pass, whichever is first."""
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._event.wait(), seconds)
        self._event.clear()
