"""The webhook sender (`service.webhooks.sender`) as a background loop.

Each pass claims as many due deliveries as there is room for and sends each in a task of
its own, so a slow endpoint holds up only its own request, never the others'. With every
slot taken, the pass ends; the first request to finish wakes the loop for the next.
"""

from __future__ import annotations

import asyncio
import logging

from projections.deliveries.view import PENDING, DeliveryRow, Outcome
from service.webhooks.sender import Sender
from service.workers.waker import Waker, until_due

log = logging.getLogger(__name__)


class SendingLoop:
    name = "sender"

    def __init__(self, sender: Sender, *, concurrency: int = 32, interval: float = 5.0) -> None:
        self.sender, self.concurrency, self.longest = sender, concurrency, interval
        self.waker = Waker()
        self.interval = interval  # until the next delivery is due, as the last pass saw it
        self._in_flight: set[asyncio.Task[Outcome | None]] = set()

    def wake(self) -> None:
        """Thread-safe: look for due deliveries now."""
        self.waker.wake()

    async def start(self) -> None:
        pass

    async def run_once(self) -> int:
        """Start sending what is due, as far as there is room; how many were started."""
        started = 0
        while (room := self.concurrency - len(self._in_flight)) > 0:
            claimed = await self.sender.claim(min(room, self.sender.batch))
            for delivery, token in claimed:
                task = asyncio.create_task(self._send(delivery, token))
                self._in_flight.add(task)
                task.add_done_callback(self._finished)
            if not claimed:
                break
            started += len(claimed)
        # With every slot taken, the first request to finish wakes the loop (`_finished`).
        due = await self.sender.next_due()
        self.interval = until_due(due, self.sender.clock(), self.longest)
        return started

    async def stop(self) -> None:
        """Abandon the requests in flight: their leases lapse and they are sent again."""
        for task in self._in_flight:
            task.cancel()
        await asyncio.gather(*self._in_flight, return_exceptions=True)

    def _finished(self, task: asyncio.Task[Outcome | None]) -> None:
        self._in_flight.discard(task)
        if len(self._in_flight) == self.concurrency - 1:  # a slot opened in a full pool
            self.wake()
        elif not task.cancelled() and (outcome := task.result()) and outcome.status == PENDING:
            self.wake()  # a retry is scheduled: the loop's sleep must end by its time

    async def _send(self, delivery: DeliveryRow, token: str) -> Outcome | None:
        try:
            return await self.sender.deliver(delivery, token)
        except Exception:  # the lease lapses and the delivery is retried
            log.exception("delivery %s failed unexpectedly", delivery.delivery_id)
            return None
