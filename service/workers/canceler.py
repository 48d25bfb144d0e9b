"""Passes cancellations on: a job canceled here is canceled (or deleted) upstream too.

Follows `Canceled` events with a tracked position, like the dispatcher. Best effort: an
upstream that already finished, or cannot cancel, is logged and left alone — the job is
canceled for the client either way, and nothing an upstream says afterwards changes that.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping
from uuid import UUID

from eventsourcing.persistence import TrackingRecorder

from events.app import Gateway
from events.ids import video_id
from events.job import Job
from service.providers.base import Provider, ProviderRejected, ProviderUnavailable
from service.workers.topic_follower import TopicFollower

log = logging.getLogger(__name__)


class UpstreamCanceler:
    def __init__(
        self,
        gateway: Gateway,
        tracking: TrackingRecorder,
        providers: Mapping[str, Provider],
        *,
        interval: float = 0.05,
        attempts: int = 3,
        retry_base: float = 1.0,
    ) -> None:
        self.gateway, self.providers = gateway, providers
        self.attempts, self.retry_base = attempts, retry_base
        self.follower = TopicFollower(
            gateway, tracking, [Job.Canceled], self.cancel, interval=interval, name="canceler"
        )

    def wake(self) -> None:
        self.follower.wake()

    async def cancel(self, job_id: UUID) -> None:
        job = await asyncio.to_thread(self.gateway.find_job, job_id)
        if job is None or job.upstream_id is None:
            return  # never sent anywhere
        provider = self.providers.get(job.provider)
        if provider is None or not provider.cancels_upstream:
            return  # not enabled here, or it stops by itself (the local renderer)
        for attempt in range(1, self.attempts + 1):
            try:
                await provider.cancel(job.upstream_id)
                log.info("canceled %s upstream at %s", video_id(job_id), job.provider)
                return
            except ProviderRejected as error:
                log.info("%s could not cancel %s: %s", job.provider, video_id(job_id), error)
                return
            except ProviderUnavailable as error:
                if attempt == self.attempts:
                    log.warning("gave up canceling %s upstream: %s", video_id(job_id), error)
                    return
                await asyncio.sleep(error.retry_after or self.retry_base * 2 ** (attempt - 1))
