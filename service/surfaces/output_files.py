"""A job's stored video and thumbnail behind a signed output link (`service.storage.links`).

Every compatible surface hands out such links (Concurred's `video_url`, v2's `videoUrl` and
`thumbnailUrl`, NovaKit's `url`, the task API's `url`) under its own prefix, so that a
refusal comes out in its own error shape: an invalid or expired link is a 403, a video no
longer stored a 404. No key: the link is the credential. Range requests work (a player seeks).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from uuid import UUID

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from events.ids import video_id
from events.job import COMPLETED, Job
from service.runtime import Runtime
from service.storage.links import InvalidLink
from service.surfaces.errors import ApiError
from service.surfaces.stored import stored_response
from service.surfaces.waiting import settled

VIDEO, THUMBNAIL = "mp4", "jpg"
MEDIA_TYPES = {VIDEO: "video/mp4", THUMBNAIL: "image/jpeg"}
STORE_WAIT = 20.0  # after `Completed`, how long a link waits for the stored copy

Endpoint = Callable[[Request], Awaitable[Response]]


def output_url(
    rt: Runtime, base: str, prefix: str, job_id: UUID, kind: str = VIDEO, index: int = 0
) -> str:
    """The signed link to the job's file of `kind`, under the surface's `prefix`; `index`
    picks another video of a job that made several (the link signs the job: any of its
    videos is the same grant)."""
    link = f"{base}{prefix}/{rt.output_links.token(prefix, job_id)}.{kind}"
    return f"{link}?index={index}" if index else link


def file_routes(
    prefix: str, wrap: Callable[[Endpoint], Endpoint], kinds: tuple[str, ...] = (VIDEO,)
) -> list[Route]:
    """The routes serving `prefix`'s links, each wrapped in the surface's error mapping."""

    def endpoint(kind: str) -> Endpoint:
        async def linked(request: Request) -> Response:
            return await linked_file(request, prefix, kind)

        return wrap(linked)

    return [Route(f"{prefix}/{{token}}.{kind}", endpoint(kind), methods=["GET"]) for kind in kinds]


async def linked_file(request: Request, prefix: str, kind: str) -> Response:
    """The file a link names; the link's own salt is the surface's prefix."""
    rt: Runtime = request.app.state.runtime
    job_id = _job_id(rt, prefix, request.path_params["token"])
    job: Job | None = await run_in_threadpool(rt.gateway.find_job, job_id)
    if job is not None and job.status == COMPLETED and not job.output_stored:
        job = await settled(request, job, lambda j: j.output_stored, STORE_WAIT)
    if job is None or job.deleted or not job.output_stored:
        raise _gone()
    index = _index(request, job)
    key = rt.storage.output_key(job_id, index)
    if kind == THUMBNAIL:
        if not await run_in_threadpool(rt.storage.ensure_thumbnail, job_id, index):
            raise _gone()
        key = rt.storage.thumbnail_key(job_id, index)
    filename = f"{video_id(job_id)}{f'_{index}' if index else ''}.{kind}"
    # inline: a browser shows it rather than saving it
    media_type = MEDIA_TYPES[kind]
    response = await stored_response(request, rt, key, media_type, filename, disposition="inline")
    if response is None:
        raise _gone()
    return response


def _index(request: Request, job: Job) -> int:
    raw = request.query_params.get("index", "0")
    if not raw.isdigit() or int(raw) >= job.video_count:
        message = f"index must be a whole number from 0 to {job.video_count - 1}"
        raise ApiError(400, message, code="invalid_value", param="index")
    return int(raw)


def _gone() -> ApiError:
    return ApiError(404, "the video is no longer stored", code="not_found")


def _job_id(rt: Runtime, prefix: str, token: str) -> UUID:
    try:
        return rt.output_links.job_id(prefix, token)
    except InvalidLink as error:
        message = "the video link has expired: GET the job again for a fresh one"
        if not error.expired:
            message = "the video link is not valid"
        raise ApiError(403, message, code="invalid_link") from None
