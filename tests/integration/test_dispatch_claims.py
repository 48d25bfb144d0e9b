"""Leaderless dispatching on PostgreSQL: claims with leases on the `inflight` view, caps
counted across claimants, and intents fenced by the job's version (real stores)."""

from __future__ import annotations

import threading
from datetime import UTC, datetime
from uuid import UUID

import pytest

from events.job import Job
from projections.follower import Follower
from projections.inflight.claims import DispatchClaims
from projections.inflight.projection import InflightProjection
from service.persistence.stores import build_inflight_view
from service.runtime import close_view
from service.workers.claiming import LeaseFence
from service.workers.dispatcher import Dispatcher, dispatch_request
from tests.integration.test_dispatch_reconciliation import FakeUpstream, anyio_backend, tracking
from tests.integration.test_inflight_view import T0, Rows, sec, submit

LEASE = 10.0
__all__ = ["anyio_backend", "tracking"]  # fixtures shared with the reconciliation tests
A, B = "worker:a:1", "worker:b:2"


@pytest.fixture
def claims(settings):
    """Two handles on the one store, as two worker processes have."""
    if not settings.uses_postgres:
        pytest.skip("claims are PostgreSQL's: SQLite runs one worker")
    first, second = build_inflight_view(settings), build_inflight_view(settings)
    yield first, second
    close_view(first)
    close_view(second)


def mark_dispatched(rows: Rows, job_id: UUID, provider: str, at) -> None:
    rows.view.mark_dispatched(
        job_id, provider, "req-1", at, at + sec(10), at + sec(3600), rows.track()
    )


def claim(view: DispatchClaims, worker: str, at=T0, limit=10, caps=None, runs_here=None):
    found = view.claim_dispatch(
        at, worker, LEASE, limit, caps=caps or {}, runs_here=runs_here or {}
    )
    return [c.job_id for c in found]


def test_a_claimed_job_is_no_one_elses_until_its_lease_runs_out(claims) -> None:
    first, second = claims
    rows = Rows(first)
    jobs = [rows.submitted(at=T0 + sec(i)) for i in range(3)]
    assert claim(first, A, limit=2) == jobs[:2]  # first submitted first
    assert claim(second, B, at=T0 + sec(5)) == jobs[2:]
    assert claim(second, B, at=T0 + sec(LEASE - 1)) == []
    # A paused past its lease: B takes the jobs, and A can no longer renew them.
    assert claim(second, B, at=T0 + sec(LEASE + 1)) == jobs[:2]
    assert first.renew(jobs[:2], A, T0 + sec(LEASE + 2), LEASE) == set()
    assert second.renew(jobs, B, T0 + sec(LEASE + 2), LEASE) == set(jobs)


def test_a_released_job_is_claimable_at_once_and_a_dispatched_one_never(claims) -> None:
    first, second = claims
    rows = Rows(first)
    waiting, sent = rows.submitted(), rows.submitted(at=T0 + sec(1))
    assert claim(first, A) == [waiting, sent]
    first.release([waiting], B)  # not B's to release: nothing happens
    assert claim(second, B) == []
    first.release([waiting, sent], A)
    mark_dispatched(rows, sent, "fal", T0 + sec(2))
    assert claim(second, B) == [waiting]


def test_a_cap_holds_across_claimants(claims) -> None:
    first, second = claims
    rows = Rows(first)
    jobs = [rows.submitted(at=T0 + sec(i), provider="kling") for i in range(5)]
    caps = {"kling": 2}
    assert claim(first, A, caps=caps, limit=1) == jobs[:1]
    assert claim(second, B, caps=caps) == jobs[1:2]
    assert claim(first, A, caps=caps) == []
    assert first.slot_counts(caps, T0) == {"kling": (2, 3)}
    mark_dispatched(rows, jobs[0], "kling", T0 + sec(1))  # dispatched: still holds its slot
    first.release([jobs[0]], A)
    assert claim(second, B, caps=caps) == []
    first.remove(jobs[0], rows.track())  # it ended: its slot is free
    assert claim(second, B, caps=caps) == jobs[2:3]


