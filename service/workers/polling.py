"""The poller (`service.workers.poller`) as a background loop.

Woken when the `inflight` view changes; otherwise it sleeps until the soonest poll comes due
(a poll comes due with time, not with an event), at most `interval` seconds.
"""

from __future__ import annotations

from service.workers.poller import Poller
from service.workers.waker import Waker, until_due


class PollingLoop:
    name = "poller"

    def __init__(self, poller: Poller, *, interval: float = 5.0) -> None:
        self.poller, self.longest = poller, interval
        self.waker = Waker()
        self.interval = interval  # until the next poll is due, as the last pass saw it

    def wake(self) -> None:
        self.waker.wake()

    async def start(self) -> None:
        pass

    async def run_once(self) -> int:
        """Poll batch after batch while batches come back full; how many jobs were polled."""
        polled = 0
        while (claimed := await self.poller.run_once()) == self.poller.batch:
            polled += claimed
        self.interval = until_due(await self.poller.next_due(), self.poller.clock(), self.longest)
        return polled + claimed

    async def stop(self) -> None:
        pass
