"""The dispatcher: follows `Submitted` events and hands each job to its provider.

Its position is tracked like a view's, so a job submitted just before a crash is
dispatched after the restart; a job that is already dispatched or finished is skipped,
so handling an event twice is harmless. Each job goes out with its signed callback URL
(`service.providers.callbacks`); providers without webhooks ignore it.

No double submits: before asking the upstream, the dispatcher saves the intent
(`DispatchIntended`, with an attempt id). A job found with an intent and no `Dispatched` (after
a crash, from the sweeper or another worker's claim, or after a submit that got no answer) is
submitted again under the same attempt where the provider `dedupes`. Otherwise it is left to the
worker that intended it for `outcome_wait` (that worker may be frozen, or its answer late: it
records `Dispatched` when the answer comes), then looked up upstream where the provider `finds`,
and otherwise failed as `upstream_outcome_unknown` — never submitted twice — unless
`resubmit_unknown`: then resubmitted under a new intent, which records that the earlier one's
outcome is unknown. An upstream that *answers* with an error (a 5xx) is taken at its word: the
job is looked up, deduped or resubmitted at once, the risk recorded. Each outcome is counted in
`vidgate_dispatch_reconciliations_total`.

Who feeds it: on SQLite the one worker holding the dispatcher lock (it follows `Submitted`
events, below); on PostgreSQL every worker's `Claimer` (`service.workers.claiming`), which
hands it the jobs it leased and makes it fence its intents by the job's version.

Per-provider concurrency caps (`service.workers.slots`, SQLite): the dispatcher also follows
the events that end a job. A submission of a capped provider joins its provider's line and is
dispatched once it holds a slot; a job that ends frees its slot, and the next in line goes out
at once. The slots are rebuilt from the `inflight` view whenever this process takes the lead.
"""

from __future__ import annotations

import asyncio
import base64
import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import replace
from datetime import datetime, timedelta
from functools import partial
from typing import Any
from uuid import UUID, uuid4

from eventsourcing.persistence import Notification, TrackingRecorder
from eventsourcing.utils import get_topic

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
    Submission,
)
from service.providers.callbacks import CallbackTokens, InputLinks
from service.providers.image_fetch import ImageFetchFailed, UrlInputs
from service.workers.poller import utc_now
from service.workers.slots import Backlog, ProviderSlots, seed_slots
from service.workers.topic_follower import TopicFollower
from service.workers.waker import Waker

log = logging.getLogger(__name__)
SOURCE = "dispatcher"
SUBMIT_ATTEMPTS = 3
# A refusal that says the upstream created nothing; after any other error the outcome of the
# submit is unknown (a timeout, a reset, a 5xx behind which the job may have been created).
NOTHING_CREATED = frozenset({"rate_limited", "unreachable"})  # unreachable: never sent
# Taken at their word and retried at once (looked up, deduped or resubmitted, the risk
# recorded): the upstream answered with an error, or dropped the connection — most often an
# idle keep-alive connection it closed as the submit went out, before reading it.
ANSWERED = frozenset({"upstream_error", "connection_lost"})
SUBMITTED = get_topic(Job.Submitted)
ENDINGS = (Job.Completed, Job.Failed, Job.Canceled, Job.Deleted)  # each frees a slot


class LeadershipLost(Exception):
    """This process may no longer submit the job: it lost the dispatcher lock (SQLite), or
    another worker took the job's lease (PostgreSQL), or it is stopping (`Dispatcher.halt`)."""


