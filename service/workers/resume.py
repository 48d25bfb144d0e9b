"""After taking the dispatcher lock: the local renders a crash or restart interrupted
start again (same job, same id)."""

from __future__ import annotations

import asyncio
import logging

from events.ids import video_id
from projections.follower import Follower
from service.providers.local import LocalProvider
from service.runtime import Runtime
from service.workers.dispatcher import dispatch_request

log = logging.getLogger(__name__)
CATCH_UP_TIMEOUT = 60.0


async def resume_local_renders(rt: Runtime, local: LocalProvider, jobs: Follower) -> None:
    """Restart each dispatched, unfinished local render (the jobs view lists them)."""
    await _wait_caught_up(jobs)
    rows = await asyncio.to_thread(rt.jobs_view.unfinished_jobs, local.name)
    for row in rows:
        if row.upstream_id is None:
            continue  # never dispatched: the dispatcher's backlog covers it
        job = await asyncio.to_thread(rt.gateway.find_job, row.job_id)
        if job is not None and not job.is_terminal and local.start(dispatch_request(job)):
            log.info("resuming the local render of %s", video_id(job.id))


async def _wait_caught_up(jobs: Follower) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + CATCH_UP_TIMEOUT
    while not await asyncio.to_thread(jobs.caught_up):
        if loop.time() > deadline:
            log.warning("jobs view still catching up; resuming local renders anyway")
            return
        await asyncio.sleep(0.05)
