"""The v2 video API: `POST /v2/videos/generate` → `202 {jobId, status: "QUEUED"}`, and
`GET /v2/jobs/{jobId}` to poll (the seed shows no jobs body: this one follows its style).

A request is `prompt` (1-4,000 characters), `model` (the 31 v2 ids are catalog entries; any
other id or alias works too), `webhookUrl` + `webhookEvents`, and the model's own parameters
(`PARAMETERS`), in a `parameters` object or at the top level — one place per field. They
become vidgate's canonical create fields, so the catalog validates them and a refusal names
the field as the client spelt it (`parameters.duration`). Statuses are upper case; errors are
`{error: <the seed's Error column>, message, code, field}`.

A finished job's `result.videoUrl` and `result.thumbnailUrl` are usable without a key (a
player, a CDN or an `<img>` fetches them): signed links to vidgate's stored copy
(`/v2/files/<token>.mp4|.jpg`, `service.surfaces.output_files`), valid for 3 days by default
(`VIDGATE_OUTPUT_LINK_TTL_S`; GET the job again for fresh ones); tampered or expired: a 403.
`Idempotency-Key` (a header, as on `/v1/videos`): a retried generate with the same key and
body answers 202 with the same `jobId`; the same key with another body is a 409.
A `webhookUrl` gets the seed's events (`WEBHOOK_EVENTS` unless `webhookEvents` picks some;
`canceled` only when asked for), each carrying the `jobId` (`service.surfaces.v2_webhooks`).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from uuid import UUID

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from events.apikey import VIDEOS_READ, VIDEOS_WRITE
from events.ids import parse_video_id
from events.job import CANCELED, COMPLETED, FAILED, IN_PROGRESS, QUEUED, Job
from service.catalog import Catalog
from service.runtime import Runtime
from service.surfaces.body import read_fields
from service.surfaces.errors import ApiError, invalid
from service.surfaces.facade import (
    as_sent,
    base_url,
    iso,
    owned_job,
    principal_of,
    rendered,
    runtime,
    translated,
)
from service.surfaces.idempotency import NAMES as KEY_NAMES
from service.surfaces.idempotency import idempotency_key
from service.surfaces.output_files import THUMBNAIL, VIDEO, file_routes, output_url
from service.videos.commands import CreateVideo, create_video
from service.videos.errors import Refused

SURFACE = "v2"
PREFIXES = ("/v2/",)  # its paths: an unknown one under them answers in its error shape
MAX_PROMPT = 4000
STATUSES = {
    QUEUED: "QUEUED",
    IN_PROGRESS: "PROCESSING",
    COMPLETED: "COMPLETED",
    FAILED: "FAILED",
    CANCELED: "CANCELED",
}
# The seed's Error column for its statuses (402 is never sent: vidgate has no credits yet).
ERRORS = {
    400: "Validation error",
    401: "Unauthorized",
    402: "Insufficient credits",
    403: "Forbidden",
    404: "Not found",
    405: "Method not allowed",
    409: "Conflict",
    413: "Payload too large",
    415: "Unsupported media type",
    429: "Too many requests",
    503: "Service unavailable",
}
WEBHOOK_EVENTS = ["progress", "completed", "failed"]  # the seed's list, and the default
FILES = "/v2/files"  # where the signed video and thumbnail links point
COMMON = {
    "prompt": "prompt",
    "model": "model",
    "webhookUrl": "webhook_url",
    "webhookEvents": "webhook_events",
}
# A model's own parameters (camelCase as the seed spells its fields, or snake_case) → the
# canonical create field each one sets.
PARAMETERS = {
    "duration": "seconds",
    "resolution": "resolution",
    "fps": "fps",
    "seed": "seed",
    "aspectRatio": "aspect_ratio",
    "aspect_ratio": "aspect_ratio",
    "negativePrompt": "negative_prompt",
    "negative_prompt": "negative_prompt",
    "generateAudio": "audio",
    "generate_audio": "audio",
    "audio": "audio",
    "imageUrl": "image_url",
    "image_url": "image_url",
    "endImageUrl": "end_image_url",
    "end_image_url": "end_image_url",
}


def render(error: ApiError) -> Response:
    """The v2 error body; the one place this surface maps a refusal."""
    body = {
        "error": ERRORS.get(error.status, "Internal error"),
        "message": error.message,
        "code": error.code,
        "field": error.param,
    }
    return JSONResponse(body, status_code=error.status, headers=error.headers)


@translated(render)
async def generate(request: Request) -> Response:
    rt = runtime(request)
    principal = await principal_of(request)
    principal.require(VIDEOS_WRITE)
    key = idempotency_key(request)
    body = await read_fields(request, rt.settings.max_body_bytes)
    fields, names = canonical_fields(body, rt.catalog)
    command = CreateVideo(
        principal.tenant,
        fields,
        idempotency_key=key,
        surface=SURFACE,
        **principal.as_submitter(),
    )
    try:
        job, _ = await run_in_threadpool(create_video, rt, command)
    except Refused as error:  # told with the names this client used (`parameters.duration`)
        raise as_sent({**names, **KEY_NAMES})(error) from None
    return JSONResponse({"jobId": str(job.id), "status": STATUSES[job.status]}, status_code=202)


@translated(render)
async def get_job(request: Request) -> Response:
    rt = runtime(request)
    principal = await principal_of(request)
    principal.require(VIDEOS_READ)
    raw = request.path_params["jobId"]
    job = await owned_job(request, principal.tenant, parse_job_id(raw))
    if job is None:
        raise ApiError(404, f"no job with id {raw!r}", code="not_found", param="jobId")
    return JSONResponse(job_body(job, base_url(request), rt))


def canonical_fields(
    body: Mapping[str, Any], catalog: Catalog
) -> tuple[dict[str, Any], dict[str, str]]:
    """The canonical create fields, and for each the name the client gave it."""
    unknown = sorted(set(body) - set(COMMON) - set(PARAMETERS) - {"parameters"})
    if unknown:
        raise invalid(unknown[0], f"unknown field {unknown[0]!r}", "unknown_parameter")
    _check_prompt(body.get("prompt"))
    if body.get("model") in (None, ""):
        raise invalid(
            "model", "model is required (GET /v1/models lists them)", "missing_required_parameter"
        )
    fields: dict[str, Any] = {}
    names: dict[str, str] = {}
    for name, canonical in COMMON.items():
        if body.get(name) is not None:
            fields[canonical], names[canonical] = body[name], name
    model_parameters = body.get("parameters")
    if model_parameters is not None and not isinstance(model_parameters, dict):
        raise invalid("parameters", "parameters must be an object")
    _take(body, "", fields, names)
    _take(model_parameters or {}, "parameters.", fields, names)
    _check_image(fields, names, catalog)
    if "webhook_url" in fields and "webhook_events" not in fields:
        fields["webhook_events"] = WEBHOOK_EVENTS
    return fields, names


def _take(
    source: Mapping[str, Any], prefix: str, fields: dict[str, Any], names: dict[str, str]
) -> None:
    for name, value in source.items():
        canonical = PARAMETERS.get(name)
        if canonical is None:
            if prefix:  # top-level names were checked before
                raise invalid(
                    prefix + name, f"unknown parameter {prefix + name!r}", "unknown_parameter"
                )
            continue
        if value is None:
            continue
        if canonical in fields:
            raise invalid(
                prefix + name,
                f"{prefix + name} repeats {names[canonical]}; give each parameter once",
            )
        fields[canonical], names[canonical] = value, prefix + name


def _check_prompt(value: Any) -> None:
    if value is None or (isinstance(value, str) and not value.strip()):
        raise invalid(
            "prompt",
            f"prompt is required (1-{MAX_PROMPT:,} characters)",
            "missing_required_parameter",
        )
    if not isinstance(value, str):
        raise invalid("prompt", "prompt must be a string")
    if len(value) > MAX_PROMPT:
        raise invalid(
            "prompt",
            f"prompt is {len(value):,} characters; the limit is {MAX_PROMPT:,}",
            "too_long",
        )


def _check_image(fields: Mapping[str, Any], names: Mapping[str, str], catalog: Catalog) -> None:
    """An image-to-video model needs its image (said here in v2's words)."""
    model = catalog.resolve(fields["model"]) if isinstance(fields["model"], str) else None
    if model is not None and not model.takes_text and "image_url" not in fields:
        raise invalid(
            names.get("image_url", "parameters.imageUrl"),
            f"{model.id} is an image-to-video model: give parameters.imageUrl",
            "missing_required_parameter",
        )


def parse_job_id(raw: str) -> UUID | None:
    """A jobId (a UUID, as `POST` answers it), or the same job's `video_…` id."""
    if raw.startswith("video_"):
        return parse_video_id(raw)
    try:
        return UUID(raw)
    except ValueError:
        return None


def job_body(job: Job, base: str, rt: Runtime) -> dict[str, Any]:
    return {
        "jobId": str(job.id),
        "status": STATUSES[job.status],
        "model": job.requested_model,
        "progress": job.progress,
        "result": result(job, base, rt),
        "error": dict(job.error) if job.error else None,
        "createdAt": iso(job.created_on),
        "completedAt": iso(job.finished_at),
    }


def result(job: Job, base: str, rt: Runtime) -> dict[str, Any] | None:
    """A completed job's video, with signed links to its file and its thumbnail."""
    if job.status != COMPLETED:
        return None
    output = job.output or {}
    videos = [_video(job, base, rt, index) for index in range(job.video_count)]
    return {
        **videos[0],
        "contentType": output.get("content_type", "video/mp4"),
        **rendered(job),
        "fps": output.get("fps") or job.params.get("fps"),
        "videos": videos,
    }


def _video(job: Job, base: str, rt: Runtime, index: int) -> dict[str, str]:
    """The signed links to the job's `index`th video (Midjourney makes four)."""
    return {
        "videoUrl": output_url(rt, base, FILES, job.id, VIDEO, index),
        "thumbnailUrl": output_url(rt, base, FILES, job.id, THUMBNAIL, index),
    }


routes = [
    Route("/v2/videos/generate", generate, methods=["POST"]),
    Route("/v2/jobs/{jobId}", get_job, methods=["GET"]),
    *file_routes(FILES, translated(render), (VIDEO, THUMBNAIL)),
]
