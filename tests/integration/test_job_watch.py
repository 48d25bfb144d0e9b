"""One `JobWatch` per process wakes the requests waiting on a job when that job changes
(issue 18, item 7): saves in this process wake at once, other processes' within the watch
interval, other jobs' events wake nobody, and while nobody waits the store is not read."""

from __future__ import annotations

import asyncio
import contextlib
import threading
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import replace
from uuid import UUID, uuid4

import pytest
from eventsourcing.persistence import Tracking
from starlette.testclient import TestClient

from events.app import Gateway
from projections.feed.postgres import PostgresFeedView
from projections.feed.sqlite import SQLiteFeedView
from projections.feed.view import FeedEvent, FeedView
from service.app import create_app
from service.persistence.stores import build_gateway, build_view
from service.runtime import close_view
from service.settings import Settings
from service.videos.watch import JobWatch
from tests.conftest import ADMIN_KEY
from tests.e2e.api import TINY
from tests.helpers import SUBMISSION

GUARD = 30.0  # a hang guard, not a timing assertion


@pytest.fixture
def other_process(settings: Settings) -> Iterator[Gateway]:
    """A second Gateway on the same store: the events another process would write."""
    other = build_gateway(settings)
    yield other
    other.close()


def submitted(gateway: Gateway, count: int = 1) -> list:
    return [gateway.submit(**SUBMISSION, idempotency_key=None)[0].id for _ in range(count)]


@contextlib.asynccontextmanager
async def waiting_on_each(watch: JobWatch, jobs: list) -> AsyncIterator[list[asyncio.Event]]:
    """A waiter on each of `jobs`."""
    async with contextlib.AsyncExitStack() as stack:
        yield [await stack.enter_async_context(watch.watching(job)) for job in jobs]


def test_a_save_in_this_process_wakes_only_the_waiters_of_its_job(gateway):
    jobs = submitted(gateway, 20)

    async def scenario() -> list[bool]:
        watch = JobWatch(gateway, interval=GUARD)  # only the save itself can wake them
        await watch.start()
        async with waiting_on_each(watch, jobs) as events:
            await asyncio.to_thread(gateway.record_progress, jobs[7], 40, "poll")
            await asyncio.wait_for(events[7].wait(), GUARD)
            woken = [event.is_set() for event in events]
        await watch.stop()
        return woken

    assert asyncio.run(scenario()) == [index == 7 for index in range(20)]


def test_an_event_another_process_wrote_wakes_the_waiter(gateway, other_process):
    [job] = submitted(gateway)

    async def scenario() -> bool:
        watch = JobWatch(gateway, interval=0.05)
        await watch.start()
        async with watch.watching(job) as changed:
            await asyncio.to_thread(other_process.update_job, job, lambda j: j.cancel("other"))
            await asyncio.wait_for(changed.wait(), GUARD)
        await watch.stop()
        return changed.is_set()

    assert asyncio.run(scenario())


def test_while_nobody_waits_saves_cost_the_watch_nothing(gateway):
    async def scenario() -> int:
        watch = JobWatch(gateway, interval=0.01)
        await watch.start()
        for job in submitted(gateway, 10):
            await asyncio.to_thread(gateway.record_progress, job, 10, "poll")
        await asyncio.sleep(0.2)  # twenty intervals in which it could have looked
        await watch.stop()
        return watch.scans

    assert asyncio.run(scenario()) == 0


def test_a_novakit_long_poll_returns_when_another_process_cancels_the_job(settings, other_process):
    app = create_app(replace(settings, run_workers=False, watch_interval=0.05))
    with TestClient(app, headers={"Authorization": f"Bearer {ADMIN_KEY}"}) as api:
        job_id = api.post("/v1/videos", json=TINY).json()["id"].removeprefix("video_")
        answers: list[dict] = []
        poll = threading.Thread(target=lambda: answers.append(long_poll(api, job_id)))
        poll.start()
        watch: JobWatch = app.state.watch
        wait_until(lambda: watch.waiting == 1)
        other_process.update_job(UUID(job_id), lambda job: job.cancel("other"))
        poll.join(GUARD)
    assert [answer["status"] for answer in answers] == ["cancelled"]
    assert watch.waiting == 0


def long_poll(api: TestClient, job_id: str) -> dict:
    params = {"poll": "true", "timeout": "60"}
    return api.get(f"/api/v1/jobs/job_{job_id}", params=params).json()


def wait_until(condition, timeout: float = GUARD) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "never happened"
        time.sleep(0.01)


@pytest.fixture
def feed(settings: Settings) -> Iterator[FeedView]:
    view: FeedView = build_view(settings, "feed", SQLiteFeedView, PostgresFeedView)
    yield view
    close_view(view)


def add_entry(feed: FeedView, position: int, tenant: str) -> None:
    """A feed row of `tenant`'s, as the feed projection writes it."""
    event = FeedEvent(position, uuid4(), "Submitted", 1, 0.0, {"object": "video.event"})
    feed.record(event, Tracking("vidgate", position), tenant=tenant)


def test_new_feed_entries_wake_only_the_streams_of_their_tenant(gateway, feed):
    async def scenario() -> tuple[bool, bool]:
        watch = JobWatch(gateway, feed=feed, interval=0.05)
        await watch.start()
        async with watch.watching_tenant("acme") as acme, watch.watching_tenant("zeta") as zeta:
            await asyncio.to_thread(add_entry, feed, 1, "acme")
            await asyncio.wait_for(acme.wait(), GUARD)
            woken = acme.is_set(), zeta.is_set()
        await watch.stop()
        return woken

    assert asyncio.run(scenario()) == (True, False)


def test_entries_before_a_stream_began_wake_nobody(gateway, feed):
    add_entry(feed, 1, "acme")

    async def scenario() -> bool:
        watch = JobWatch(gateway, feed=feed, interval=0.01)
        await watch.start()
        async with watch.watching_tenant("acme") as acme:
            scans = watch.scans
            # five looks at the feed, each finding nothing new
            await asyncio.to_thread(wait_until, lambda: watch.scans >= scans + 5)
            woken = acme.is_set()
        await watch.stop()
        return woken

    assert asyncio.run(scenario()) is False