class Dispatcher:
    """A background loop (`service.workers.loop`), led by `service.workers.leadership`."""

    name = "dispatcher"

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
        may_dispatch: Callable[[UUID], bool] | None = None,
        metrics: Metrics | None = None,
        caps: Mapping[str, int] | None = None,
        backlog: Backlog | None = None,
        url_inputs: UrlInputs | None = None,
        worker: str | None = None,
        fenced: bool = False,
        submit_timeout: float | None = None,
        outcome_wait: float = 60.0,
        resubmit_unknown: bool = False,
        hand_back: Callable[[UUID, str, datetime], None] | None = None,
        clock: Callable[[], datetime] = utc_now,
        typical: Callable[[str], float] | None = None,
    ) -> None:
        self.gateway, self.providers, self.callbacks = gateway, providers, callbacks
        self.url_inputs = url_inputs  # fetches the image URLs a provider won't fetch itself
        self._fetching: dict[UUID, asyncio.Task[None]] = {}  # jobs whose images download
        self.metrics = metrics
        # Asked (in a thread) before the intent and right before each upstream submit:
        # whether this process may still submit the job (the leader's lock is held; with
        # claims, the job's lease is still ours — asking renews it).
        self.may_dispatch = may_dispatch
        # `worker` names this process in the events it appends (`by`); `fenced`: intents are
        # saved only on top of the job version this process read (leaderless workers, see
        # `Gateway.record_intent`); `submit_timeout`: the longest one upstream submit may
        # take (it must end well within a lease).
        self.worker, self.fenced, self.submit_timeout = worker, fenced, submit_timeout
        # A submit without an answer: how long it is left to the worker that made it, and
        # what then (see the module's docstring). `hand_back(job, worker, until)`: with
        # claims, gives the job's lease to that worker until then (else a timer looks again).
        self.outcome_wait, self.resubmit_unknown = outcome_wait, resubmit_unknown
        self.hand_back, self.clock = hand_back, clock
        # `typical(model)`: seconds a render takes; a provider whose callbacks name the job
        # is given three of them to call back (a cut-off dispatch is recovered from that).
        self.typical = typical
        self._later: set[asyncio.Handle | asyncio.Task[Any]] = set()  # rechecks, late answers
        self.links, self.read_input = links, read_input
        self._in_flight: set[UUID] = set()  # a sweep must not submit a job twice at once
        self.retry_base = retry_base
        self.slots, self.backlog = ProviderSlots(caps or {}), backlog
        self._seeded_at = 0  # the log position the slots were rebuilt at
        self._intended: list[UUID] = []  # found holding a slot with an intent: reconcile
        self.leading = False
        self.halted = False  # stopping: no new upstream call (see `halt`)
        topics = [Job.Submitted, *ENDINGS] if self.slots.caps else [Job.Submitted]
        self.follower = TopicFollower(
            gateway,
            tracking,
            topics,
            self.dispatch,
            interval=interval,
            name="dispatcher",
            handle_batch=self._handle_batch if self.slots.caps else None,
        )

    @property
    def interval(self) -> float:
        return self.follower.interval

    @property
    def waker(self) -> Waker:
        return self.follower.waker

    def wake(self) -> None:
        """Thread-safe: look for new submissions now."""
        self.follower.wake()

    async def start(self) -> None:
        """On taking the lead: count each capped provider's slots from the store."""
        if self.backlog is not None:
            seed = await seed_slots(self.slots, self.backlog, self.gateway.find_job)
            self._seeded_at, self._intended = seed
        self.leading, self.halted = True, False

    def halt(self) -> None:
        """The process is stopping: start no more submits (the one going out may finish
        within the runner's grace). The jobs not submitted stay in the backlog, recorded
        as undispatched (or with an intent, reconciled), for the next start."""
        self.halted = True

    async def stop(self) -> None:
        self.leading = False
        for task in self._fetching.values():  # not dispatched yet: the next leader will
            task.cancel()
        await asyncio.gather(*self._fetching.values(), return_exceptions=True)
        for pending in self._later:  # the intents stay: the next process decides them
            pending.cancel()
        self._later.clear()

    def slot_counts(self) -> dict[str, tuple[int, int, int]]:
        """Per capped provider: (cap, jobs holding a slot, jobs waiting); empty unless this
        process leads (only the leader counts)."""
        if not self.leading:
            return {}
        counts = self.slots.counts()
        return {p: (cap, *counts[p]) for p, cap in self.slots.caps.items()}

    async def run_once(self) -> int:
        """Dispatch every submission recorded so far (and the waiting jobs that fit under
        their caps); return how many were seen."""
        ready, self._intended = [*self._intended, *self.slots.admit()], []
        await asyncio.gather(*(self.dispatch(job_id) for job_id in ready))
        return len(ready) + await self.follower.run_once()

    async def _handle_batch(self, notifications: Sequence[Notification]) -> None:
        """Apply a batch to the slots in log order (first submitted, first admitted), then
        dispatch what may go: uncapped jobs, and capped ones holding a slot."""
        ready: dict[UUID, None] = {}
        for notification in notifications:
            job_id = UUID(str(notification.originator_id))
            if notification.topic != SUBMITTED:
                self.slots.release(job_id)
                continue
            submitted = self.gateway.mapper.to_domain_event(notification)
            assert isinstance(submitted, Job.Submitted)
            provider = submitted.provider
            if not self.slots.capped(provider):
                ready[job_id] = None
            elif notification.id > self._seeded_at:  # earlier ones: the seed counted them
                self.slots.queue(provider, job_id)
            if self.slots.holds(job_id):  # also after a failed pass: dispatching is idempotent
                ready[job_id] = None
        ready.update(dict.fromkeys(self.slots.admit()))
        await asyncio.gather(*(self.dispatch(job_id) for job_id in ready))

    async def dispatch(self, job_id: UUID) -> None:
        """Hand one job to its provider unless it is already dispatched or finished."""
        if job_id in self._in_flight or job_id in self._fetching:
            return
        self._in_flight.add(job_id)
        try:
            await self._dispatch(job_id)
        finally:
            self._in_flight.discard(job_id)

    async def _dispatch(self, job_id: UUID) -> None:
        job = await asyncio.to_thread(self.gateway.find_job, job_id)
        if job is None or job.is_terminal or job.is_dispatched:
            if job is None or job.is_terminal:
                self._release(job_id)  # its ending may predate the slots' count
            return
        provider = self.providers.get(job.provider)
        if provider is None:
            await self._fail(
                job_id,
                "provider_not_configured",
                f"provider {job.provider!r} is not enabled on this gateway",
            )
            return
        if self.slots.capped(job.provider) and not self.slots.holds(job.id):
            # Over the cap (or handed over by the sweeper): it waits in line, `queued`.
            self.slots.queue(job.provider, job.id)
            self.wake()  # the next pass admits it if a slot is free
            return
        await self._check_may_dispatch(job_id)
        if self.url_inputs is not None and self.url_inputs.needed(job.inputs, provider):
            self._fetch_then_submit(provider, job)
            return
        await self._submit(provider, job, job.inputs)

    async def _check_may_dispatch(self, job_id: UUID) -> None:
        if self.halted:
            raise LeadershipLost(f"not dispatching {job_id}: stopping")
        if self.may_dispatch is not None and not await asyncio.to_thread(self.may_dispatch, job_id):
            # Raised, not returned: the follower must not record this job as handled.
            raise LeadershipLost(f"not dispatching {job_id}: this worker may no longer")

    def _fetch_then_submit(self, provider: Provider, job: Job) -> None:
        """Fetch the job's image URLs, then submit it, in the background: a slow image host
        (the tenant's choice) must not hold up everyone else's dispatches. The job stays
        `_fetching` meanwhile; if this process dies first, the sweeper dispatches it."""
        assert self.url_inputs is not None
        url_inputs = self.url_inputs

        async def run() -> None:
            try:
                inputs = await url_inputs.stored(job.inputs, provider)
            except ImageFetchFailed as error:
                await self._fail(job.id, error.code, str(error))
                return
            await self._submit(provider, job, inputs)

        task = asyncio.get_running_loop().create_task(run())
        self._fetching[job.id] = task
        task.add_done_callback(lambda done: self._fetched(job.id, done))

    def _fetched(self, job_id: UUID, task: asyncio.Task[None]) -> None:
        self._fetching.pop(job_id, None)
        if not task.cancelled() and task.exception() is not None:
            log.error("dispatching %s failed", job_id, exc_info=task.exception())

    async def _submit(self, provider: Provider, job: Job, inputs: Mapping[str, Any]) -> None:
        callback = self.callbacks.url(provider.name, job.id) if self.callbacks else None
        pending = job.pending_attempt
        first = await asyncio.to_thread(
            dispatch_request,
            job,
            callback,
            inputs=inputs,
            takes=provider.inputs,
            links=self.links,
            read_input=self.read_input,
            attempt_id=pending or uuid4().hex,
        )
        version: int | None = job.version
        if pending is not None:
            request, version = await self._settle(provider, job, first, version)
        else:
            version = await self._intend(provider, first, version)
            request = first if version is not None else None
        for attempt in range(1, SUBMIT_ATTEMPTS + 1):
            if request is None:
                return  # found upstream, waiting for its outcome, failed, ended or dispatched
            await self._check_may_dispatch(job.id)  # the last look before the upstream's
            try:
                submission = await self._submit_once(provider, request)
            except ProviderRejected as error:
                await self._fail(job.id, error.code, str(error))
                return
            except ProviderUnavailable as error:
                answered = error.code in NOTHING_CREATED or error.code in ANSWERED
                if not answered and not provider.dedupes:
                    # No answer: it may render. Its outcome is awaited, not guessed.
                    self._count(provider, "awaited")
                    wait = self._wait(provider, job)
                    await self._await_outcome(job.id, self.worker, self.clock(), wait)
                    return
                if attempt == SUBMIT_ATTEMPTS:
                    await self._fail(job.id, error.code, str(error), retryable=True)
                    return
                await asyncio.sleep(error.retry_after or self.retry_base * 2 ** (attempt - 1))
                if error.code not in NOTHING_CREATED:
                    request, version = await self._reconcile(provider, request, version)
                continue
            await self._record_dispatch(request.job_id, provider, submission.upstream_id)
            return

    async def _submit_once(self, provider: Provider, request: DispatchRequest) -> Submission:
        if self.submit_timeout is None:
            return await provider.submit(request)
        submit = asyncio.ensure_future(provider.submit(request))
        try:
            return await asyncio.wait_for(asyncio.shield(submit), self.submit_timeout)
        except TimeoutError:  # it may have reached the upstream: listen for its late answer
            self._hear_late(provider, request, submit)
            raise ProviderUnavailable(
                f"no answer within {self.submit_timeout:g} s", code="timeout"
            ) from None

    def _hear_late(
        self, provider: Provider, request: DispatchRequest, submit: asyncio.Future[Submission]
    ) -> None:
        """A submit that outlived `submit_timeout` (a slow upstream, or this process was
        frozen) still records `Dispatched` if its answer comes within `outcome_wait`."""
        loop = asyncio.get_running_loop()
        give_up = loop.call_later(self.outcome_wait, submit.cancel)
        self._later.add(give_up)

        def answered(done: asyncio.Future[Submission]) -> None:
            give_up.cancel()
            self._later.discard(give_up)
            if done.cancelled() or done.exception() is not None:
                return
            log.info("%s: %s answered late; recording it", request.job_id, provider.name)
            upstream_id = done.result().upstream_id
            self._spawn(self._record_dispatch(request.job_id, provider, upstream_id))

        submit.add_done_callback(answered)

    async def _settle(
        self, provider: Provider, job: Job, request: DispatchRequest, version: int | None
    ) -> tuple[DispatchRequest | None, int | None]:
        """A job found intended and not dispatched: the same attempt again where the
        provider dedupes; else left to its worker until `outcome_wait` after the intent,
        then reconciled without an answer."""
        if provider.dedupes:
            self._count(provider, "deduped")
            return request, version
        since, wait = job.intended_at or self.clock(), self._wait(provider, job)
        if self.clock() < since + timedelta(seconds=wait):
            await self._await_outcome(job.id, job.intended_by or self.worker, since, wait)
            return None, version
        return await self._reconcile(provider, request, version, answered=False)

    def _wait(self, provider: Provider, job: Job) -> float:
        """How long a submit without an answer is left to its worker (and its callback)."""
        if self.typical is None or not provider.named_by_callback:
            return self.outcome_wait
        return max(self.outcome_wait, 3 * self.typical(job.model))

    async def _await_outcome(
        self, job_id: UUID, intender: str | None, since: datetime, wait: float
    ) -> None:
        """Leave the job's pending submit to `intender` until `wait` seconds after `since`:
        with claims, its lease goes to that worker until then; else a timer looks again."""
        until = since + timedelta(seconds=wait)
        if self.hand_back is not None and intender is not None:
            await asyncio.to_thread(self.hand_back, job_id, intender, until)
            return
        delay = max(0.0, (until - self.clock()).total_seconds()) + 0.01
        loop = asyncio.get_running_loop()
        handle = loop.call_later(delay, lambda: self._spawn(self._look_again(job_id)))
        self._later.add(handle)

    async def _look_again(self, job_id: UUID) -> None:
        try:
            await self.dispatch(job_id)
        except LeadershipLost:
            pass  # the next leader (or claimant) looks at it
        except Exception:
            log.exception("dispatching %s again failed", job_id)

    def _spawn(self, work: Any) -> None:
        task = asyncio.get_running_loop().create_task(work)
        self._later.add(task)
        task.add_done_callback(self._later.discard)

    async def _record_dispatch(self, job_id: UUID, provider: Provider, upstream_id: str) -> None:
        await asyncio.to_thread(
            partial(self.gateway.record_dispatch, by=self.worker),
            job_id,
            provider.name,
            upstream_id,
        )

    async def _intend(
        self, provider: Provider, request: DispatchRequest, version: int | None
    ) -> int | None:
        """Save the intent to submit `request` (fenced: on top of `version`); the job's
        version after it, or None when the job ended, was dispatched or (fenced) changed
        meanwhile: then nothing is submitted."""
        assert request.attempt_id is not None
        record = partial(
            self.gateway.record_intent,
            by=self.worker,
            version=version if self.fenced else None,
        )
        job = await asyncio.to_thread(record, request.job_id, provider.name, request.attempt_id)
        if job.pending_attempt != request.attempt_id or job.is_dispatched or job.is_terminal:
            return None
        return job.version

    async def _reconcile(
        self,
        provider: Provider,
        request: DispatchRequest,
        version: int | None,
        *,
        answered: bool = True,
    ) -> tuple[DispatchRequest | None, int | None]:
        """After a submit of `request` whose outcome is unknown (`answered`: the upstream
        answered with an error; else no answer came within `outcome_wait`): None when the
        upstream job it created was found (and recorded as dispatched) or the job failed,
        else the request to submit (and the job's version it goes out at)."""
        if provider.finds:
            try:
                found = await provider.find(request)
            except ProviderError as error:  # it cannot tell: as if it could not look
                log.warning("cannot look %s up at %s: %s", request.job_id, provider.name, error)
            else:
                if found is not None:
                    self._count(provider, "found")
                    await self._record_dispatch(request.job_id, provider, found.upstream_id)
                    return None, version
                self._count(provider, "absent")
                return request, version  # nothing was created: the same attempt again
        if provider.dedupes:
            self._count(provider, "deduped")
            return request, version
        if not answered and not self.resubmit_unknown:
            self._count(provider, "failed")
            await self._fail(
                request.job_id,
                "upstream_outcome_unknown",
                f"the submit to {provider.name} got no answer (its worker stopped, froze or "
                f"lost it) and nothing since showed whether {provider.name} created the job: "
                "not submitted again, so it is not rendered (and paid for) twice; submit it "
                "again to retry",
                retryable=True,
            )
            return None, version
        self._count(provider, "unknown")
        log.warning(
            "resubmitting %s to %s: an earlier submit may have rendered too",
            request.job_id,
            provider.name,
        )
        again = replace(request, attempt_id=uuid4().hex)
        version = await self._intend(provider, again, version)
        return (again if version is not None else None), version

    def _release(self, job_id: UUID) -> None:
        if self.slots.knows(job_id):
            self.slots.release(job_id)
            self.wake()  # a slot may have freed

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
    inputs: Mapping[str, Any] | None = None,
    takes: InputForm = InputForm.STORED,
    links: InputLinks | None = None,
    read_input: Callable[[str], bytes] | None = None,
    attempt_id: str | None = None,
) -> DispatchRequest:
    """What the provider is asked: the job, with uploaded inputs (`inputs`: the job's own, or
    with fetched URLs stored) made reachable in the form the provider `takes` them (as it
    is, a signed link, or inline data)."""
    given = job.inputs if inputs is None else inputs
    reachable = {name: _reachable(v, takes, links, read_input) for name, v in given.items()}
    return DispatchRequest(
        job_id=job.id,
        model=job.model,
        upstream_model=job.upstream_model,
        prompt=job.prompt,
        params=dict(job.params),
        inputs=reachable,
        callback_url=callback_url,
        attempt_id=attempt_id,
        tenant=job.tenant,
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
