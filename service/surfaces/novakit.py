"""NovaKit's video API: `POST /api/v1/videos/generations[?async=true]`, `GET /api/v1/jobs/{id}
[?poll=true]`. Keys need the `video` scope (or `videos:write` to create, `videos:read` to read).

Synchronous by default: the request holds until the video is stored (at most `?timeout=`
seconds, default 600, then a 504 naming the job, which carries on). `async=true` answers at
once with the job. Long-polling (`poll=true`) returns when the job's status changes, or after
`timeout` seconds (default 30, NovaKit's). Ids are `job_` + the job's hex (`video_…` in /v1).
Credits are dollars in cents (1 credit = $0.01): estimated at the catalog's list price,
used at what the job is charged (the upstream's reported cost where it gives one); a sync
answer's `usage.seconds_remaining` is how many seconds of the same model and settings the
tenant's balance and the key's monthly budget still buy (null when neither limits it).
Errors are NovaKit's `{"error": message}`, with `code` and `param` as context.
`Idempotency-Key` (a header, as on `/v1/videos`): a retried generate with the same key and
body answers with the same job (sync: once it is done); the same key with another body is a
409 `idempotency_key_reused`.
Request mapping: `novakit_request`.

A video's `url` is, like NovaKit's CDN links, usable without a key: a signed link to the
stored file (`service.surfaces.output_files`), valid for 3 days by default
(`VIDGATE_OUTPUT_LINK_TTL_S`; GET the job again for a fresh one).
"""

from __future__ import annotations

import math
from typing import Any
from uuid import UUID

from starlette.concurrency import run_in_threadpool
from starlette.datastructures import QueryParams
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from events.apikey import VIDEO, VIDEOS_READ, VIDEOS_WRITE
from events.ids import parse_video_id
from events.job import CANCELED, COMPLETED, FAILED, IN_PROGRESS, QUEUED, Job
from service.auth.authenticator import Principal
from service.billing.remaining import seconds_affordable, spendable
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
    require_any,
    runtime,
    translated,
)
from service.surfaces.idempotency import NAMES as KEY_NAMES
from service.surfaces.idempotency import idempotency_key
from service.surfaces.novakit_request import NAMES, canonical_fields
from service.surfaces.output_files import file_routes, output_url
from service.surfaces.waiting import settled
from service.videos.commands import CreateVideo, create_video

SURFACE = "novakit"
STATUSES = {
    QUEUED: "pending",
    IN_PROGRESS: "processing",
    COMPLETED: "completed",
    FAILED: "failed",
    CANCELED: "cancelled",
}
JOB_PREFIX = "job_"
# Its paths: an unknown one under them answers in its error shape.
PREFIXES = ("/api/v1/videos/", "/api/v1/jobs", "/api/v1/files/")
SYNC_TIMEOUT, MAX_SYNC_TIMEOUT = 600.0, 3600.0
POLL_TIMEOUT, MAX_POLL_TIMEOUT = 30.0, 120.0
STORE_WAIT = 20.0  # after `Completed`, how long a sync request waits for the stored copy
CREDITS_PER_USD = 100
MODEL_TIER = "standard"
WORDS = {**NAMES, **KEY_NAMES}  # how a refusal names the fields
FILES = "/api/v1/files"  # where the signed video links point


class JobNotDone(ApiError):
    """A sync request whose job did not end well; the body names the job."""

    def __init__(self, status: int, message: str, code: str, job: Job) -> None:
        super().__init__(status, message, code=code)
        self.job = job


def render(error: ApiError) -> Response:
    """NovaKit's error body; the one place this surface maps a refusal."""
    body: dict[str, Any] = {"error": error.message, "code": error.code, "param": error.param}
    if isinstance(error, JobNotDone):
        body |= {"id": public_id(error.job.id), "status": STATUSES[error.job.status]}
    return JSONResponse(body, status_code=error.status, headers=error.headers)


@translated(render, as_sent(WORDS))
async def generate(request: Request) -> Response:
    rt = runtime(request)
    principal = await principal_of(request)
    require_any(principal, VIDEO, VIDEOS_WRITE)
    wait = _sync_timeout(request.query_params)
    key = idempotency_key(request)
    fields = canonical_fields(await read_fields(request, rt.settings.max_body_bytes), rt.catalog)
    command = CreateVideo(
        principal.tenant,
        fields,
        idempotency_key=key,
        surface=SURFACE,
        **principal.as_submitter(),
    )
    job, _ = await run_in_threadpool(create_video, rt, command)
    if wait is None:
        return JSONResponse(async_body(job))
    job = await settled(request, job, lambda j: j.is_terminal, wait)
    if job.status == COMPLETED and not job.output_stored:
        job = await settled(request, job, lambda j: j.output_stored, STORE_WAIT)
    remaining = await run_in_threadpool(seconds_remaining, rt, principal, job)
    return JSONResponse(sync_body(_finished(job, wait), base_url(request), rt, remaining))


@translated(render, as_sent(WORDS))
async def get_job(request: Request) -> Response:
    rt = runtime(request)
    principal = await principal_of(request)
    require_any(principal, VIDEO, VIDEOS_READ)
    params = request.query_params
    _known(params, {"poll", "timeout"})
    poll, timeout = _flag(params, "poll"), _seconds(params, POLL_TIMEOUT, MAX_POLL_TIMEOUT)
    raw = request.path_params["jobId"]
    job = await owned_job(request, principal.tenant, parse_job_id(raw))
    if job is None:
        raise ApiError(404, "Job not found", code="not_found", param="jobId")
    if poll and not job.is_terminal:
        seen = job.status
        job = await settled(request, job, lambda j: j.status != seen, timeout)
    return JSONResponse(job_body(job, base_url(request), rt))


