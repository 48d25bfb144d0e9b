"""The fal emulator's webhooks: fal's body and ED25519 signature, fal's retries, and the
`webhook_*` knobs (loss, duplicates, delay, reordering). `service.sandbox.emulators.fal` re-exports
the public names.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
from collections.abc import Callable, Sequence

import httpx
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from service.sandbox.emulators.fal_protocol import Json
from service.sandbox.emulators.knobs import Knobs

REORDER_HOLD = 1.0  # a held-back webhook goes out after this long if no other one overtakes it
RETRY_DELAYS = (10.0, 30.0, 60.0, 300.0, 600.0, 900.0, 1200.0, 1200.0, 1200.0, 1200.0)  # ~2 h
Delivery = tuple[str, bytes, dict[str, str], int]  # url, body, headers, copies


def webhook_body(request_id: str, outcome: tuple[int, Json]) -> bytes:
    """What fal posts when a request finishes: status OK with the result, or ERROR."""
    code, payload = outcome
    body: Json = {"request_id": request_id, "gateway_request_id": request_id}
    if code < 400:
        body.update(status="OK", payload=payload)
    else:
        body.update(status="ERROR", error=f"Invalid status code: {code}", payload=payload)
    return json.dumps(body).encode()


class WebhookSender:
    """Signs and posts webhooks as fal does, as unreliably as the knobs say."""

    def __init__(
        self,
        knobs: Knobs,
        user_id: str,
        signing_key: Ed25519PrivateKey,
        clock: Callable[[], float],
        http: httpx.AsyncClient | None,
        retry_delays: Sequence[float],
    ) -> None:
        self.knobs, self.user_id, self.key, self.clock = knobs, user_id, signing_key, clock
        self.retry_delays = tuple(retry_delays)
        self.http, self._own_http = http, http is None
        self._parked: Delivery | None = None

    async def aclose(self) -> None:
        """Close the HTTP client, unless the caller supplied it."""
        if self._own_http and self.http is not None:
            await self.http.aclose()

    async def deliver(self, request_id: str, url: str, outcome: tuple[int, Json]) -> None:
        """Post the webhook for a finished request (its result's HTTP status and body)."""
        raw, knobs = webhook_body(request_id, outcome), self.knobs
        if knobs.chance(knobs.webhook_loss):
            return
        copies = 2 if knobs.chance(knobs.webhook_duplicate) else 1
        if knobs.webhook_delay > 0:
            await asyncio.sleep(knobs.webhook_delay)
        delivery = (url, raw, self.sign(request_id, raw), copies)
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

    async def _post(self, url: str, body: bytes, headers: dict[str, str], copies: int) -> None:
        """Post `copies` copies, retrying on fal's schedule until one is answered with a 2xx."""
        self.http = self.http or httpx.AsyncClient()
        for delay in (0.0, *self.retry_delays):  # fal retries 10 times over ~2 h, freshly signed
            if delay:
                await asyncio.sleep(delay)
                headers = self.sign(headers["X-Fal-Webhook-Request-Id"], body)
            with contextlib.suppress(httpx.HTTPError):
                answers = [
                    await self.http.post(url, content=body, headers=headers, timeout=15)
                    for _ in range(copies)
                ]
                if any(answer.is_success for answer in answers):
                    return

    def sign(self, request_id: str, body: bytes) -> dict[str, str]:
        """fal's webhook headers: ED25519 over request id, user id, timestamp, body sha256."""
        stamp = str(int(self.clock()))
        digest = hashlib.sha256(body).hexdigest()
        message = "\n".join((request_id, self.user_id, stamp, digest)).encode()
        return {
            "Content-Type": "application/json",
            "X-Fal-Webhook-Request-Id": request_id,
            "X-Fal-Webhook-User-Id": self.user_id,
            "X-Fal-Webhook-Timestamp": stamp,
            "X-Fal-Webhook-Signature": self.key.sign(message).hex(),
        }
