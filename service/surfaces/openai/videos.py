"""`/v1/videos…`: the OpenAI Videos API, plus cancel and the job's audit history (as JSON,
or live as Server-Sent Events: `service.surfaces.openai.streams`)."""

from __future__ import annotations

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from events.apikey import VIDEOS_READ, VIDEOS_WRITE
from events.ids import parse_video_id, video_id
from events.job import STATUSES, Job
from projections.jobs.view import JobQuery, UnknownCursor
from service.runtime import Runtime
from service.surfaces.body import read_fields
from service.surfaces.errors import ApiError, invalid, not_found, text_parameter
from service.surfaces.idempotency import idempotency_key
from service.surfaces.job_ids import job_id_of
from service.surfaces.openai.history import history_item
from service.surfaces.openai.streams import job_stream
from service.surfaces.openai.time_travel import job_at, parse_at
from service.surfaces.openai.video_object import from_job, from_row
from service.surfaces.sse import wants_stream
from service.surfaces.stored import stored_response
from service.surfaces.waiting import settled
from service.videos import commands
from service.videos.commands import CancelVideo, CreateVideo, DeleteVideo

CONTENT_WAIT = 20.0  # seconds a content request waits for the output mirror


def runtime(request: Request) -> Runtime:
    rt: Runtime = request.app.state.runtime
    return rt


async def create_video(request: Request) -> Response:
    rt = runtime(request)
    principal = await rt.authenticator.authenticate(request)
    principal.require(VIDEOS_WRITE)
    key = idempotency_key(request)
    fields = await read_fields(request, rt.settings.max_body_bytes)
    command = CreateVideo(principal.tenant, fields, idempotency_key=key, **principal.as_submitter())
    job, created = await commands.create_video_async(rt, command)
    body = from_job(job, str(request.base_url))
    return JSONResponse(body, status_code=202 if created else 200, headers=_poll_after(rt, job))


async def _owned_job(request: Request, scope: str, *, deleted_ok: bool = False) -> Job:
    """The path's job if the caller's tenant owns it; 404 otherwise (never 403)."""
    rt = runtime(request)
    principal = await rt.authenticator.authenticate(request)
    principal.require(scope)
    public_id = request.path_params["video_id"]
    job_id = job_id_of(public_id)  # as any surface spells it: the v2 jobId, NovaKit's job_…
    job = None
    if job_id is not None:  # a cached job brought up to date: one short query (`service.lane`)
        job = await rt.reads.run(lambda: rt.gateway.find_job(job_id))
    if job is None or job.tenant != principal.tenant or (job.deleted and not deleted_ok):
        raise not_found(f"no video with id {public_id!r}", param="video_id")
    return job


async def retrieve_video(request: Request) -> Response:
    job = await _owned_job(request, VIDEOS_READ)
    at = request.query_params.get("at")
    if at is not None:  # time travel: the video as it was then (see `time_travel`)
        then = await run_in_threadpool(job_at, runtime(request).gateway, job, parse_at(at))
        return JSONResponse(from_job(then, str(request.base_url)))
    body = from_job(job, str(request.base_url))
    return JSONResponse(body, headers=_poll_after(runtime(request), job))


def _poll_after(rt: Runtime, job: Job) -> dict[str, str]:
    """The `openai` SDK's poll() waits as long as this header says."""
    return {} if job.is_terminal else {"openai-poll-after-ms": str(rt.settings.poll_after_ms)}


async def list_videos(request: Request) -> Response:
    rt = runtime(request)
    principal = await rt.authenticator.authenticate(request)
    principal.require(VIDEOS_READ)
    query = _list_query(request, principal.tenant, rt)
    try:
        rows, has_more = await run_in_threadpool(rt.jobs_view.list_jobs, query)
    except UnknownCursor:
        raise invalid("after", "after must be the id of one of your videos") from None
    data = [from_row(row, str(request.base_url)) for row in rows]
    return JSONResponse(
        {
            "object": "list",
            "data": data,
            "has_more": has_more,
            "first_id": data[0]["id"] if data else None,
            "last_id": data[-1]["id"] if data else None,
        }
    )


