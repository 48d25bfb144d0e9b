"""A submit whose outcome is unknown (the process died, or the answer was lost) is
reconciled, never repeated blindly: resubmitted under the same attempt where the upstream
dedupes; else left to its worker for `outcome_wait` (a late answer is recorded), then found
upstream, or failed as `upstream_outcome_unknown` — or, with `resubmit_unknown`, resubmitted
with the risk recorded in the job's history."""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field
from datetime import timedelta

import pytest
from eventsourcing.persistence import StoredEvent

from events.job import Job
from service.metrics import Metrics
from service.providers.base import (
    Adapter,
    DispatchRequest,
    ProviderRejected,
    ProviderUnavailable,
    Submission,
)
from service.runtime import build_dispatch_tracking, close_view
from service.workers.dispatcher import Dispatcher
from service.workers.poller import utc_now
from tests.helpers import SUBMISSION

pytestmark = pytest.mark.anyio


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


class Crash(Exception):
    """The process dies here (nothing after it runs)."""


@dataclass
class FakeUpstream(Adapter):
    """An upstream that counts creates; `finds`/`dedupes` as a real protocol would."""

    name: str = "fake"
    can_find: bool = False
    can_dedupe: bool = False
    creates: list[str | None] = field(default_factory=list)  # the attempt id of each create
    crash: str | None = None  # "before" or "after" creating, on the next submit
    errors: list[ProviderUnavailable] = field(default_factory=list)  # after creating
    find_fails: bool = False
    answer_after: float = 0.0  # seconds before the answer (after creating)

    @property
    def finds(self) -> bool:
        return self.can_find

    @property
    def dedupes(self) -> bool:
        return self.can_dedupe

    async def submit(self, request: DispatchRequest) -> Submission:
        crash, self.crash = self.crash, None
        if crash == "before":
            raise Crash
        if self.can_dedupe and request.attempt_id in self.creates:
            return self._named(request.attempt_id)
        self.creates.append(request.attempt_id)
        if self.answer_after:
            await asyncio.sleep(self.answer_after)
        if crash == "after":
            raise Crash
        if self.errors:
            raise self.errors.pop(0)
        return self._named(request.attempt_id)

    async def find(self, request: DispatchRequest) -> Submission | None:
        if self.find_fails:
            raise ProviderUnavailable("the list is down")
        return self._named(request.attempt_id) if request.attempt_id in self.creates else None

    def _named(self, attempt_id: str | None) -> Submission:
        return Submission(upstream_id=f"up-{self.creates.index(attempt_id)}")


@pytest.fixture
def tracking(settings):
    recorder = build_dispatch_tracking(settings)
    yield recorder
    close_view(recorder)


def submitted(gateway) -> Job:
    job, _ = gateway.submit(**{**SUBMISSION, "provider": "fake"}, idempotency_key=None)
    return job


def after_the_wait() -> object:
    """A clock past `outcome_wait` (60 s) after every intent of the test."""
    return utc_now() + timedelta(seconds=61)


async def crash_then_restart(
    gateway, tracking, upstream: FakeUpstream, crash: str, **options: object
) -> Metrics:
    """Dispatch the job in a process that dies `crash` creating; reconcile in a new one,
    started after the outcome of the first submit was waited for."""
    job = submitted(gateway)
    upstream.crash = crash
    with pytest.raises(Crash):
        await Dispatcher(gateway, tracking, {"fake": upstream}).dispatch(job.id)
    assert gateway.find_job(job.id).pending_attempt is not None  # the intent survived
    metrics = Metrics()
    restarted = Dispatcher(
        gateway,
        tracking,
        {"fake": upstream},
        metrics=metrics,
        retry_base=0,
        clock=after_the_wait,
        **options,
    )
    await restarted.dispatch(job.id)
    return metrics


async def crashed(gateway, tracking, upstream: FakeUpstream, worker: str | None = None) -> Job:
    """A job whose dispatching process died right after the upstream created it."""
    job = submitted(gateway)
    upstream.crash = "after"
    with pytest.raises(Crash):
        await Dispatcher(gateway, tracking, {"fake": upstream}, worker=worker).dispatch(job.id)
    return job


async def until(condition) -> None:
    deadline = time.monotonic() + 10.0
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        await asyncio.sleep(0.01)


def kinds(gateway, job_id) -> list[str]:
    return [type(e).__name__ for e in gateway.history(job_id)]


