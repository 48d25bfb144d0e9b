"""The poller (`service.workers.poller`) as a background loop.

Woken when the `inflight` view changes; otherwise it looks for due jobs every `interval`
seconds (a poll comes due with time, not with an event).
"""

from __future__ import annotations

from service.workers.poller import Poller
from service.workers.waker import Waker


class PollingLoop:
    name = "poller"

    def __init__(self, poller: Poller, *, interval: float = 0.25) -> None:
        self.poller, self.interval = poller, interval
        self.waker = Waker()

    def wake(self) -> None:
        self.waker.wake()

    async def start(self) -> None:
        pass

    async def run_once(self) -> int:
        """Poll batch after batch while batches come back full; how many jobs were polled."""
        polled = 0
        while (claimed := await self.poller.run_once()) == self.poller.batch:
            polled += claimed
        return polled + claimed

    async def stop(self) -> None:
        pass
