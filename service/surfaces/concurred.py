"""Concurred's Video API over vidgate: `POST /api/v1/video/generate`, `GET /api/v1/video/status`.

A client written against Concurred works by changing its base URL and key. Requests are
translated into vidgate's canonical create fields (`duration` → `seconds`) and go through
the core's `CreateVideo` like every other surface. Where Concurred's document is silent:

- Errors: `{"success": false, "error": {"code", "message", "param"}}` with the HTTP status
  (400 bad field, 401 key, 403 scope, 404 operation, 413/415 body, 503 store); `param` names
  the field in Concurred's words.
- `operation_id` is `operations/<vidgate video id>`: the job is also `GET /v1/videos/{id}`.
- `video_url` is, like Concurred's CDN links, usable without a key: a signed link to
  vidgate's stored copy (`/api/v1/video/files/<token>.mp4`, `service.surfaces.output_files`),
  valid for 3 days by default (`VIDGATE_OUTPUT_LINK_TTL_S`; poll the status again for a fresh
  one). A tampered or expired link is a 403.
- `Idempotency-Key` (a header, as on `/v1/videos`): a retried generate with the same key and
  body answers with the same operation; the same key with another body is a 409
  `idempotency_key_reused`.
- Sync models (fal.ai in Concurred's table) hold the request until the job ends, at most
  `SYNC_TIMEOUT` seconds; then a 504 `sync_timeout` error carries the `operation_id` and
  `poll_url` to follow the job, which keeps running. A sync job that fails answers 502 with
  the job's error code (409 `canceled` if it was canceled meanwhile).
- A finished operation that failed polls as `done: true` with `error: {code, message}`, as
  Google's long-running operations do.
"""

from __future__ import annotations

import functools
from collections.abc import Awaitable, Callable
from typing import Any
from urllib.parse import quote
from uuid import UUID

from eventsourcing.persistence import PersistenceError
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from events.apikey import VIDEOS_READ, VIDEOS_WRITE
from events.app import JobContention
from events.ids import parse_video_id, video_id
from events.job import CANCELED, COMPLETED, Job
from service.runtime import Runtime
from service.storage.blobs import StorageUnavailable
from service.surfaces.body import read_fields
from service.surfaces.errors import ApiError, invalid, not_found
from service.surfaces.facade import base_url, field_only
from service.surfaces.idempotency import NAMES as KEY_NAMES
from service.surfaces.idempotency import idempotency_key
from service.surfaces.output_files import file_routes, output_url
from service.surfaces.waiting import settled
from service.videos.commands import CreateVideo, create_video
from service.videos.errors import FIRST_FRAME, Refused

SURFACE = "concurred"
# Concurred's six models, and the provider its document shows for each: Google's are async
# (an operation to poll), fal.ai's answer when the video is ready. Whatever route vidgate
# really takes, the client sees these names.
MODELS = {
    "veo-3.1": "google",
    "veo-3.1-fast": "google",
    "kling-3-pro": "fal",
    "kling-3-pro-i2v": "fal",
    "wan-2.6": "fal",
    "wan-2.6-i2v": "fal",
}
DEFAULT_MODEL = "veo-3.1"
PROVIDERS = ("google", "fal")
# Concurred's parameters → vidgate's canonical create fields.
FIELDS = {
    "prompt": "prompt",
    "model": "model",
    "image_url": "image_url",
    "duration": "seconds",
    "aspect_ratio": "aspect_ratio",
    "resolution": "resolution",
}
# How a refusal from the core names its field here: Concurred has one image field.
IN_OUR_WORDS = field_only(
    {"seconds": "duration", "input_reference": "image_url", **KEY_NAMES},
    {FIRST_FRAME: "image_url"},
)
OPERATION_PREFIX = "operations/"
SYNC_TIMEOUT = 600.0  # seconds a sync model's request may wait (Concurred: "1-3 minutes")
SYNC_TIMEOUT_STATE = "concurred_sync_timeout"  # `app.state` override, e.g. for tests
STATUS_PATH = "/api/v1/video/status"
PREFIXES = ("/api/v1/video/",)  # its paths: an unknown one under them answers as it would
FILES = "/api/v1/video/files"  # where the signed video links point

