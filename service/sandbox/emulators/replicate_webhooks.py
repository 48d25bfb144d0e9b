"""The Replicate emulator's webhooks: the prediction object, Standard Webhooks signatures
(`service.webhooks.signing`), Replicate's retries (the terminal event only, for about a
minute) and the `webhook_*` knobs (loss, duplicates, delay, reordering).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import Callable, Sequence

import httpx

from service.sandbox.emulators.knobs import Knobs
from service.sandbox.emulators.replicate_protocol import Json
from service.webhooks.signing import sign

REORDER_HOLD = 1.0  # a held-back webhook goes out after this long if no other one overtakes it
RETRY_DELAYS = (2.0, 4.0, 8.0, 16.0, 30.0)  # terminal events only: about a minute in all
Delivery = tuple[str, str, bytes, int, bool]  # url, message id, body, copies, terminal


class WebhookSender:
    """Signs and posts webhooks as Replicate does, as unreliably as the knobs say."""

    def __init__(
        self,
        knobs: Knobs,
        key: bytes,
        clock: Callable[[], float],
        http: httpx.AsyncClient | None,
        retry_delays: Sequence[float],
    ) -> None:
        self.knobs, self.key, self.clock = knobs, key, clock
        self.retry_delays = tuple(retry_delays)
        self.http, self._own_http = http, http is None
        self._parked: Delivery | None = None
        self._sent = 0

    async def aclose(self) -> None:
        """Close the HTTP client, unless the caller supplied it."""
        if self._own_http and self.http is not None:
            await self.http.aclose()

    async def deliver(self, url: str, prediction: Json, terminal: bool) -> None:
        """Post one event (the prediction as it is now) to `url`."""
        self._sent += 1
        msg_id = f"msg_{prediction['id']}_{self._sent}"
        body, knobs = json.dumps(prediction).encode(), self.knobs
        if knobs.chance(knobs.webhook_loss):
            return
        copies = 2 if knobs.chance(knobs.webhook_duplicate) else 1
        if knobs.webhook_delay > 0:
            await asyncio.sleep(knobs.webhook_delay)
        delivery = (url, msg_id, body, copies, terminal)
        if self._parked is None and knobs.chance(knobs.webhook_reorder):
            await self._hold(delivery)
            return
        await self._post(*delivery)
        parked, self._parked = self._parked, None
        if parked is not None:
            await self._post(*parked)

    async def _hold(self, delivery: Delivery) -> None:
        """Park `delivery` until the next one overtakes it, or for REORDER_HOLD at most."""
        self._parked = delivery
        await asyncio.sleep(REORDER_HOLD)
        if self._parked is delivery:  # nothing overtook it in time
            self._parked = None
            await self._post(*delivery)

    async def _post(self, url: str, msg_id: str, body: bytes, copies: int, terminal: bool) -> None:
        """Post `copies` copies; a terminal event is retried (freshly signed, same message id)
        until one is answered with a 2xx."""
        self.http = self.http or httpx.AsyncClient()
        for delay in (0.0, *(self.retry_delays if terminal else ())):
            if delay:
                await asyncio.sleep(delay)
            headers = self.headers(msg_id, body)
            with contextlib.suppress(httpx.HTTPError):
                answers = [
                    await self.http.post(url, content=body, headers=headers, timeout=15)
                    for _ in range(copies)
                ]
                if any(answer.is_success for answer in answers):
                    return

    def headers(self, msg_id: str, body: bytes) -> dict[str, str]:
        """Standard Webhooks headers for `body`, signed now."""
        stamp = int(self.clock())
        return {
            "Content-Type": "application/json",
            "webhook-id": msg_id,
            "webhook-timestamp": str(stamp),
            "webhook-signature": sign(msg_id, stamp, body, [self.key]),
        }
