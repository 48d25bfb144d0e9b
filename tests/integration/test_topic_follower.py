"""A follower of rare topics reads the log once, not from its last handled event at every
poll (the canceler follows only `Canceled`: idle CPU grew with the history, doubling over a
10-minute soak). On both stores, with a recorder that counts what it is asked."""

from __future__ import annotations

import asyncio
from types import SimpleNamespace
from typing import Any
from uuid import UUID

from events.job import Job
from service.runtime import build_tracking
from service.workers.topic_follower import TopicFollower
from tests.helpers import SUBMISSION


class CountingRecorder:
    """The gateway's recorder, noting the start of every `select_notifications`."""

    def __init__(self, inner: Any) -> None:
        self.inner, self.starts = inner, []

    def max_notification_id(self) -> Any:
        return self.inner.max_notification_id()

    def select_notifications(self, **kwargs: Any) -> Any:
        self.starts.append(kwargs["start"])
        return self.inner.select_notifications(**kwargs)


def submit(gateway, n: int) -> list[Job]:
    return [gateway.submit(**{**SUBMISSION, "idempotency_key": None})[0] for _ in range(n)]


def test_a_follower_of_rare_topics_reads_each_event_once(gateway, settings):
    recorder = CountingRecorder(gateway.recorder)
    counted = SimpleNamespace(name=gateway.name, recorder=recorder)
    handled: list[UUID] = []

    async def handle(job_id: UUID) -> None:
        handled.append(job_id)

    follower = TopicFollower(counted, build_tracking(settings, "rare"), [Job.Canceled], handle)
    jobs = submit(gateway, 30)
    assert asyncio.run(follower.run_once()) == 0
    assert asyncio.run(follower.run_once()) == 0  # nothing new: the log is not read again
    assert recorder.starts == [0]
    gateway.update_job(jobs[3].id, lambda job: job.cancel("api"))
    submit(gateway, 5)
    assert asyncio.run(follower.run_once()) == 1 and handled == [jobs[3].id]
    head_before = recorder.starts[-1]
    assert head_before > 0  # read on from where it had read to, not from the start
    asyncio.run(follower.run_once())
    assert recorder.starts[-1] == head_before  # and not again
