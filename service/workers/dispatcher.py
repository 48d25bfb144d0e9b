"""The dispatcher: follows `Submitted` events and hands each job to its provider.

Its position is tracked like a view's, so a job submitted just before a crash is
dispatched after the restart; a job that is already dispatched or finished is skipped,
so handling an event twice is harmless. Each job goes out with its signed callback URL
(`service.providers.callbacks`); providers without webhooks ignore it.
"""

from __future__ import annotations

import asyncio
import base64
import logging
from collections.abc import Callable, Mapping
from typing import Any
from uuid import UUID

from eventsourcing.persistence import TrackingRecorder

from events.app import Gateway
from events.job import Job
from service.providers.base import (
    DispatchRequest,
    InputForm,
    Provider,
    ProviderRejected,
    ProviderUnavailable,
)
from service.providers.callbacks import CallbackTokens, InputLinks
from service.workers.topic_follower import TopicFollower

log = logging.getLogger(__name__)
SOURCE = "dispatcher"
SUBMIT_ATTEMPTS = 3


class LeadershipLost(Exception):
    """This process no longer holds the dispatcher lock."""


class Dispatcher:
    def __init__(
        self,
        gateway: Gateway,
        tracking: TrackingRecorder,
        providers: Mapping[str, Provider],
        *,
        callbacks: CallbackTokens | None = None,
        links: InputLinks | None = None,
        read_input: Callable[[str], bytes] | None = None,
        interval: float = 0.05,
        retry_base: float = 1.0,
        may_dispatch: Callable[[], bool] | None = None,
    ) -> None:
        self.gateway, self.providers, self.callbacks = gateway, providers, callbacks
        # Asked (in a thread) right before each upstream submit: whether this process still
        # leads. The worker passes `LeaderLock.still_held`, so a leader whose lock session
        # ended submits nothing more, even before its watcher stops it.
        self.may_dispatch = may_dispatch
        self.links, self.read_input = links, read_input
        self._in_flight: set[UUID] = set()  # a sweep must not submit a job twice at once
        self.retry_base = retry_base
        self.follower = TopicFollower(
            gateway, tracking, [Job.Submitted], self.dispatch, interval=interval, name="dispatcher"
        )

    def wake(self) -> None:
        """Thread-safe: look for new submissions now."""
        self.follower.wake()

    async def run_once(self) -> int:
        """Dispatch every submission recorded so far; return how many were seen."""
        return await self.follower.run_once()

    async def dispatch(self, job_id: UUID) -> None:
        """Hand one job to its provider unless it is already dispatched or finished."""
        if job_id in self._in_flight:
            return
        self._in_flight.add(job_id)
        try:
            await self._dispatch(job_id)
        finally:
            self._in_flight.discard(job_id)

    async def _dispatch(self, job_id: UUID) -> None:
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
        if self.may_dispatch is not None and not await asyncio.to_thread(self.may_dispatch):
            # Raised, not returned: the follower must not record this job as handled.
            raise LeadershipLost(f"not dispatching {job_id}: this worker lost the lock")
        await self._submit(provider, job)

    async def _submit(self, provider: Provider, job: Job) -> None:
        callback = self.callbacks.url(provider.name, job.id) if self.callbacks else None
        request = await asyncio.to_thread(
            dispatch_request,
            job,
            callback,
            takes=provider.inputs,
            links=self.links,
            read_input=self.read_input,
        )
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


def dispatch_request(
    job: Job,
    callback_url: str | None = None,
    *,
    takes: InputForm = InputForm.STORED,
    links: InputLinks | None = None,
    read_input: Callable[[str], bytes] | None = None,
) -> DispatchRequest:
    """What the provider is asked: the job, with uploaded inputs made reachable in the form
    the provider `takes` them (as it is, a signed link, or inline data)."""
    inputs = {name: _reachable(v, takes, links, read_input) for name, v in job.inputs.items()}
    return DispatchRequest(
        job_id=job.id,
        model=job.model,
        upstream_model=job.upstream_model,
        prompt=job.prompt,
        params=dict(job.params),
        inputs=inputs,
        callback_url=callback_url,
    )


def _reachable(
    image: Any,
    takes: InputForm,
    links: InputLinks | None,
    read_input: Callable[[str], bytes] | None,
) -> Any:
    """An uploaded image (`sha256`) as a signed URL or inline base64, as the provider takes it
    (a link-taker without links to hand out gets the data inline)."""
    if not isinstance(image, dict):
        return image
    sha256 = image.get("sha256")
    if not sha256 or image.get("url") or takes is InputForm.STORED:
        return image
    if takes is InputForm.LINK and links is not None:
        return {**image, "url": links.url(str(sha256), image.get("content_type"))}
    if read_input is not None:
        return {**image, "data": base64.b64encode(read_input(str(sha256))).decode()}
    return image
