"""The MiniMax emulator's callbacks: the challenge handshake, then unsigned status pushes, as
unreliably as the `webhook_*` knobs say (loss, duplicates, delay, reordering).

MiniMax first POSTs `{"challenge": "<random>"}` to a task's `callback_url` and expects the same
`{"challenge": …}` back within 3 s; a URL that fails the handshake gets no callbacks for that
task. MiniMax's retry policy for failed pushes is undocumented: the emulator does not retry
(unverified). `service.sandbox.emulators.minimax` re-exports the public names.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import secrets

import httpx

from service.sandbox.emulators.knobs import Knobs
from service.sandbox.emulators.minimax_rules import Json

CHALLENGE_TIMEOUT = 3.0  # seconds MiniMax waits for the challenge echo
REORDER_HOLD = 1.0  # a held-back push goes out after this long if no other one overtakes it
Delivery = tuple[str, bytes, int]  # url, body, copies


class CallbackSender:
    """Verifies callback URLs and posts status pushes to them."""

    def __init__(
        self, knobs: Knobs, http: httpx.AsyncClient | None, challenge_timeout: float
    ) -> None:
        self.knobs, self.challenge_timeout = knobs, challenge_timeout
        self.http, self._own_http = http, http is None
        self._parked: Delivery | None = None
        self.challenges: list[tuple[str, str, bool]] = []  # url, challenge, passed?

    async def aclose(self) -> None:
        """Close the HTTP client, unless the caller supplied it."""
        if self._own_http and self.http is not None:
            await self.http.aclose()

    async def verify(self, url: str) -> bool:
        """The challenge handshake: whether `url` echoed our challenge in time."""
        self.http = self.http or httpx.AsyncClient()
        challenge, passed = secrets.token_urlsafe(24), False
        with contextlib.suppress(httpx.HTTPError, TimeoutError, ValueError):
            async with asyncio.timeout(self.challenge_timeout):
                answer = await self.http.post(
                    url, json={"challenge": challenge}, timeout=self.challenge_timeout
                )
            echoed = answer.json() if answer.is_success else None
            passed = isinstance(echoed, dict) and echoed.get("challenge") == challenge
        self.challenges.append((url, challenge, passed))
        return passed

    async def deliver(self, url: str, body: Json) -> None:
        """Post one status push (`{task_id, status, file_id, base_resp}`), unsigned."""
        knobs = self.knobs
        if knobs.chance(knobs.webhook_loss):
            return
        copies = 2 if knobs.chance(knobs.webhook_duplicate) else 1
        if knobs.webhook_delay > 0:
            await asyncio.sleep(knobs.webhook_delay)
        delivery = (url, json.dumps(body).encode(), copies)
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

    async def _post(self, url: str, body: bytes, copies: int) -> None:
        self.http = self.http or httpx.AsyncClient()
        headers = {"Content-Type": "application/json"}
        for _ in range(copies):
            with contextlib.suppress(httpx.HTTPError):
                await self.http.post(url, content=body, headers=headers, timeout=15)
