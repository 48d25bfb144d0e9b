"""One contract for the `jobs` view; it runs on SQLite and on PostgreSQL."""

from __future__ import annotations

from uuid import uuid4

import pytest
from eventsourcing.persistence import IntegrityError, Tracking

from projections.jobs.postgres import PostgresJobsView
from projections.jobs.sqlite import SQLiteJobsView
from projections.jobs.view import JobQuery, JobRow, UnknownCursor
from service.persistence.stores import build_view
from service.runtime import close_view

APP = "vidgate"


@pytest.fixture
def view(settings):
    built = build_view(settings, "jobs", SQLiteJobsView, PostgresJobsView)
    yield built
    close_view(built)


def row(seq: int, tenant: str = "acme", **overrides) -> JobRow:
    values = dict(
        job_id=uuid4(),
        tenant=tenant,
        seq=seq,
        model="local-preview",
        provider="local",
        status="queued",
        progress=0,
        prompt="p",
        seconds="1",
        size="160x90",
        created_at=1000.0 + seq,
        updated_at=1000.0 + seq,
    )
    return JobRow(**{**values, **overrides})


def track(n: int) -> Tracking:
    return Tracking(APP, n)


def test_an_inserted_job_reads_back_as_written(view):
    written = row(1)
    view.insert_job(written, track(1))
    assert view.get_job(written.job_id) == written
    assert view.max_tracking_id(APP) == 1


def test_updates_set_columns_and_merge_the_output(view):
    job = row(1)
    view.insert_job(job, track(1))
    view.update_job(job.job_id, {"status": "completed", "output": {"width": 160}}, track(2))
    view.update_job(job.job_id, {"output": {"url": "/c", "bytes": 9}}, track(3))
    stored = view.get_job(job.job_id)
    assert stored.status == "completed"
    assert stored.output == {"width": 160, "url": "/c", "bytes": 9}


def test_an_event_processed_twice_is_rejected_and_changes_nothing(view):
    job = row(1)
    view.insert_job(job, track(1))
    view.update_job(job.job_id, {"progress": 40}, track(2))
    with pytest.raises(IntegrityError):
        view.update_job(job.job_id, {"progress": 90}, track(2))
    assert view.get_job(job.job_id).progress == 40
    assert view.max_tracking_id(APP) == 2


def test_unknown_columns_are_refused(view):
    job = row(1)
    view.insert_job(job, track(1))
    with pytest.raises(ValueError, match="tenant"):
        view.update_job(job.job_id, {"tenant": "other"}, track(2))


def test_listing_pages_newest_first_within_a_tenant(view):
    rows = [row(n) for n in range(1, 6)]
    for n, r in enumerate(rows, start=1):
        view.insert_job(r, track(n))
    view.insert_job(row(6, tenant="other"), track(6))
    first, more = view.list_jobs(JobQuery(tenant="acme", limit=2))
    assert [r.seq for r in first] == [5, 4] and more
    rest, more = view.list_jobs(JobQuery(tenant="acme", limit=10, after=first[-1].job_id))
    assert [r.seq for r in rest] == [3, 2, 1] and not more
    oldest, _ = view.list_jobs(JobQuery(tenant="acme", limit=2, order="asc"))
    assert [r.seq for r in oldest] == [1, 2]


def test_listing_filters_by_status_and_model_and_hides_deleted_jobs(view):
    a, b, c = row(1), row(2, model="other-model"), row(3)
    for n, r in enumerate((a, b, c), start=1):
        view.insert_job(r, track(n))
    view.update_job(a.job_id, {"status": "completed"}, track(4))
    view.update_job(c.job_id, {"deleted": 1}, track(5))
    completed, _ = view.list_jobs(JobQuery(tenant="acme", status="completed"))
    others, _ = view.list_jobs(JobQuery(tenant="acme", model="other-model"))
    everything, _ = view.list_jobs(JobQuery(tenant="acme"))
    assert [r.job_id for r in completed] == [a.job_id]
    assert [r.job_id for r in others] == [b.job_id]
    assert {r.job_id for r in everything} == {a.job_id, b.job_id}


def test_listing_filters_by_provider_and_submission_time(view):
    early, late, fal = row(1), row(2, created_at=2000.0), row(3, provider="fal")
    for n, r in enumerate((early, late, fal), start=1):
        view.insert_job(r, track(n))
    by_fal, _ = view.list_jobs(JobQuery(tenant="acme", provider="fal"))
    from_late, _ = view.list_jobs(JobQuery(tenant="acme", created_from=2000.0))
    before_late, _ = view.list_jobs(JobQuery(tenant="acme", created_before=2000.0))
    assert [r.job_id for r in by_fal] == [fal.job_id]
    assert [r.job_id for r in from_late] == [late.job_id]
    assert [r.job_id for r in before_late] == [fal.job_id, early.job_id]


def test_a_cursor_from_another_tenant_is_unknown(view):
    theirs = row(1, tenant="other")
    view.insert_job(theirs, track(1))
    with pytest.raises(UnknownCursor):
        view.list_jobs(JobQuery(tenant="acme", after=theirs.job_id))


def test_unfinished_jobs_are_the_live_ones_of_a_provider_oldest_first(view):
    live, done, elsewhere, gone = row(1), row(2), row(3, provider="fal"), row(4)
    for n, r in enumerate((live, done, elsewhere, gone), start=1):
        view.insert_job(r, track(n))
    view.update_job(done.job_id, {"status": "failed"}, track(5))
    view.update_job(gone.job_id, {"deleted": 1}, track(6))
    assert [r.job_id for r in view.unfinished_jobs("local")] == [live.job_id]


def test_text_with_nul_characters_is_stored_rather_than_jamming_the_projection(view):
    job = row(1, prompt="a\x00b")
    view.insert_job(job, track(1))
    view.update_job(job.job_id, {"error_message": "upstream\x00said no"}, track(2))
    stored = view.get_job(job.job_id)
    assert stored.prompt == "a\ufffdb"
    assert stored.error_message == "upstream\ufffdsaid no"
