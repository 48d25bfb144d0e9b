"""The dispatcher: follows `Submitted` events and hands each job to its provider.

Its position is tracked like a view's, so a job submitted just before a crash is
dispatched after the restart; a job that is already dispatched or finished is skipped,
so handling an event twice is harmless. Each job goes out with its signed callback URL
(`service.providers.callbacks`); providers without webhooks ignore it.

No silent double submits: before asking the upstream, the dispatcher saves the intent
(`DispatchIntended`, with an attempt id). A job found with an intent and no `Dispatched` (after
a crash, from the sweeper, or after a submit whose answer was lost) is reconciled: looked up
upstream where the provider `finds`, submitted again under the same attempt where it `dedupes`
(or the lookup says nothing was created), and otherwise resubmitted under a new intent, which
records that the earlier one's outcome is unknown (and counts it in a metric).
"""

from __future__ import annotations

import asyncio
import base64
import logging
from collections.abc import Callable, Mapping
from dataclasses import replace
from typing import Any
from uuid import UUID, uuid4

from eventsourcing.persistence import TrackingRecorder

from events.app import Gateway
from events.job import Job
from service.metrics import Metrics
from service.providers.base import (
    DispatchRequest,
    InputForm,
    Provider,
    ProviderError,
    ProviderRejected,
    ProviderUnavailable,
)
from service.providers.callbacks import CallbackTokens, InputLinks
from service.workers.topic_follower import TopicFollower

log = logging.getLogger(__name__)
SOURCE = "dispatcher"
SUBMIT_ATTEMPTS = 3
# A refusal that says the upstream created nothing; after any other error the outcome of the
# submit is unknown (a timeout, a reset, a 5xx behind which the job may have been created).
NOTHING_CREATED = frozenset({"rate_limited"})


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
        metrics: Metrics | None = None,
    ) -> None:
        self.gateway, self.providers, self.callbacks = gateway, providers, callbacks
        self.metrics = metrics
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
        pending = job.pending_attempt
        first = await asyncio.to_thread(
            dispatch_request,
            job,
            callback,
            takes=provider.inputs,
            links=self.links,
            read_input=self.read_input,
            attempt_id=pending or uuid4().hex,
        )
        if pending is not None:
            request = await self._reconcile(provider, first)
        else:
            request = first if await self._intend(provider, first) else None
        for attempt in range(1, SUBMIT_ATTEMPTS + 1):
            if request is None:
                return  # found upstream, or the job ended or was dispatched meanwhile
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
                if error.code not in NOTHING_CREATED:
                    request = await self._reconcile(provider, request)
                continue
            await asyncio.to_thread(
                self.gateway.record_dispatch, job.id, provider.name, submission.upstream_id
            )
            return

    async def _intend(self, provider: Provider, request: DispatchRequest) -> bool:
        """Save the intent to submit `request`; False when the job ended or was dispatched
        meanwhile (then nothing is submitted)."""
        assert request.attempt_id is not None
        job = await asyncio.to_thread(
            self.gateway.record_intent, request.job_id, provider.name, request.attempt_id
        )
        return job.pending_attempt == request.attempt_id

    async def _reconcile(
        self, provider: Provider, request: DispatchRequest
    ) -> DispatchRequest | None:
        """After a submit of `request` whose outcome is unknown: None when the upstream job
        it created was found (and recorded as dispatched), else the request to submit."""
        if provider.finds:
            try:
                found = await provider.find(request)
            except ProviderError as error:  # it cannot tell: as if it could not look
                log.warning("cannot look %s up at %s: %s", request.job_id, provider.name, error)
            else:
                if found is not None:
                    self._count(provider, "found")
                    await asyncio.to_thread(
                        self.gateway.record_dispatch,
                        request.job_id,
                        provider.name,
                        found.upstream_id,
                    )
                    return None
                self._count(provider, "absent")
                return request  # nothing was created: the same attempt again
        if provider.dedupes:
            self._count(provider, "deduped")
            return request
        self._count(provider, "unknown")
        log.warning(
            "resubmitting %s to %s: an earlier submit may have rendered too",
            request.job_id,
            provider.name,
        )
        again = replace(request, attempt_id=uuid4().hex)
        return again if await self._intend(provider, again) else None

    def _count(self, provider: Provider, outcome: str) -> None:
        if self.metrics is not None:
            self.metrics.reconciliation(provider.name, outcome)

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
    attempt_id: str | None = None,
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
        attempt_id=attempt_id,
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
