"""The webhook sender: claims due deliveries, POSTs them signed, records every attempt.

Standard Webhooks on the wire (`webhook-id` stable across attempts, `webhook-timestamp`
per attempt, one `v1,` signature per active secret). A claim is a lease longer than the
request timeout, so a crashed sender's deliveries are simply claimed again: at least once.
(`service.workers.sending` runs it as a background loop.)
"""

from __future__ import annotations

import asyncio
import logging
import random
import secrets
import time
from collections.abc import Callable
from uuid import UUID

import httpx

from events.app import Gateway
from projections.deliveries.store import SQLDeliveriesView
from projections.deliveries.view import AttemptRow, DeliveryRow, Outcome
from service.webhooks.policy import AttemptResult, decide, should_disable
from service.webhooks.signing import SecretDeriver, endpoint_scope, sign, tenant_scope
from service.webhooks.ssrf import DestinationRefused

log = logging.getLogger(__name__)
REQUEST_TIMEOUT = 15.0
LEASE_SECONDS = 60.0  # longer than a request can take, so a lease never expires mid-request
MAX_RESPONSE_STORED = 20_000
USER_AGENT = "vidgate-webhooks/0.1"


def canonical(delivery: DeliveryRow) -> bytes:
    """The payload as the deliveries view queued it."""
    return delivery.payload.encode()


# Its own generator: the global one is shared with callers (and with Hypothesis in tests).
_JITTER = random.Random()


class Sender:
    def __init__(
        self,
        view: SQLDeliveriesView,
        gateway: Gateway,
        deriver: SecretDeriver,
        http: httpx.AsyncClient,
        *,
        clock: Callable[[], float] = time.time,
        rng: Callable[[], float] = _JITTER.random,
        batch: int = 16,
        timeout: float = REQUEST_TIMEOUT,
        lease_seconds: float = LEASE_SECONDS,
        payloads: Callable[[DeliveryRow], bytes] = canonical,
    ) -> None:
        self.view, self.gateway, self.deriver, self.http = view, gateway, deriver, http
        # The body to post: the queued payload, or a job's own webhook in its surface's
        # words (`service.surfaces.webhook_payloads`); called in a worker thread.
        self.payloads = payloads
        self.clock, self.rng = clock, rng
        # A claim lasts `lease_seconds`: a crashed sender's deliveries are sent again after
        # it. A request never outlives its lease (or another sender could claim it mid-way).
        self.lease_seconds = lease_seconds
        self.batch = batch
        self.timeout = min(timeout, lease_seconds / 2)

    async def claim(self, limit: int) -> list[tuple[DeliveryRow, str]]:
        """Lease up to `limit` due deliveries; each comes with the lease's token."""
        token = secrets.token_hex(8)
        due = await asyncio.to_thread(
            self.view.claim, self.clock(), self.lease_seconds, limit, token
        )
        return [(delivery, token) for delivery in due]

    async def next_due(self) -> float | None:
        """When the soonest pending delivery may be claimed (unix seconds); None: none."""
        return await asyncio.to_thread(self.view.next_attempt_due)

    async def run_once(self) -> int:
        """Attempt every delivery due now (one batch) and wait for all; for tests and tools."""
        due = await self.claim(self.batch)
        await asyncio.gather(*(self.deliver(delivery, token) for delivery, token in due))
        return len(due)

    async def deliver(self, delivery: DeliveryRow, token: str) -> Outcome:
        started, at = time.monotonic(), self.clock()
        result, response_text = await self._post(delivery, int(at))
        latency_ms = (time.monotonic() - started) * 1000
        outcome = decide(delivery, result, self.clock(), self.rng)
        attempt = AttemptRow(
            attempt_id="att_" + secrets.token_hex(12),
            delivery_id=delivery.delivery_id,
            msg_id=delivery.msg_id,
            attempted_at=at,
            status_code=result.status_code,
            latency_ms=round(latency_ms, 2),
            response=response_text,
            error=outcome.error,
            trigger="manual" if delivery.manual else "scheduled",
        )
        failing_since = await asyncio.to_thread(self.view.finish, delivery, token, attempt, outcome)
        await self._maybe_disable(delivery, result, failing_since)
        return outcome

    async def _post(
        self, delivery: DeliveryRow, timestamp: int
    ) -> tuple[AttemptResult, str | None]:
        body = await asyncio.to_thread(self.payloads, delivery)
        keys = await asyncio.to_thread(self._keys, delivery)
        headers = {
            "content-type": "application/json",
            "user-agent": USER_AGENT,
            "webhook-id": delivery.msg_id,
            "webhook-timestamp": str(timestamp),
            "webhook-signature": sign(delivery.msg_id, timestamp, body, keys),
        }
        try:
            async with asyncio.timeout(self.timeout):
                return await self._exchange(delivery.url, body, headers)
        except TimeoutError:
            return AttemptResult(error=f"no answer within {self.timeout:g} s", timed_out=True), None
        except DestinationRefused as error:
            return AttemptResult(error=str(error), refused=True), None
        except httpx.TimeoutException:
            return AttemptResult(error="timed out", timed_out=True), None
        except httpx.HTTPError as error:
            return AttemptResult(error=f"{type(error).__name__}: {error}"), None
        except Exception as error:  # whatever broke, it is this attempt's result
            log.exception("posting delivery %s failed", delivery.delivery_id)
            return AttemptResult(error=f"{type(error).__name__}: {error}"), None

    async def _exchange(
        self, url: str, body: bytes, headers: dict[str, str]
    ) -> tuple[AttemptResult, str | None]:
        async with self.http.stream("POST", url, content=body, headers=headers) as response:
            kept = bytearray()
            async for chunk in response.aiter_bytes():
                kept += chunk
                if len(kept) >= MAX_RESPONSE_STORED:
                    break
            text = bytes(kept[:MAX_RESPONSE_STORED]).decode("utf-8", errors="replace")
            result = AttemptResult(
                response.status_code, retry_after=response.headers.get("retry-after")
            )
            return result, text

    def _keys(self, delivery: DeliveryRow) -> list[bytes]:
        if delivery.endpoint_id is None:
            return [self.deriver.raw(tenant_scope(delivery.tenant), 1)]
        endpoint = self.view.get_endpoint(delivery.endpoint_id)
        scope = endpoint_scope(delivery.endpoint_id)
        if endpoint is None:
            return [self.deriver.raw(scope, 1)]
        generations = [endpoint.generation]
        if endpoint.previous_generation and self.clock() < endpoint.previous_expires_at:
            generations.append(endpoint.previous_generation)
        return [self.deriver.raw(scope, generation) for generation in generations]

    async def _maybe_disable(
        self, delivery: DeliveryRow, result: AttemptResult, failing_since: float | None
    ) -> None:
        if delivery.endpoint_id is None:
            return
        if result.status_code == 410:
            reason = "the endpoint answered 410 Gone"
        elif should_disable(failing_since, self.clock()):
            reason = "every delivery failed for 5 days"
        else:
            return
        endpoint_id = UUID(hex=delivery.endpoint_id)
        await asyncio.to_thread(
            self.gateway.update_endpoint, endpoint_id, lambda e: e.disable(reason, "sender")
        )
        log.warning("disabled webhook endpoint we_%s: %s", delivery.endpoint_id, reason)
