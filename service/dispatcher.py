"""The dispatcher: follows `Submitted` events and hands each job to its provider.

Its position is tracked like a view's, so a job submitted just before a crash is
dispatched after the restart; a job that is already dispatched or finished is skipped,
so handling an event twice is harmless.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping
from typing import Any
from uuid import UUID

from eventsourcing.persistence import Tracking, TrackingRecorder
from eventsourcing.utils import get_topic

from events.app import Gateway
from events.job import Job
from service.providers.base import (
    DispatchRequest,
    Provider,
    ProviderRejected,
    ProviderUnavailable,
)
from service.waker import Waker

log = logging.getLogger(__name__)
SOURCE = "dispatcher"
SUBMIT_ATTEMPTS = 3
BATCH = 100


class Dispatcher:
    def __init__(
        self,
        gateway: Gateway,
        tracking: TrackingRecorder,
        providers: Mapping[str, Provider],
        *,
        interval: float = 0.05,
        retry_base: float = 1.0,
    ) -> None:
        self.gateway, self.tracking, self.providers = gateway, tracking, providers
        self.interval, self.retry_base = interval, retry_base
        self._topics = [get_topic(Job.Submitted)]
        self._waker = Waker()

    def wake(self) -> None:
        """Thread-safe: look for new submissions now."""
        self._waker.wake()

    async def run(self, stopping: asyncio.Event) -> None:
        self._waker.bind()
        while not stopping.is_set():
            try:
                await self.run_once()
            except Exception:
                log.exception("dispatcher pass failed; retrying")
                await asyncio.sleep(1.0)
            await self._waker.wait(self.interval)

    async def run_once(self) -> int:
        """Dispatch every submission recorded so far; return how many were seen."""
        seen = 0
        while True:
            position = await asyncio.to_thread(self.tracking.max_tracking_id, self.gateway.name)
            notifications = await asyncio.to_thread(
                self.gateway.recorder.select_notifications,
                start=position or 0,
                limit=BATCH,
                topics=self._topics,
                inclusive_of_start=False,
            )
            if not notifications:
                return seen
            await asyncio.gather(
                *(self.dispatch(UUID(str(n.originator_id))) for n in notifications)
            )
            last = Tracking(self.gateway.name, notifications[-1].id)
            await asyncio.to_thread(self.tracking.insert_tracking, last)
            seen += len(notifications)

    async def dispatch(self, job_id: UUID) -> None:
        """Hand one job to its provider unless it is already dispatched or finished."""
        job = await asyncio.to_thread(self.gateway.find_job, job_id)
        if job is None or job.is_terminal or job.is_dispatched:
            return
        provider = self.providers.get(job.provider)
        if provider is None:
            await self._fail(
                job_id,
                "provider_not_configured",
                f"provider {job.provider!r} is not enabled on this gateway",
            )
            return
        await self._submit(provider, job)

    async def _submit(self, provider: Provider, job: Job) -> None:
        request = dispatch_request(job)
        for attempt in range(1, SUBMIT_ATTEMPTS + 1):
            try:
                submission = await provider.submit(request)
            except ProviderRejected as error:
                await self._fail(job.id, error.code, str(error))
                return
            except ProviderUnavailable as error:
                if attempt == SUBMIT_ATTEMPTS:
                    await self._fail(job.id, error.code, str(error), retryable=True)
                    return
                await asyncio.sleep(error.retry_after or self.retry_base * 2 ** (attempt - 1))
                continue
            await asyncio.to_thread(
                self.gateway.record_dispatch, job.id, provider.name, submission.upstream_id
            )
            return

    async def _fail(self, job_id: UUID, code: str, message: str, retryable: bool = False) -> None:
        await asyncio.to_thread(
            self.gateway.record_failure, job_id, code, message, SOURCE, retryable=retryable
        )


def dispatch_request(job: Job, callback_url: str | None = None) -> DispatchRequest:
    params: dict[str, Any] = dict(job.params)
    return DispatchRequest(
        job_id=job.id,
        model=job.model,
        upstream_model=job.upstream_model,
        prompt=job.prompt,
        params=params,
        inputs=dict(job.inputs),
        callback_url=callback_url,
    )