def _finished(job: Job, waited: float) -> Job:
    """A completed job; anything else is the sync request's error."""
    if job.status == FAILED:
        error = job.error or {}
        raise JobNotDone(
            502,
            f"video generation failed: {error.get('message', 'unknown')}",
            error.get("code", "failed"),
            job,
        )
    if job.status == CANCELED:
        raise JobNotDone(409, "the job was cancelled", "canceled", job)
    if job.status != COMPLETED:
        poll = f"GET /api/v1/jobs/{public_id(job.id)}"
        raise JobNotDone(
            504,
            f"the video is not ready after {waited:g} s; it is still being made: poll {poll}",
            "timeout",
            job,
        )
    return job


def _sync_timeout(params: QueryParams) -> float | None:
    """None for `async=true`; else how long to hold the request."""
    _known(params, {"async", "timeout"})
    if _flag(params, "async"):
        return None
    return _seconds(params, SYNC_TIMEOUT, MAX_SYNC_TIMEOUT)


def _known(params: QueryParams, names: set[str]) -> None:
    unknown = sorted(set(params) - names)
    if unknown:
        raise invalid(unknown[0], f"unknown query parameter {unknown[0]!r}", "unknown_parameter")


def _flag(params: QueryParams, name: str) -> bool:
    value = params.get(name, "false").strip().lower()
    if value not in ("true", "false", "1", "0"):
        raise invalid(name, f"{name} must be true or false")
    return value in ("true", "1")


def _seconds(params: QueryParams, default: float, maximum: float) -> float:
    raw = params.get("timeout")
    if raw is None:
        return default
    try:
        seconds = float(raw)
    except ValueError:
        seconds = math.nan
    if not 0 < seconds <= maximum:  # NaN fails too
        raise invalid("timeout", f"timeout must be seconds above 0 and at most {maximum:g}")
    return seconds


def public_id(job_id: UUID) -> str:
    return f"{JOB_PREFIX}{job_id.hex}"


def parse_job_id(raw: str) -> UUID | None:
    """The job in a `job_…` id, or in the same job's `video_…` id."""
    if raw.startswith(JOB_PREFIX):
        return parse_video_id("video_" + raw.removeprefix(JOB_PREFIX))
    return parse_video_id(raw)


def credits(dollars: float | None) -> int:
    """Dollars in credits (1 credit = $0.01), rounded up."""
    return math.ceil(round((dollars or 0.0) * CREDITS_PER_USD, 6))


def seconds_remaining(rt: Runtime, principal: Principal, job: Job) -> int | None:
    """Seconds of video like `job`'s the caller can still afford: the tenant's balance (and
    the key's monthly budget) at the job's price per second. None when nothing limits it."""
    account = rt.gateway.find_account(principal.tenant)
    key, limits = principal.key_id.hex, principal.limits
    budget = spendable(account, key, limits, prepaid=rt.credits_required)
    return seconds_affordable(budget, job.cost_estimate, float(job.params.get("seconds") or 0))


def async_body(job: Job) -> dict[str, Any]:
    return {
        "id": public_id(job.id),
        "status": STATUSES[job.status],
        "created": int(job.created_on.timestamp()),
        "model": job.requested_model,
        "estimated_credits": credits(job.cost_estimate),
    }


def sync_body(job: Job, base: str, rt: Runtime, remaining: int | None) -> dict[str, Any]:
    video = _video(job, base, rt)
    return {
        "id": public_id(job.id),
        "created": int(job.created_on.timestamp()),
        "data": video,
        "model": job.requested_model,
        "model_tier": MODEL_TIER,
        "usage": {
            "credits_used": credits(job.charged),
            "seconds_used": video["duration_seconds"],
            "seconds_remaining": remaining,
        },
    }


def job_body(job: Job, base: str, rt: Runtime) -> dict[str, Any]:
    done = job.status == COMPLETED
    return {
        "id": public_id(job.id),
        "tool": "video",
        "status": STATUSES[job.status],
        "progress": job.progress,
        "inputParams": _input_params(job),
        "outputData": {"video": _video(job, base, rt)} if done else None,
        "errorMessage": (job.error or {}).get("message"),
        "estimatedCredits": credits(job.cost_estimate),
        "actualCredits": None if job.charged is None else credits(job.charged),
        "createdAt": iso(job.created_on),
        "completedAt": iso(job.finished_at),
        "model": job.requested_model,
        "modelTier": MODEL_TIER,
    }


def _video(job: Job, base: str, rt: Runtime) -> dict[str, Any]:
    frame = rendered(job)
    return {
        "url": output_url(rt, base, FILES, job.id),
        "duration_seconds": _plain(frame["duration"] or 0),
        "width": frame["width"],
        "height": frame["height"],
    }


def _input_params(job: Job) -> dict[str, Any]:
    params = job.params
    mode = str(params.get("mode") or "text-to-video").replace("-", "_")  # NovaKit spells _
    return {
        "prompt": job.prompt,
        "duration_seconds": int(params.get("seconds") or 0),
        "resolution": params.get("resolution"),
        "fps": params.get("fps"),
        "aspect_ratio": params.get("aspect_ratio"),
        "mode": mode,
        "negative_prompt": params.get("negative_prompt"),
        "seed": params.get("seed"),
    }


def _plain(number: float) -> int | float:
    """5.0 → 5: whole seconds read as NovaKit shows them."""
    return int(number) if float(number).is_integer() else number


routes = [
    Route("/api/v1/videos/generations", generate, methods=["POST"]),
    Route("/api/v1/jobs/{jobId}", get_job, methods=["GET"]),
    *file_routes(FILES, translated(render, as_sent(WORDS))),
]