Endpoint = Callable[[Request], Awaitable[Response]]


def concurred_errors(endpoint: Endpoint) -> Endpoint:
    """Every refusal of this surface in Concurred's envelope: the one place they are mapped."""

    @functools.wraps(endpoint)
    async def answer(request: Request) -> Response:
        try:
            return await endpoint(request)
        except ApiError as error:
            return failure(error)
        except Refused as error:
            return failure(IN_OUR_WORDS(error))
        except (PersistenceError, JobContention, StorageUnavailable):
            busy = ApiError(
                503,
                "the store is unavailable; nothing was saved, retry shortly",
                code="store_unavailable",
                headers={"Retry-After": "2"},
            )
            return failure(busy)

    return answer


def failure(error: ApiError, **more: str) -> JSONResponse:
    body = {"code": error.code, "message": error.message, "param": error.param, **more}
    return JSONResponse({"success": False, "error": body}, error.status, headers=error.headers)


def _ok(data: dict[str, Any]) -> JSONResponse:
    return JSONResponse({"success": True, "data": data})


def _runtime(request: Request) -> Runtime:
    rt: Runtime = request.app.state.runtime
    return rt


@concurred_errors
async def generate(request: Request) -> Response:
    rt = _runtime(request)
    principal = await rt.authenticator.authenticate(request)
    principal.require(VIDEOS_WRITE)
    key = idempotency_key(request)
    fields = canonical_fields(await read_fields(request, rt.settings.max_body_bytes))
    command = CreateVideo(
        principal.tenant,
        fields,
        idempotency_key=key,
        surface=SURFACE,
        **principal.as_submitter(),
    )
    job, _ = await run_in_threadpool(create_video, rt, command)
    provider = MODELS[job.model]  # an image may have switched it to its -i2v twin
    if provider == "google":
        return _ok(
            {
                "model": job.requested_model,
                "provider": provider,
                "status": "processing",
                "operation_id": operation_id(job.id),
                "poll_url": poll_url(provider, job.id),
            }
        )
    timeout = float(getattr(request.app.state, SYNC_TIMEOUT_STATE, SYNC_TIMEOUT))
    ended = await _ended(request, job, timeout)
    if ended is None:
        return _still_running(job, timeout)
    if ended.status != COMPLETED:
        return _ended_badly(ended)
    return _ok(
        {
            "model": job.requested_model,
            "provider": provider,
            "status": "completed",
            "video_url": content_url(request, job.id),
        }
    )


def canonical_fields(body: dict[str, Any]) -> dict[str, Any]:
    """Concurred's parameters as vidgate's create fields (only its six models)."""
    unknown = sorted(set(body) - set(FIELDS))
    if unknown:
        raise invalid(
            unknown[0],
            f"unknown parameter {unknown[0]!r}; the parameters are {', '.join(FIELDS)}",
            "unknown_parameter",
        )
    model = body.get("model")
    if model is None or model == "":
        model = DEFAULT_MODEL
    if not isinstance(model, str) or model not in MODELS:
        raise ApiError(
            400,
            f"unknown model {model!r}; available: {', '.join(MODELS)}",
            code="model_not_found",
            param="model",
        )
    return {**{FIELDS[name]: value for name, value in body.items()}, "model": model}


async def _ended(request: Request, job: Job, seconds: float) -> Job | None:
    """The job once it has ended, or None if it is still running after `seconds` (or the
    client has gone: the job runs on regardless)."""
    job = await settled(request, job, lambda j: j.is_terminal, seconds)
    return job if job.is_terminal else None


