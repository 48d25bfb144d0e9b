"""The poller over a real store, a scripted fake provider and a hand-driven clock."""

from __future__ import annotations

import random
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import anyio
import pytest

from events.app import Gateway
from projections.follower import Follower
from projections.inflight.projection import InflightProjection
from projections.inflight.view import InflightView
from service.metrics import Metrics
from service.persistence.stores import build_gateway, build_inflight_view
from service.providers.base import (
    Adapter,
    DispatchRequest,
    ProviderRejected,
    ProviderUnavailable,
    Submission,
    UpstreamStatus,
)
from service.runtime import close_view
from service.settings import Settings
from service.videos.signals import Signals
from service.workers.estimate import ProgressEstimate, fixed
from service.workers.poll_policy import PollPolicy
from service.workers.poller import Poller
from tests.helpers import SUBMISSION


class ScriptedProvider(Adapter):
    """Answers status calls from a script (a status, or an exception to raise)."""

    name = "runway"

    def __init__(self, *answers: UpstreamStatus | Exception) -> None:
        self.answers, self.calls = list(answers), 0

    async def status(self, upstream_id: str) -> UpstreamStatus:
        self.calls += 1
        answer = self.answers.pop(0) if len(self.answers) > 1 else self.answers[0]
        if isinstance(answer, Exception):
            raise answer
        return answer

    async def submit(self, request: DispatchRequest) -> Submission:
        raise NotImplementedError

    def parse_webhook(self, headers: Any, body: bytes) -> UpstreamStatus:
        raise NotImplementedError

    async def cancel(self, upstream_id: str) -> None: ...

    async def download(self, upstream_id: str, dest: Path) -> Path:
        raise NotImplementedError


class Clock:
    """Starts at the real now (event timestamps are real), then moves only when told."""

    def __init__(self) -> None:
        self.now = datetime.now(UTC)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


POLICY = PollPolicy(
    webhook_providers=frozenset({"fal"}),
    first_poll=0.0,
    typical=lambda model: 0.0,  # due at once: each test moves the clock itself
    grace=0.0,
    cap=5.0,
    jitter=0.0,
    deadline=3600.0,
)


@pytest.fixture
def stack(settings: Settings) -> Iterator[tuple[Gateway, InflightView, Follower]]:
    gateway, view = build_gateway(settings), build_inflight_view(settings)
    projection = InflightProjection(
        view, first_poll=POLICY.first_delay, deadline=POLICY.deadline_for
    )
    yield gateway, view, Follower(gateway, projection)
    close_view(view)
    gateway.close()


def dispatched_job(gateway: Gateway, follower: Follower, provider: str = "runway") -> Any:
    fields = {**SUBMISSION, "provider": provider, "model": "m", "upstream_model": "m"}
    job, _ = gateway.submit(**fields, idempotency_key=None)
    gateway.record_dispatch(job.id, provider, "task-1")
    follower.run_once()
    return job


def poller(gateway: Gateway, view: InflightView, provider: Any, clock: Clock, **kw: Any) -> Poller:
    metrics = Metrics()
    return Poller(
        view,
        {provider.name: provider},
        Signals(gateway, metrics),
        metrics,
        POLICY,
        clock=clock,
        rng=random.Random(1),
        **kw,
    )


def status_calls_observed(p: Poller) -> tuple[float, float]:
    """(sum, count) of the status-calls-per-job histogram."""
    samples = {s.name: s.value for m in p.metrics.status_calls.collect() for s in m.samples}
    return samples["vidgate_upstream_status_calls_per_job_sum"], samples[
        "vidgate_upstream_status_calls_per_job_count"
    ]


def run(p: Poller) -> int:
    return anyio.run(p.run_once)


def test_polls_until_completed_and_counts_every_status_call(stack) -> None:  # type: ignore[no-untyped-def]
    gateway, view, follower = stack
    job = dispatched_job(gateway, follower)
    provider = ScriptedProvider(
        UpstreamStatus("in_progress", "RUNNING", progress=40),
        UpstreamStatus("completed", "SUCCEEDED", output_url="https://x/v.mp4"),
    )
    clock = Clock()
    p = poller(gateway, view, provider, clock)
    clock.advance(1)
    assert run(p) == 1
    follower.run_once()
    clock.advance(10)
    assert run(p) == 1
    follower.run_once()
    assert gateway.find_job(job.id).status == "completed"  # type: ignore[union-attr]
    assert view.get(job.id) is None
    run(p)  # counts what finished
    assert status_calls_observed(p) == (2.0, 1.0)  # the poll that found it done counts too
    sources = [getattr(e, "source", None) for e in gateway.history(job.id)]
    assert sources[-1] == "poll"


