"""One job: its whole history (growing live), its video, its upstream attempts and its
webhook deliveries; cancel and delete.

The timeline follows the job's own stream (`job_stream`, as `GET /v1/videos/{id}/events`
streams it) from the version the page was rendered at, so nothing shows twice or is missed.
"""

from __future__ import annotations

from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from events.apikey import VIDEOS_READ, VIDEOS_WRITE, WEBHOOKS_READ
from events.ids import video_id
from events.job import Job
from service.surfaces.console.guard import Visit, console_page, visit
from service.surfaces.console.jobs import owned_job
from service.surfaces.console.render import page
from service.surfaces.errors import invalid
from service.surfaces.openai.history import history_item
from service.surfaces.openai.streams import job_stream
from service.surfaces.openai.video_object import from_job
from service.surfaces.openai.videos import content_response
from service.surfaces.openai.webhook_endpoints import deliveries_with_attempts
from service.videos import commands
from service.videos.commands import CancelVideo, DeleteVideo

# The events that are the job's dealings with its upstream: what was tried, where, and how
# it ended when the dispatcher gave up.
UPSTREAM = frozenset({"DispatchIntended", "Dispatched"})


@console_page
async def job_page(request: Request) -> Response:
    you = await visit(request)
    you.principal.require(VIDEOS_READ)
    job = await owned_job(you, request.path_params["video_id"])
    events = await run_in_threadpool(you.rt.gateway.history, job.id)
    timeline = [history_item(event) for event in events]
    context = you.context(
        video=from_job(job, ""),
        job=job,
        version=job.version,
        timeline=timeline,
        upstream=[item for item in timeline if _upstream(item)],
        deliveries=await _deliveries(you, job),
        playable=job.status == "completed" and job.output_stored,
    )
    return page("job.html", context)


def _upstream(item: dict[str, Any]) -> bool:
    return item["type"] in UPSTREAM or item["data"].get("source") == "dispatcher"


async def _deliveries(you: Visit, job: Job) -> list[dict[str, Any]] | None:
    """The job's webhook deliveries with their attempts (None: the key may not see them)."""
    if not you.can(WEBHOOKS_READ):
        return None
    view = you.rt.deliveries_view
    rows = await run_in_threadpool(view.deliveries_of_job, job.id.hex)
    return await run_in_threadpool(deliveries_with_attempts, view, rows)


@console_page
async def job_events(request: Request) -> Response:
    """The job's events after `?after=` (a version), live, until it ends."""
    you = await visit(request)
    you.principal.require(VIDEOS_READ)
    job = await owned_job(you, request.path_params["video_id"], deleted_ok=True)
    raw = request.query_params.get("after") or "0"
    if not (raw.isascii() and raw.isdecimal() and len(raw) <= 18):
        raise invalid("after", "after must be a version of the job")
    return await job_stream(request, job, after=int(raw))


@console_page
async def job_content(request: Request) -> Response:
    """The video (or `?variant=thumbnail`) for the page's `<video>` and `<img>`."""
    you = await visit(request)
    you.principal.require(VIDEOS_READ)
    job = await owned_job(you, request.path_params["video_id"])
    return await content_response(request, job)


@console_page
async def cancel_job(request: Request) -> Response:
    you = await visit(request)
    await you.form(VIDEOS_WRITE)
    job = await owned_job(you, request.path_params["video_id"])
    command = CancelVideo(you.tenant, job.id, by="console")
    await run_in_threadpool(commands.cancel_video, you.rt, command)
    return RedirectResponse(f"/console/jobs/{video_id(job.id)}", status_code=303)


@console_page
async def delete_job(request: Request) -> Response:
    you = await visit(request)
    await you.form(VIDEOS_WRITE)
    job = await owned_job(you, request.path_params["video_id"])
    command = DeleteVideo(you.tenant, job.id, by="console")
    await run_in_threadpool(commands.delete_video, you.rt, command)
    return RedirectResponse(f"/console/jobs?deleted={video_id(job.id)}", status_code=303)
