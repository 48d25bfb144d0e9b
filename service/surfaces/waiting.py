"""Requests that hold until their job changes: asleep until the process's `JobWatch` says the
job has new events, the client leaves, or the time is up. Nothing polls meanwhile."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request

from events.job import Job
from service.runtime import Runtime
from service.videos.watch import JobWatch


async def settled(request: Request, job: Job, done: Callable[[Job], bool], limit: float) -> Job:
    """The job once `done(job)`, or as it is after `limit` seconds or when the client leaves.
    It is read again when it changes, and once at the end of the wait."""
    if done(job):
        return job
    rt: Runtime = request.app.state.runtime
    watch: JobWatch = request.app.state.watch
    loop = asyncio.get_running_loop()
    deadline = loop.time() + limit
    async with watch.watching(job.id) as changed:
        leaving: asyncio.Future[object] = asyncio.ensure_future(_disconnected(request))
        try:
            job = await _reload(rt, job)  # it may have changed before the watch began
            while not done(job) and not leaving.done():
                woken = await _woken(changed, leaving, deadline - loop.time())
                if not leaving.done():
                    job = await _reload(rt, job)
                if not woken:
                    break
        finally:
            leaving.cancel()
    return job


async def _woken(changed: asyncio.Event, leaving: asyncio.Future[object], seconds: float) -> bool:
    """Whether the job changed within `seconds` (False: the time is up or the client left)."""
    if seconds <= 0:
        return False
    told: asyncio.Future[object] = asyncio.ensure_future(changed.wait())
    listening: set[asyncio.Future[object]] = {told, leaving}
    try:
        await asyncio.wait(listening, timeout=seconds, return_when=asyncio.FIRST_COMPLETED)
    finally:
        told.cancel()
    woken = changed.is_set()
    changed.clear()
    return woken


async def _disconnected(request: Request) -> None:
    """Returns when the client has gone. Its body has been read (or it had none): the server
    answers `receive` only at a disconnect, so this waits at no cost."""
    with contextlib.suppress(Exception):  # can't listen: stop waiting, as if it had left
        while (await request.receive())["type"] != "http.disconnect":
            pass


async def _reload(rt: Runtime, job: Job) -> Job:
    found: Job | None = await run_in_threadpool(rt.gateway.find_job, job.id)
    return found or job
