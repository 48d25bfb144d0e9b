"""The live versions of a job's history and of the tenant feed, as Server-Sent Events.

`GET /v1/videos/{id}/events` and `GET /v1/events` answer with a stream when asked
(`Accept: text/event-stream` or `?stream=true`). Each event is the item the JSON answer
lists; its id is the job event's version (a job stream) or the feed position (the feed
stream), so a client reconnecting with `Last-Event-ID` gets exactly what came after.

A job stream ends after the job's terminal event. After `completed` it waits for
`OutputStored` (the output mirror's copy, normally within a second) for up to one heartbeat
interval, so a client that follows to the end also learns where the video is kept.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass, replace
from uuid import UUID

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response

from events.ids import video_id
from events.job import COMPLETED, Job
from projections.feed.view import FeedQuery
from service.runtime import Runtime
from service.surfaces.openai.history import history_item
from service.surfaces.sse import event_stream, follow, frame, last_event_id
from service.videos.watch import JobWatch

TERMINAL_EVENTS = frozenset({"Completed", "Failed", "Canceled"})


async def job_stream(request: Request, job: Job, after: int = 0) -> Response:
    """The job's events after `Last-Event-ID` (else after version `after`: all of them by
    default) until it ends; a 204 when it has ended and the client has seen everything (a
    browser stops reconnecting)."""
    after = last_event_id(request) or after
    if is_finished(job) and after >= job.version:
        return Response(status_code=204)
    rt: Runtime = request.app.state.runtime
    watch: JobWatch = request.app.state.watch
    source = JobEvents(rt, job.id, after)

    async def body() -> AsyncIterator[bytes]:
        async with watch.watching(job.id) as changed:
            opening = f"events of {video_id(job.id)}"
            async for data in follow(changed, source, rt.settings.stream_heartbeat, opening):
                yield data

    return event_stream(request, body())


def is_finished(job: Job) -> bool:
    """Nothing more will be streamed: it ended, and a completed one has its stored copy."""
    return job.is_terminal and (job.status != COMPLETED or job.output_stored)


@dataclass
class JobEvents:
    """A job's events after version `last`, read again whenever the job changes."""

    rt: Runtime
    job_id: UUID
    last: int
    over: bool = False
    waited_for_output: bool = False  # a read after `completed` found no stored copy yet

    async def news(self) -> AsyncIterator[bytes]:
        events = await run_in_threadpool(self.rt.gateway.history, self.job_id)
        for event in events:
            if event.originator_version > self.last:
                yield frame(event.originator_version, history_item(event))
                self.last = event.originator_version
        self.over = self._ended({type(event).__name__ for event in events})

    def _ended(self, kinds: set[str]) -> bool:
        if not kinds & TERMINAL_EVENTS:
            return False
        if "Completed" not in kinds or "OutputStored" in kinds:
            return True
        # Completed, not stored yet: one more wait (a change, or the next heartbeat).
        ended, self.waited_for_output = self.waited_for_output, True
        return ended


async def feed_stream(request: Request, query: FeedQuery) -> Response:
    """The tenant's feed after `Last-Event-ID` (else the query's `after`), for as long as
    the client stays."""
    resumed = last_event_id(request)
    if resumed is not None:
        query = replace(query, after=resumed)
    tenant = query.tenant
    assert tenant is not None  # a tenant's own feed, never the export's all-tenants one
    rt: Runtime = request.app.state.runtime
    watch: JobWatch = request.app.state.watch
    source = FeedEntries(rt, query)

    async def body() -> AsyncIterator[bytes]:
        async with watch.watching_tenant(tenant) as changed:
            opening = "events of the tenant feed"
            async for data in follow(changed, source, rt.settings.stream_heartbeat, opening):
                yield data

    return event_stream(request, body())


@dataclass
class FeedEntries:
    """The feed's entries after `query.after`, a page at a time, read again on a wake."""

    rt: Runtime
    query: FeedQuery
    over: bool = False  # the feed has no end

    async def news(self) -> AsyncIterator[bytes]:
        more = True
        while more:
            entries, more = await run_in_threadpool(self.rt.feed_view.page, self.query)
            for entry in entries:
                yield frame(entry.position, entry.public_item())
            if entries:
                self.query = replace(self.query, after=entries[-1].position)
