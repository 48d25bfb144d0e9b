"""The Gateway application on a real store: idempotency, contention, and the jobs projection."""

from __future__ import annotations

import threading
from dataclasses import replace

import pytest

from events.job import Job
from projections.follower import Follower
from projections.jobs.postgres import PostgresJobsView
from projections.jobs.projection import JobsProjection
from projections.jobs.sqlite import SQLiteJobsView
from service.persistence.stores import build_gateway, build_view
from service.runtime import close_view
from tests.helpers import SUBMISSION


@pytest.fixture
def jobs_view(settings):
    view = build_view(settings, "jobs", SQLiteJobsView, PostgresJobsView)
    yield view
    close_view(view)


def test_submitting_with_the_same_idempotency_key_returns_the_first_job(gateway):
    first, created = gateway.submit(**SUBMISSION, idempotency_key="k")
    again, created_again = gateway.submit(**SUBMISSION, idempotency_key="k")
    assert created and not created_again and again.id == first.id
    assert len(gateway.history(first.id)) == 1


def test_concurrent_writers_on_one_job_are_retried_and_none_is_lost(gateway):
    job, _ = gateway.submit(**SUBMISSION, idempotency_key=None)
    errors: list[BaseException] = []

    def push(percents: range) -> None:
        try:
            for percent in percents:
                gateway.record_progress(job.id, percent, "webhook")
        except BaseException as error:
            errors.append(error)

    threads = [threading.Thread(target=push, args=(range(start, 99, 4),)) for start in range(1, 5)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    history = gateway.history(job.id)
    percents = [e.percent for e in history if isinstance(e, Job.Progressed)]
    assert percents == sorted(set(percents)) and gateway.find_job(job.id).progress == 98


def test_the_projection_sees_every_job_exactly_once_and_resumes_after_a_restart(
    gateway, jobs_view, settings
):
    jobs = [gateway.submit(**SUBMISSION, idempotency_key=None)[0] for _ in range(3)]
    follower = Follower(gateway, JobsProjection(view=jobs_view))
    assert follower.run_once() == 3
    gateway.record_progress(jobs[0].id, 50, "poll")
    gateway.update_job(jobs[1].id, lambda job: job.cancel("api"))
    restarted_view = build_view(settings, "jobs", SQLiteJobsView, PostgresJobsView)
    try:
        restarted = Follower(gateway, JobsProjection(view=restarted_view))
        assert restarted.run_once() == 2  # only what came after the last tracked position
        assert restarted.run_once() == 0
        assert restarted.caught_up()
        assert restarted_view.get_job(jobs[0].id).progress == 50
        assert restarted_view.get_job(jobs[1].id).status == "canceled"
    finally:
        close_view(restarted_view)


def test_a_second_follower_of_the_same_view_never_applies_an_event_twice(gateway, jobs_view):
    gateway.submit(**SUBMISSION, idempotency_key=None)
    first = Follower(gateway, JobsProjection(view=jobs_view))
    second = Follower(gateway, JobsProjection(view=jobs_view))
    assert first.run_once() == 1
    assert second.run_once() == 0


def test_processes_starting_together_on_a_fresh_store_all_get_their_tables(settings):
    """Workers starting at once each create the same tables (`IF NOT EXISTS`); none fails."""
    built: list[object] = []
    errors: list[BaseException] = []
    start = threading.Barrier(4)

    def open_store() -> None:
        try:
            start.wait()
            gateway = build_gateway(settings)
            view = build_view(settings, "canceler", SQLiteJobsView, PostgresJobsView)
            built.append((gateway, view))
        except BaseException as error:
            errors.append(error)

    threads = [threading.Thread(target=open_store) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    for gateway, view in built:  # type: ignore[misc]
        gateway.close()
        close_view(view)
    assert errors == []
    assert len(built) == 4


@pytest.mark.parametrize("store", ["postgres"])
def test_the_connection_pool_is_sized_by_the_settings(settings):
    """`VIDGATE_DB_POOL_SIZE` + `VIDGATE_DB_MAX_OVERFLOW` bound each store's connections."""
    app = build_gateway(replace(settings, db_pool_size=3, db_max_overflow=5))
    try:
        pool = app.recorder.datastore.pool  # type: ignore[attr-defined]
        assert (pool.min_size, pool.max_size) == (3, 8)
    finally:
        app.close()