def test_capped_claims_at_the_same_moment_never_exceed_the_cap(claims) -> None:
    first, second = claims
    rows = Rows(first)
    jobs = [rows.submitted(at=T0 + sec(i), provider="kling") for i in range(8)]
    got: dict[str, list[UUID]] = {}
    start = threading.Barrier(2)

    def take(view, worker) -> None:
        start.wait()
        got[worker] = claim(view, worker, caps={"kling": 3})

    threads = [threading.Thread(target=take, args=p) for p in ((first, A), (second, B))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    taken = got[A] + got[B]
    assert len(taken) == 3 and set(taken) == set(jobs[:3])


def test_an_intended_job_keeps_its_slot_and_is_claimed_again_over_a_full_cap(claims) -> None:
    first, second = claims
    rows = Rows(first)
    held, intended = rows.submitted(provider="kling"), rows.submitted(T0 + sec(1), "kling")
    caps = {"kling": 1}
    first.mark_intended(intended, rows.track())  # its worker died after the intent
    assert claim(first, A, caps=caps) == [intended]  # reconcile it: its slot is its own
    assert first.slot_counts(caps, T0) == {"kling": (1, 1)}
    assert claim(second, B, caps=caps, at=T0 + sec(LEASE + 1)) == [intended]
    assert held not in claim(second, B, caps=caps, at=T0 + sec(LEASE + 1))


def test_jobs_that_run_in_the_claimant_are_claimed_up_to_its_room(claims) -> None:
    first, second = claims
    rows = Rows(first)
    jobs = [rows.submitted(at=T0 + sec(i), provider="local") for i in range(3)]
    assert claim(first, A, runs_here={"local": 1}) == jobs[:1]
    assert claim(first, A, runs_here={"local": 0}) == []
    mark_dispatched(rows, jobs[0], "local", T0 + sec(5))  # rendering in A, which then dies
    later = T0 + sec(LEASE + 1)
    assert claim(second, B, at=later, runs_here={"local": 5}) == jobs  # resumed by B
    assert claim(first, A, at=later, runs_here={"local": 5}) == []


def test_an_intent_is_saved_only_on_the_version_its_worker_read(gateway) -> None:
    job = submit(gateway)
    read = job.version
    other = gateway.record_intent(job.id, "fal", "attempt-b", by=B, version=read)
    assert other.pending_attempt == "attempt-b"
    late = gateway.record_intent(job.id, "fal", "attempt-a", by=A, version=read)
    assert late.pending_attempt == "attempt-b"  # A's is not saved: A drops the job
    intents = [e for e in gateway.history(job.id) if type(e).__name__ == "DispatchIntended"]
    assert [(e.attempt_id, e.by) for e in intents] == [("attempt-b", B)]


def test_the_history_names_the_worker_that_dispatched(gateway) -> None:
    job = submit(gateway)
    gateway.record_intent(job.id, "fal", "attempt-1", by=A, version=job.version)
    dispatched = gateway.record_dispatch(job.id, "fal", "req-1", by=A)
    assert dispatched.is_dispatched
    assert [getattr(e, "by", None) for e in gateway.history(job.id)] == [None, A, A]


# the dispatcher with a lease as its fence


def fenced_dispatcher(gateway, tracking, view, worker: str, upstream, clock) -> Dispatcher:
    return Dispatcher(
        gateway,
        tracking,
        {upstream.name: upstream},
        may_dispatch=LeaseFence(view, worker, LEASE, clock=clock),
        worker=worker,
        fenced=True,
        submit_timeout=LEASE / 2,
        outcome_wait=WAIT,
        hand_back=lambda job_id, to, until: view.hand_back(job_id, worker, to, until),
        clock=clock,
    )


WAIT = 30.0  # outcome_wait: how long a submit without an answer is left to its worker


@pytest.mark.anyio
async def test_a_frozen_worker_keeps_its_intended_job_until_the_wait_is_over(
    gateway, tracking, claims, anyio_backend
) -> None:
    first, second = claims
    job = submit(gateway)
    now = {"t": datetime.now(UTC)}  # intents are stamped with the real time
    Follower(gateway, InflightProjection(first)).run_once()
    upstream = FakeUpstream(name="fal")
    taker = fenced_dispatcher(gateway, tracking, second, B, upstream, lambda: now["t"])
    assert claim(first, A, at=now["t"]) == [job.id]
    # A saved its intent, then froze past its lease (before or during the upstream call).
    intended = gateway.record_intent(job.id, "fal", "attempt-a", by=A, version=job.version)
    assert intended.intended_at is not None
    now["t"] = intended.intended_at + sec(LEASE + 1)
    Follower(gateway, InflightProjection(first)).run_once()
    assert claim(second, B, at=now["t"]) == [job.id]
    await taker.dispatch(job.id)  # B: A's submit may be under way, so A gets the job back
    assert upstream.creates == []
    assert claim(second, B, at=now["t"]) == []  # nobody else takes it during the wait
    assert LeaseFence(first, A, LEASE, clock=lambda: now["t"])(job.id)  # A may still submit
    assert not LeaseFence(second, B, LEASE, clock=lambda: now["t"])(job.id)
    # A never came back: after the wait, the blind upstream cannot say; no second submit.
    now["t"] = intended.intended_at + sec(WAIT + LEASE + 1)
    assert claim(second, B, at=now["t"]) == [job.id]
    await taker.dispatch(job.id)
    assert upstream.creates == []
    failed = gateway.find_job(job.id)
    assert failed.status == "failed" and failed.error["code"] == "upstream_outcome_unknown"
    intents = [e for e in gateway.history(job.id) if isinstance(e, Job.DispatchIntended)]
    assert [(e.by, e.unknown_outcome_of) for e in intents] == [(A, None)]


@pytest.mark.anyio
async def test_a_worker_whose_claim_was_taken_before_its_intent_submits_nothing(
    gateway, tracking, claims, anyio_backend
) -> None:
    first, second = claims
    job = submit(gateway)
    now = {"t": T0}
    Follower(gateway, InflightProjection(first)).run_once()
    upstream = FakeUpstream(name="fal")
    paused = fenced_dispatcher(gateway, tracking, first, A, upstream, lambda: now["t"])
    taker = fenced_dispatcher(gateway, tracking, second, B, upstream, lambda: now["t"])
    assert claim(first, A) == [job.id]
    now["t"] = T0 + sec(LEASE + 1)  # A froze before its intent; B claims and submits
    assert claim(second, B, at=now["t"]) == [job.id]
    await taker.dispatch(job.id)
    assert len(upstream.creates) == 1 and gateway.find_job(job.id).is_dispatched
    assert not LeaseFence(first, A, LEASE, clock=lambda: now["t"])(job.id)  # A wakes: not its
    await paused.dispatch(job.id)  # and the job is dispatched: nothing is submitted
    assert len(upstream.creates) == 1
    assert [e.by for e in gateway.history(job.id) if isinstance(e, Job.Dispatched)] == [B]


@pytest.mark.anyio
async def test_a_worker_that_read_an_older_version_drops_the_job(
    gateway, tracking, claims, anyio_backend
) -> None:
    first, _ = claims
    job = submit(gateway)
    upstream = FakeUpstream(name="fal")
    Follower(gateway, InflightProjection(first)).run_once()
    assert claim(first, A, at=datetime.now(UTC)) == [job.id]
    slow = fenced_dispatcher(gateway, tracking, first, A, upstream, lambda: datetime.now(UTC))
    stale = gateway.find_job(job.id)
    gateway.update_job(job.id, lambda j: j.cancel("api"))  # appended after A read the job
    assert stale is not None
    assert (
        await slow._intend(upstream, dispatch_request(stale, attempt_id="a"), stale.version) is None
    )
    assert upstream.creates == []