def _list_query(request: Request, tenant: str, rt: Runtime) -> JobQuery:
    params = request.query_params
    unknown = sorted(set(params) - {"after", "limit", "order", "status", "model"})
    if unknown:
        raise invalid(unknown[0], f"unknown query parameter {unknown[0]!r}", "unknown_parameter")
    limit_raw = params.get("limit", "20")
    if not (limit_raw.isascii() and limit_raw.isdecimal()) or not 1 <= int(limit_raw) <= 100:
        raise invalid("limit", "limit must be an integer from 1 to 100")
    order = params.get("order", "desc")
    if order not in ("asc", "desc"):
        raise invalid("order", "order must be asc or desc")
    status = params.get("status")
    if status is not None and status not in STATUSES:
        raise invalid("status", f"status must be one of {', '.join(STATUSES)}")
    after = params.get("after")
    after_id = parse_video_id(after) if after else None
    if after and after_id is None:
        raise invalid("after", "after must be a video id (video_…)")
    model = text_parameter(params, "model")  # an empty filter is no filter
    spec = rt.catalog.resolve(model) if model else None
    return JobQuery(
        tenant=tenant,
        limit=int(limit_raw),
        order=order,
        after=after_id,
        status=status,
        model=spec.id if spec else model,
    )


async def download_content(request: Request) -> Response:
    job = await _owned_job(request, VIDEOS_READ)
    return await content_response(request, job)


async def content_response(request: Request, job: Job) -> Response:
    """The job's video (or `?variant=thumbnail`), once completed and stored; the console
    serves its videos with this too."""
    variant = request.query_params.get("variant", "video")
    if variant not in ("video", "thumbnail", "spritesheet"):
        raise invalid("variant", "variant must be video or thumbnail")
    if variant == "spritesheet":
        raise invalid("variant", "the spritesheet variant is not supported", "unsupported_variant")
    if job.status == "completed" and not job.output_stored:
        # The mirror copies an upstream's output moments after `Completed`.
        job = await settled(request, job, lambda j: j.output_stored, CONTENT_WAIT)
    if job.status != "completed" or not job.output_stored:
        raise ApiError(
            409,
            f"video {video_id(job.id)} is {job.status}; its content is available "
            "once it is completed",
            code="video_not_ready",
            param="video_id",
        )
    rt = runtime(request)
    index = _output_index(request, job)
    if variant == "thumbnail":  # made from the video on first request, then kept
        made = await run_in_threadpool(rt.storage.ensure_thumbnail, job.id, index)
        key, media_type, suffix = rt.storage.thumbnail_key(job.id, index), "image/jpeg", "jpg"
    else:
        key, media_type, suffix = rt.storage.output_key(job.id, index), "video/mp4", "mp4"
        made = True
    filename = f"{video_id(job.id)}{f'_{index}' if index else ''}.{suffix}"
    response = await stored_response(request, rt, key, media_type, filename) if made else None
    if response is None:
        raise not_found("the video's file is missing from storage", param="video_id")
    return response


def _output_index(request: Request, job: Job) -> int:
    """`?index=`: which video of a job that made several (0, the default, is the first)."""
    raw = request.query_params.get("index", "0")
    count = job.video_count
    if not raw.isdigit() or int(raw) >= count:
        raise invalid("index", f"index must be a whole number from 0 to {count - 1}")
    return int(raw)


async def cancel_video(request: Request) -> Response:
    job = await _owned_job(request, VIDEOS_WRITE)
    rt = runtime(request)
    job = await run_in_threadpool(commands.cancel_video, rt, CancelVideo(job.tenant, job.id))
    return JSONResponse(from_job(job, str(request.base_url)))


async def delete_video(request: Request) -> Response:
    job = await _owned_job(request, VIDEOS_WRITE)
    rt = runtime(request)
    await run_in_threadpool(commands.delete_video, rt, DeleteVideo(job.tenant, job.id))
    return JSONResponse({"id": video_id(job.id), "object": "video.deleted", "deleted": True})


async def video_events(request: Request) -> Response:
    job = await _owned_job(request, VIDEOS_READ, deleted_ok=True)
    if wants_stream(request):
        return await job_stream(request, job)
    events = await run_in_threadpool(runtime(request).gateway.history, job.id)
    data = [history_item(event) for event in events]
    return JSONResponse({"object": "list", "video_id": video_id(job.id), "data": data})


routes = [
    Route("/v1/videos", create_video, methods=["POST"]),
    Route("/v1/videos", list_videos, methods=["GET"]),
    Route("/v1/videos/{video_id}", retrieve_video, methods=["GET"]),
    Route("/v1/videos/{video_id}", delete_video, methods=["DELETE"]),
    Route("/v1/videos/{video_id}/content", download_content, methods=["GET"]),
    Route("/v1/videos/{video_id}/cancel", cancel_video, methods=["POST"]),
    Route("/v1/videos/{video_id}/events", video_events, methods=["GET"]),
]