def test_a_running_job_without_a_percent_gets_an_estimate_that_only_grows(stack) -> None:  # type: ignore[no-untyped-def]
    gateway, view, follower = stack
    job = dispatched_job(gateway, follower)
    provider = ScriptedProvider(UpstreamStatus("in_progress", "running"))  # Veo: no percent
    clock = Clock()
    p = poller(gateway, view, provider, clock, estimate=fixed(100.0))
    for seconds in (5, 30, 60, 200, 2000):  # the last finds the guess at its ceiling already
        clock.advance(seconds)
        view.reschedule(job.id, clock.now, polled=False)  # due now, whatever the backoff
        run(p)
    progressed = [e for e in gateway.history(job.id) if type(e).__name__ == "Progressed"]
    percents = [e.percent for e in progressed]
    assert len(percents) == 4 and percents == sorted(set(percents)), percents
    assert percents[-1] == 94  # a guess never says done
    assert {e.source for e in progressed} == {"estimate"}
    assert {e.upstream_status for e in progressed} == {"running"}


def test_an_upstream_percent_is_taken_as_it_is(stack) -> None:  # type: ignore[no-untyped-def]
    gateway, view, follower = stack
    job = dispatched_job(gateway, follower)
    provider = ScriptedProvider(UpstreamStatus("in_progress", "RUNNING", progress=7))
    clock = Clock()
    p = poller(gateway, view, provider, clock, estimate=fixed(1.0))
    clock.advance(60)
    run(p)
    (progressed,) = [e for e in gateway.history(job.id) if type(e).__name__ == "Progressed"]
    assert (progressed.percent, progressed.source) == (7, "poll")


def test_the_estimate_curve() -> None:
    guess = ProgressEstimate(lambda model: {"slow": 100.0}.get(model, 10.0))
    assert guess.percent("slow", 0) == 1
    assert guess.percent("slow", 100) == 82  # at the typical duration
    assert guess.percent("slow", 10) < guess.percent("fast", 10)
    assert guess.percent("slow", 10**6) == 94  # below the cap, forever


def test_a_recent_webhook_postpones_the_fallback_poll(stack) -> None:  # type: ignore[no-untyped-def]
    gateway, view, follower = stack
    policy = PollPolicy(webhook_providers=frozenset({"fal"}), grace=30.0, cap=60.0, jitter=0.0)
    job = dispatched_job(gateway, follower, provider="fal")
    provider = ScriptedProvider(UpstreamStatus("in_progress", "IN_PROGRESS", progress=50))
    provider.name = "fal"
    clock = Clock()
    p = poller(gateway, view, provider, clock)
    p.policy = policy
    gateway.record_progress(job.id, 10, "webhook")
    follower.run_once()
    # due (the policy in the view said grace 0), but the webhook is fresh: no upstream call
    run(p)
    assert provider.calls == 0
    row = view.get(job.id)
    assert row is not None and row.next_poll_at is not None
    assert row.next_poll_at > clock.now + timedelta(seconds=20)


def test_retry_after_is_respected(stack) -> None:  # type: ignore[no-untyped-def]
    gateway, view, follower = stack
    job = dispatched_job(gateway, follower)
    provider = ScriptedProvider(ProviderUnavailable("slow down", retry_after=42.0))
    clock = Clock()
    p = poller(gateway, view, provider, clock)
    clock.advance(1)
    run(p)
    row = view.get(job.id)
    assert row is not None and row.next_poll_at == clock.now + timedelta(seconds=42)
    assert gateway.find_job(job.id).status == "queued"  # type: ignore[union-attr]


def test_an_upstream_that_forgot_the_job_fails_it(stack) -> None:  # type: ignore[no-untyped-def]
    gateway, view, follower = stack
    job = dispatched_job(gateway, follower)
    p = poller(
        gateway, view, ScriptedProvider(ProviderRejected("no such task", code="not_found")), Clock()
    )
    p.clock.advance(1)  # type: ignore[attr-defined]
    run(p)
    done = gateway.find_job(job.id)
    assert done is not None and done.status == "failed" and done.error["code"] == "not_found"  # type: ignore[index]


def test_past_the_deadline_one_last_call_then_timeout(stack) -> None:  # type: ignore[no-untyped-def]
    gateway, view, follower = stack
    job = dispatched_job(gateway, follower)
    provider = ScriptedProvider(UpstreamStatus("in_progress", "RUNNING", progress=5))
    clock = Clock()
    p = poller(gateway, view, provider, clock)
    clock.advance(3601)
    run(p)
    assert provider.calls == 1
    done = gateway.find_job(job.id)
    assert done is not None and done.status == "failed" and done.error["code"] == "timeout"  # type: ignore[index]
