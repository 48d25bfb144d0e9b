"""Group commit and the aggregate cache on real stores: concurrent submits share transactions
without losing or wrongly refusing any, and a cached job is never stale for its writer."""

from __future__ import annotations

import asyncio
import threading
from dataclasses import replace
from typing import Any

import psycopg
import pytest

from events.job import Job
from service.persistence.stores import build_gateway
from service.runtime import build_runtime, build_tracking, close_view
from tests.helpers import SUBMISSION

THREADS = 24
SAME_KEY = 6  # of them submit with one idempotency key: one job, the others get it back


def test_concurrent_submits_with_a_colliding_idempotency_key_each_get_the_right_answer(gateway):
    outcomes: list[Any] = [None] * THREADS
    start = threading.Barrier(THREADS)

    def submit(n: int) -> None:
        key = "same" if n < SAME_KEY else None
        start.wait(30)
        try:
            outcomes[n] = gateway.submit(**SUBMISSION, idempotency_key=key)
        except Exception as error:  # reported by the assertion below
            outcomes[n] = error

    threads = [threading.Thread(target=submit, args=(n,)) for n in range(THREADS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert not [o for o in outcomes if isinstance(o, Exception)]
    keyed = [outcomes[n] for n in range(SAME_KEY)]
    assert len({job.id for job, _ in keyed}) == 1
    assert sum(created for _, created in keyed) == 1
    assert all(created for _, created in outcomes[SAME_KEY:])
    ids = {job.id for job, _ in outcomes}
    assert len(ids) == THREADS - SAME_KEY + 1
    for job_id in ids:  # every answer was stored
        assert isinstance(gateway.find_job(job_id), Job)


def test_submits_from_the_event_loop_are_committed_before_they_return(gateway):
    async def submit_many() -> list[Job]:
        return await asyncio.gather(
            *(gateway.submit_new({**SUBMISSION, "idempotency_key": None}) for _ in range(30))
        )

    jobs = asyncio.run(submit_many())
    assert len({job.id for job in jobs}) == 30
    assert gateway.group.batches <= 30
    for job in jobs:
        assert gateway.find_job(job.id) is not None


def test_a_cached_job_reads_what_another_process_wrote_since(settings):
    """Two gateways on one store stand for two processes: the first's cached copy is
    fast-forwarded from the store on every read, so it is never stale."""
    first, second = build_gateway(settings), build_gateway(settings)
    try:
        assert first.repository.cache is not None
        job, _ = first.submit(**SUBMISSION, idempotency_key=None)
        assert first.find_job(job.id).status == "queued"  # now cached in `first`
        second.record_progress(job.id, 40, "test")
        seen = first.find_job(job.id)
        assert seen.progress == 40
        first.update_job(job.id, lambda j: j.cancel("test"))
        assert first.find_job(job.id).status == "canceled"
        assert second.find_job(job.id).status == "canceled"
    finally:
        first.close()
        second.close()


def test_a_read_copy_can_not_change_the_cached_job(gateway):
    job, _ = gateway.submit(**SUBMISSION, idempotency_key=None)
    copy = gateway.find_job(job.id)
    copy.params["seconds"] = "99"
    assert gateway.find_job(job.id).params["seconds"] == "1"


@pytest.mark.parametrize("store", ["postgres"])
def test_every_store_of_a_process_shares_one_named_pool(settings, tmp_path):
    """The event store, the views and the followers' tracking: one pool, one name in
    `pg_stat_activity`, closed with the last store that used it."""
    name = f"vidgate-test-{tmp_path.name[-20:]}"
    settings = replace(settings, db_application_name=name)
    rt = build_runtime(settings)
    tracking = build_tracking(settings, "dispatcher")
    try:
        pools = {
            id(store.datastore.pool)
            for store in (rt.gateway.recorder, rt.deliveries_view, rt.feed_view, tracking)
        }
        assert len(pools) == 1
        pool = rt.gateway.recorder.datastore.pool
        assert pool.max_size == settings.db_pool_size + settings.db_max_overflow
        rt.gateway.submit(**SUBMISSION, idempotency_key=None)
        with psycopg.connect(str(settings.database_url), autocommit=True) as conn:
            query = "SELECT count(*) FROM pg_stat_activity WHERE application_name = %s"
            count = conn.execute(query, (name,)).fetchone()[0]
        assert 0 < count <= pool.max_size
    finally:
        close_view(tracking)
        assert not pool.closed  # the runtime's stores still use it
        rt.close()
    assert pool.closed