def reconciled(metrics: Metrics, outcome: str) -> float:
    value = metrics.registry.get_sample_value(
        "vidgate_dispatch_reconciliations_total", {"provider": "fake", "outcome": outcome}
    )
    return value or 0.0


async def test_a_provider_that_finds_the_job_gets_no_second_create(gateway, tracking):
    upstream = FakeUpstream(can_find=True)
    metrics = await crash_then_restart(gateway, tracking, upstream, "after")
    assert len(upstream.creates) == 1
    assert reconciled(metrics, "found") == 1


async def test_found_upstream_the_job_is_dispatched_under_the_found_id(gateway, tracking):
    upstream = FakeUpstream(can_find=True)
    job = await crashed(gateway, tracking, upstream)
    restarted = Dispatcher(gateway, tracking, {"fake": upstream}, clock=after_the_wait)
    await restarted.dispatch(job.id)
    assert kinds(gateway, job.id) == ["Submitted", "DispatchIntended", "Dispatched"]
    assert gateway.find_job(job.id).upstream_id == "up-0"
    assert len(upstream.creates) == 1


async def test_found_absent_the_same_attempt_is_submitted_again(gateway, tracking):
    upstream = FakeUpstream(can_find=True)
    metrics = await crash_then_restart(gateway, tracking, upstream, "before")
    assert len(upstream.creates) == 1
    assert reconciled(metrics, "absent") == 1


async def test_a_provider_that_dedupes_is_asked_again_under_the_same_attempt(gateway, tracking):
    upstream = FakeUpstream(can_dedupe=True)
    metrics = await crash_then_restart(gateway, tracking, upstream, "after")
    assert len(upstream.creates) == 1
    assert reconciled(metrics, "deduped") == 1


async def test_otherwise_the_job_fails_as_unknown_and_is_not_submitted_again(gateway, tracking):
    upstream = FakeUpstream()
    job = await crashed(gateway, tracking, upstream)
    metrics = Metrics()
    dispatcher = Dispatcher(
        gateway, tracking, {"fake": upstream}, metrics=metrics, clock=after_the_wait
    )
    await dispatcher.dispatch(job.id)
    assert len(upstream.creates) == 1
    assert kinds(gateway, job.id) == ["Submitted", "DispatchIntended", "Failed"]
    assert gateway.find_job(job.id).error["code"] == "upstream_outcome_unknown"
    assert reconciled(metrics, "failed") == 1


async def test_with_resubmit_unknown_the_resubmit_records_the_risk(gateway, tracking):
    upstream = FakeUpstream()
    job = await crashed(gateway, tracking, upstream)
    metrics = Metrics()
    await Dispatcher(
        gateway,
        tracking,
        {"fake": upstream},
        metrics=metrics,
        clock=after_the_wait,
        resubmit_unknown=True,
    ).dispatch(job.id)
    history = gateway.history(job.id)
    intents = [e for e in history if isinstance(e, Job.DispatchIntended)]
    assert len(upstream.creates) == 2 == len(intents)  # every create has its intent
    assert intents[1].unknown_outcome_of == intents[0].attempt_id
    assert upstream.creates == [intent.attempt_id for intent in intents]
    assert isinstance(history[-1], Job.Dispatched) and history[-1].attempt == 2
    assert reconciled(metrics, "unknown") == 1


async def test_within_the_wait_a_restart_leaves_the_submit_to_its_worker(gateway, tracking):
    upstream = FakeUpstream()
    job = await crashed(gateway, tracking, upstream)
    await Dispatcher(gateway, tracking, {"fake": upstream}).dispatch(job.id)
    assert len(upstream.creates) == 1
    assert kinds(gateway, job.id) == ["Submitted", "DispatchIntended"]  # still waiting


async def test_a_timer_decides_once_the_wait_is_over(gateway, tracking):
    upstream = FakeUpstream()
    job = await crashed(gateway, tracking, upstream)
    restarted = Dispatcher(gateway, tracking, {"fake": upstream}, outcome_wait=0.2)
    await restarted.dispatch(job.id)
    await until(lambda: gateway.find_job(job.id).is_terminal)
    failed = gateway.find_job(job.id)
    assert failed.error["code"] == "upstream_outcome_unknown", failed.error
    assert len(upstream.creates) == 1
    await restarted.stop()