def _still_running(job: Job, timeout: float) -> JSONResponse:
    poll = poll_url("fal", job.id)
    message = (
        f"{job.model} is still rendering after {timeout:g} s; it keeps running: poll "
        f"GET {poll} until done is true"
    )
    error = ApiError(504, message, code="sync_timeout")
    return failure(error, operation_id=operation_id(job.id), poll_url=poll)


def _ended_badly(job: Job) -> JSONResponse:
    code, message = _job_error(job)
    status = 409 if job.status == CANCELED else 502
    error = ApiError(status, f"{job.model} did not complete: {message}", code=code)
    return failure(error, operation_id=operation_id(job.id))


def _job_error(job: Job) -> tuple[str, str]:
    if job.status == CANCELED:
        return "canceled", "the video was canceled"
    error = job.error or {}
    return error.get("code", "failed"), error.get("message", "the video failed")


@concurred_errors
async def status(request: Request) -> Response:
    rt = _runtime(request)
    principal = await rt.authenticator.authenticate(request)
    principal.require(VIDEOS_READ)
    provider, operation = _status_query(request)
    job = await _owned_job(rt, principal.tenant, operation)
    _check_provider(provider, job)
    data: dict[str, Any] = {
        "provider": provider,
        "operation_id": operation,
        "done": job.is_terminal,
    }
    if job.status == COMPLETED:
        data["video_url"] = content_url(request, job.id)
    elif job.is_terminal:
        code, message = _job_error(job)
        data["error"] = {"code": code, "message": message}
    return _ok(data)


def _status_query(request: Request) -> tuple[str, str]:
    params = request.query_params
    unknown = sorted(set(params) - {"provider", "operation_id"})
    if unknown:
        raise invalid(unknown[0], f"unknown query parameter {unknown[0]!r}", "unknown_parameter")
    for name in ("provider", "operation_id"):
        if not params.get(name):
            raise invalid(name, f"{name} is required", "missing_required_parameter")
    provider = params["provider"]
    if provider not in PROVIDERS:
        raise invalid("provider", f"provider must be google or fal; got {provider!r}")
    return provider, params["operation_id"]


def _check_provider(provider: str, job: Job) -> None:
    """The provider must be the one `generate` named for the operation's model (a job of a
    model outside Concurred's six, made on another surface, takes either)."""
    expected = MODELS.get(job.model, provider)
    if provider != expected:
        raise invalid(
            "provider",
            f"operation {operation_id(job.id)} is a {job.model} job: provider must be "
            f"{expected!r}, as its poll_url says; got {provider!r}",
        )


async def _owned_job(rt: Runtime, tenant: str, operation: str) -> Job:
    """The job an operation id names, if the caller's tenant owns it (404 otherwise)."""
    job_id = parse_video_id(operation.removeprefix(OPERATION_PREFIX))
    if not operation.startswith(OPERATION_PREFIX) or job_id is None:
        raise not_found(f"no operation {operation!r}", param="operation_id")
    job = await run_in_threadpool(rt.gateway.find_job, job_id)
    if job is None or job.tenant != tenant or job.deleted:
        raise not_found(f"no operation {operation!r}", param="operation_id")
    return job


def operation_id(job_id: UUID) -> str:
    return f"{OPERATION_PREFIX}{video_id(job_id)}"


def poll_url(provider: str, job_id: UUID) -> str:
    return f"{STATUS_PATH}?provider={provider}&operation_id={quote(operation_id(job_id), safe='')}"


def content_url(request: Request, job_id: UUID) -> str:
    """Where the video downloads from: a signed link to vidgate's own copy (no key)."""
    return output_url(_runtime(request), base_url(request), FILES, job_id)


routes = [
    Route("/api/v1/video/generate", generate, methods=["POST"]),
    Route(STATUS_PATH, status, methods=["GET"]),
    *file_routes(FILES, concurred_errors),
]
