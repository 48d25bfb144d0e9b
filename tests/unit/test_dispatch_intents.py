"""A job's intents to submit upstream: what the history says about every submit that may
have reached the upstream (`DispatchIntended` before the call, `Dispatched` after)."""

from __future__ import annotations

from events.job import Job
from tests.helpers import SUBMISSION


def new_job() -> Job:
    return Job(**SUBMISSION, idempotency_key=None)


def events(job: Job) -> list[Job.Event]:
    return list(job.collect_events())


def test_an_intent_is_pending_until_the_job_is_dispatched():
    job = new_job()
    job.intend_dispatch("kling", "a1")
    assert job.pending_attempt == "a1" and not job.is_dispatched
    job.dispatch("kling", "up-1")
    _, intended, dispatched = events(job)
    assert isinstance(intended, Job.DispatchIntended) and isinstance(dispatched, Job.Dispatched)
    assert (intended.attempt, intended.attempt_id, intended.unknown_outcome_of) == (1, "a1", None)
    assert (dispatched.attempt, dispatched.attempt_id) == (1, "a1")
    assert job.pending_attempt is None and job.dispatch_attempts == 1


def test_intending_the_pending_attempt_again_records_nothing():
    job = new_job()
    job.intend_dispatch("kling", "a1")
    job.intend_dispatch("kling", "a1")  # a resubmit the upstream dedupes
    assert [type(e).__name__ for e in events(job)] == ["Submitted", "DispatchIntended"]


def test_a_new_attempt_while_one_is_pending_records_the_unknown_outcome():
    job = new_job()
    job.intend_dispatch("runway", "a1")
    job.intend_dispatch("runway", "a2")
    job.dispatch("runway", "up-2")
    _, first, second, dispatched = events(job)
    assert isinstance(second, Job.DispatchIntended)
    assert (second.attempt, second.attempt_id, second.unknown_outcome_of) == (2, "a2", "a1")
    assert isinstance(first, Job.DispatchIntended) and first.unknown_outcome_of is None
    assert isinstance(dispatched, Job.Dispatched)
    assert (dispatched.attempt, dispatched.attempt_id) == (2, "a2")


def test_a_dispatched_or_ended_job_intends_nothing():
    dispatched = new_job()
    dispatched.intend_dispatch("luma", "a1")
    dispatched.dispatch("luma", "up-1")
    dispatched.intend_dispatch("luma", "a2")
    canceled = new_job()
    canceled.cancel("client")
    canceled.intend_dispatch("luma", "a1")
    assert "DispatchIntended" not in [type(e).__name__ for e in events(canceled)]
    assert [type(e).__name__ for e in events(dispatched)][-1] == "Dispatched"
    assert dispatched.pending_attempt is None


def test_a_dispatch_without_an_intent_still_counts_its_attempt():
    job = new_job()  # as the dispatcher did before intents were recorded
    job.dispatch("fal", "up-1")
    (_, dispatched) = events(job)
    assert isinstance(dispatched, Job.Dispatched)
    assert (dispatched.attempt, dispatched.attempt_id) == (1, None)