async def test_the_owner_of_a_young_intent_gets_its_lease_back(gateway, tracking):
    upstream = FakeUpstream()
    job = await crashed(gateway, tracking, upstream, worker="w1")
    given = []
    other = Dispatcher(
        gateway,
        tracking,
        {"fake": upstream},
        worker="w2",
        hand_back=lambda job_id, to, until: given.append((job_id, to, until)),
    )
    await other.dispatch(job.id)
    intended = gateway.find_job(job.id).intended_at
    assert given == [(job.id, "w1", intended + timedelta(seconds=60))]
    assert len(upstream.creates) == 1


async def test_a_lost_answer_is_awaited_not_repeated(gateway, tracking):
    upstream = FakeUpstream(errors=[ProviderUnavailable("timed out", code="upstream_timeout")])
    job = submitted(gateway)
    dispatcher = Dispatcher(gateway, tracking, {"fake": upstream}, retry_base=0, outcome_wait=30)
    await dispatcher.dispatch(job.id)
    assert len(upstream.creates) == 1
    assert kinds(gateway, job.id) == ["Submitted", "DispatchIntended"]
    await dispatcher.stop()


async def test_a_late_answer_is_recorded(gateway, tracking):
    upstream = FakeUpstream(answer_after=0.3)
    job = submitted(gateway)
    dispatcher = Dispatcher(gateway, tracking, {"fake": upstream}, submit_timeout=0.05)
    await dispatcher.dispatch(job.id)
    await until(lambda: gateway.find_job(job.id).is_dispatched)
    assert kinds(gateway, job.id) == ["Submitted", "DispatchIntended", "Dispatched"]
    assert len(upstream.creates) == 1
    await dispatcher.stop()


async def test_an_answered_error_is_taken_at_its_word(gateway, tracking):
    upstream = FakeUpstream(errors=[ProviderUnavailable("boom", code="upstream_error")])
    job = submitted(gateway)
    await Dispatcher(gateway, tracking, {"fake": upstream}, retry_base=0).dispatch(job.id)
    intents = [e for e in gateway.history(job.id) if isinstance(e, Job.DispatchIntended)]
    assert len(upstream.creates) == 2 == len(intents)
    assert intents[1].unknown_outcome_of == intents[0].attempt_id


async def test_a_rate_limit_is_retried_under_the_same_attempt(gateway, tracking):
    upstream = FakeUpstream(errors=[ProviderUnavailable("slow down", code="rate_limited")])
    job = submitted(gateway)
    await Dispatcher(gateway, tracking, {"fake": upstream}, retry_base=0).dispatch(job.id)
    assert kinds(gateway, job.id) == ["Submitted", "DispatchIntended", "Dispatched"]
    assert len(set(upstream.creates)) == 1


async def test_a_job_canceled_before_its_intent_is_never_submitted(gateway, tracking):
    upstream = FakeUpstream()
    job = submitted(gateway)
    gateway.update_job(job.id, lambda j: j.cancel("client"))
    await Dispatcher(gateway, tracking, {"fake": upstream}).dispatch(job.id)
    assert upstream.creates == []


async def test_a_refusal_fails_the_job_with_its_intent_in_the_history(gateway, tracking):
    class Refusing(FakeUpstream):
        async def submit(self, request: DispatchRequest) -> Submission:
            raise ProviderRejected("no", code="policy_violation")

    job = submitted(gateway)
    await Dispatcher(gateway, tracking, {"fake": Refusing()}).dispatch(job.id)
    assert kinds(gateway, job.id) == ["Submitted", "DispatchIntended", "Failed"]


# As stored before `attempt_id` existed (class version 1: no `class_version` key).
V1_DISPATCHED = (
    b'{"timestamp":{"_type_":"datetime_iso","_data_":"2025-06-01T12:00:01.000001+00:00"},'
    b'"provider":"fal","upstream_id":"fal-ai/x:req-1","attempt":1}'
)


def test_a_v1_dispatched_loads_with_attempt_id_none(gateway):
    job = submitted(gateway)
    record = StoredEvent(
        originator_id=job.id,
        originator_version=2,
        topic="vidgate:Job.Dispatched",
        state=V1_DISPATCHED,
    )
    gateway.recorder.insert_events([record])
    loaded = gateway.find_job(job.id)
    assert loaded.upstream_id == "fal-ai/x:req-1" and loaded.pending_attempt is None
    (_, dispatched) = gateway.history(job.id)
    assert isinstance(dispatched, Job.Dispatched) and dispatched.attempt_id is None
