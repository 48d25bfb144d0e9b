"""The Job aggregate's rules, example by example and over random signal sequences."""

from __future__ import annotations

import contextlib

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from events.job import Job, JobAlreadyFinished, JobNotCompleted
from tests.helpers import SUBMISSION

OUTPUT = {"url": "/v1/videos/x/content", "bytes": 10, "sha256": "ab"}


def new_job(idempotency_key: str | None = None) -> Job:
    return Job(**SUBMISSION, idempotency_key=idempotency_key)


def kinds(job: Job) -> list[str]:
    return [type(e).__name__ for e in job.collect_events()]


def test_a_new_job_is_queued_with_no_progress():
    job = new_job()
    assert (job.status, job.progress, job.is_terminal) == ("queued", 0, False)


def test_the_same_idempotency_key_and_tenant_give_the_same_id():
    assert new_job("k1").id == new_job("k1").id
    assert new_job("k1").id != new_job("k2").id
    assert new_job().id != new_job().id


def test_progress_moves_forward_only():
    job = new_job()
    job.progress_to(30, "local")
    job.progress_to(30, "webhook")
    job.progress_to(10, "poll")
    assert kinds(job) == ["Submitted", "Progressed"]
    assert (job.status, job.progress) == ("in_progress", 30)


def test_progress_of_100_waits_for_completion():
    job = new_job()
    job.progress_to(100, "poll")
    assert (job.status, job.progress) == ("in_progress", 99)


def test_a_completed_job_absorbs_every_later_signal():
    job = new_job()
    job.complete(OUTPUT, "webhook")
    job.complete(OUTPUT, "poll")
    job.progress_to(50, "webhook")
    job.fail("late", "late failure", "poll")
    assert kinds(job) == ["Submitted", "Completed"]
    assert (job.status, job.progress) == ("completed", 100)
    assert job.finished_at is not None


def test_canceling_twice_is_harmless_but_canceling_a_finished_job_is_refused():
    job = new_job()
    job.cancel("api")
    job.cancel("api")
    assert kinds(job) == ["Submitted", "Canceled"]
    done = new_job()
    done.complete(OUTPUT, "local")
    with pytest.raises(JobAlreadyFinished):
        done.cancel("api")


def test_dispatching_again_with_the_same_upstream_id_records_nothing():
    job = new_job()
    job.dispatch("local", "u1")
    job.dispatch("local", "u1")
    assert kinds(job) == ["Submitted", "Dispatched"]
    assert job.upstream_id == "u1"


def test_output_is_stored_only_for_a_completed_job_and_once():
    job = new_job()
    with pytest.raises(JobNotCompleted):
        job.store_output("/x", 1, "ab", "local")
    job.complete(OUTPUT, "local")
    job.store_output("/x", 10, "ab", "local")
    job.store_output("/x", 10, "ab", "local")
    assert kinds(job)[-1] == "OutputStored"
    assert kinds(new_job()) == ["Submitted"]


def test_deleting_a_running_job_cancels_it_first():
    job = new_job()
    job.delete("api")
    job.delete("api")
    assert kinds(job) == ["Submitted", "Canceled", "Deleted"]
    assert job.deleted


# Random signal sequences: whatever upstreams and clients do, the history stays valid.

signals = st.one_of(
    st.tuples(st.just("progress"), st.integers(-10, 150)),
    st.tuples(st.just("complete"), st.none()),
    st.tuples(st.just("fail"), st.none()),
    st.tuples(st.just("cancel"), st.none()),
    st.tuples(st.just("dispatch"), st.sampled_from(["u1", "u2"])),
)


def apply(job: Job, signal: tuple[str, object]) -> None:
    kind, arg = signal
    if kind == "progress":
        job.progress_to(int(arg), "webhook")  # type: ignore[call-overload]
    elif kind == "complete":
        job.complete(OUTPUT, "poll")
    elif kind == "fail":
        job.fail("upstream_error", "boom", "webhook")
    elif kind == "dispatch":
        job.dispatch("local", str(arg))
    else:
        with contextlib.suppress(JobAlreadyFinished):
            job.cancel("api")


def assert_valid_history(events: list[object]) -> None:
    names = [type(e).__name__ for e in events]
    terminal = [i for i, n in enumerate(names) if n in ("Completed", "Failed", "Canceled")]
    assert names[0] == "Submitted"
    assert len(terminal) <= 1, names
    if terminal:
        assert not any(n in ("Progressed", "Dispatched") for n in names[terminal[0] + 1 :]), names
    percents = [e.percent for e in events if type(e).__name__ == "Progressed"]  # type: ignore[attr-defined]
    assert percents == sorted(set(percents)), percents
    assert all(0 < p < 100 for p in percents)


@settings(max_examples=300, deadline=None)
@given(st.lists(signals, max_size=30))
def test_any_signal_sequence_leaves_a_valid_history(sequence):
    job = new_job()
    for signal in sequence:
        apply(job, signal)
    assert_valid_history(job.collect_events())


@settings(max_examples=200, deadline=None)
@given(st.lists(signals, max_size=30))
def test_replaying_the_events_rebuilds_the_same_job(sequence):
    job = new_job()
    for signal in sequence:
        apply(job, signal)
    events = job.collect_events()
    rebuilt = None
    for event in events:
        rebuilt = event.mutate(rebuilt)
    assert rebuilt is not None
    assert (rebuilt.status, rebuilt.progress, rebuilt.upstream_id, rebuilt.output) == (
        job.status,
        job.progress,
        job.upstream_id,
        job.output,
    )


@settings(max_examples=200, deadline=None)
@given(st.lists(signals, max_size=20))
def test_a_signal_delivered_twice_appends_nothing_the_second_time(sequence):
    job = new_job()
    for signal in sequence:
        apply(job, signal)
        job.collect_events()
        if signal[0] == "dispatch":
            continue  # a dispatch to a different upstream id after another is a new fact
        apply(job, signal)
        assert job.collect_events() == [], signal


def priced_job() -> Job:
    return Job(**{**SUBMISSION, "cost_estimate": 1.5}, idempotency_key=None)


def test_the_charge_is_known_once_the_job_ended():
    running = priced_job()
    assert running.charged is None
    reported = priced_job()
    reported.complete(OUTPUT, "poll", cost=0.42)
    assert reported.charged == 0.42
    priced = priced_job()
    priced.complete(OUTPUT, "poll")
    assert priced.charged == 1.5
    failed = priced_job()
    failed.fail("boom", "upstream failed", "poll")
    assert failed.charged == 0.0
    dispatched = priced_job()
    dispatched.dispatch("local", "up-1")
    dispatched.cancel("client")
    assert dispatched.charged == 1.5  # the upstream was asked to render
    early = priced_job()
    early.cancel("client")
    assert early.charged == 0.0
