"""The commands every API surface drives the core with, and their handlers.

A command is a plain dataclass in vidgate's canonical terms; its handler validates it against
the catalog, appends its event and returns what it made. Refusals are `service.videos.errors`
(the field, the code, the allowed values), never an HTTP type: each surface tells them in its
own words and status codes.
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Protocol
from uuid import UUID

import anyio.to_thread

from events.account import Charge, InsufficientCredits, KeyLimitReached, month_of, to_micros
from events.apikey import KeyLimits
from events.app import Gateway
from events.ids import video_id
from events.job import Job, JobAlreadyFinished
from service.billing.balance import dollars
from service.catalog import Catalog, Route, unavailable_message
from service.storage.blobs import StorageUnavailable
from service.storage.store import Storage
from service.videos.errors import (
    Conflict,
    InvalidField,
    NotFound,
    PaymentRequired,
    RateLimited,
)
from service.videos.request import ImageInput, VideoRequest, parse_video_request

log = logging.getLogger(__name__)

IDEMPOTENCY_KEY = "idempotency_key"
IMAGE_FIELDS = ("input_reference", "image_url", "end_image_url")  # storing them may block
CONCURRENCY_RETRY = 5  # seconds: when a job may have ended (jobs take seconds to minutes)


class Services(Protocol):
    """What the handlers need of the process (a `service.runtime.Runtime` has it all)."""

    @property
    def gateway(self) -> Gateway: ...
    @property
    def catalog(self) -> Catalog: ...
    @property
    def storage(self) -> Storage: ...
    @property
    def enabled_providers(self) -> frozenset[str]: ...
    @property
    def credits_required(self) -> bool: ...


@dataclass(frozen=True)
class CreateVideo:
    """Make a video: `fields` are the canonical create fields (`request.FIELDS`)."""

    tenant: str
    fields: Mapping[str, Any] = field(default_factory=dict)
    idempotency_key: str | None = None
    surface: str = "openai"  # the API it came in by, recorded in the event
    key: str | None = None  # the API key (its id, hex) that asked, for its limits
    limits: KeyLimits = field(default_factory=KeyLimits)


@dataclass(frozen=True)
class CancelVideo:
    tenant: str
    job_id: UUID
    by: str = "api"


@dataclass(frozen=True)
class DeleteVideo:
    tenant: str
    job_id: UUID
    by: str = "api"


def create_video(rt: Services, command: CreateVideo) -> tuple[Job, bool]:
    """Validate the fields against the catalog and append `Submitted`.

    Returns the job and whether it is new (False: an idempotency-key retry). Raises
    `InvalidField` naming the bad field, `Conflict` for a reused idempotency key, or
    `PaymentRequired` when a metered tenant's credits can't cover the price (the price is
    reserved with the job otherwise; see `events.account`).
    """
    video = parse_video_request(command.fields, rt.catalog)
    return _submit(rt, command, video, _submission(rt, command, video))


async def create_video_async(rt: Services, command: CreateVideo) -> tuple[Job, bool]:
    """`create_video` from an event loop. The common case (no image, no idempotency key, no
    account to reserve on) is checked on the loop and its job queued for the next group
    commit: no thread hop per request, the loop woken once per batch. Anything that may
    block (storing an image, a look-up) goes to the thread pool as before."""
    if any(command.fields.get(name) is not None for name in IMAGE_FIELDS):
        return await anyio.to_thread.run_sync(create_video, rt, command)
    video = parse_video_request(command.fields, rt.catalog)
    fields = _submission(rt, command, video)
    if rt.gateway.blocks_to_submit(fields, _charge(rt, command, video)):
        return await anyio.to_thread.run_sync(_submit, rt, command, video, fields)
    return await rt.gateway.submit_new(fields), True


def _submission(rt: Services, command: CreateVideo, video: VideoRequest) -> dict[str, Any]:
    """The job's `Submitted` fields (images stored first, when the request has any)."""
    route = _route(rt, video)
    submission = {
        "tenant": command.tenant,
        "model": video.model.id,
        "provider": route.provider,
        "upstream_model": route.upstream_model(video.image is not None, video.video is not None),
        "prompt": video.prompt,
        "params": video.params(),
        "inputs": _store_inputs(rt, video),
        "webhook": video.webhook,
        "idempotency_key": command.idempotency_key,
        "surface": command.surface,
        "cost_estimate": video.cost_estimate,
    }
    return {**submission, "request_hash": _fingerprint(submission)}


def _submit(
    rt: Services, command: CreateVideo, video: VideoRequest, fields: dict[str, Any]
) -> tuple[Job, bool]:
    try:
        job, created = rt.gateway.submit_charged(fields, _charge(rt, command, video))
    except InsufficientCredits as short:
        raise PaymentRequired(video.cost_estimate, dollars(short.available)) from None
    except KeyLimitReached as reached:
        raise _over_limit(reached) from None
    if not created:
        _check_retry(job, fields["request_hash"])
    return job, created


def _route(rt: Services, video: VideoRequest) -> Route:
    """The enabled route that serves the request: one that passes on everything it asks
    (see `Route.lacks`) and, for a source video, can transform one."""
    model, enabled, transforms = video.model, rt.enabled_providers, video.video is not None
    route = model.route(enabled, video.needs, video=transforms)
    if route is not None:
        return route
    if model.route(enabled) is None:
        raise InvalidField("model", unavailable_message(model), "model_unavailable")
    if transforms and model.route(enabled, video=True) is None:
        able = [r.provider for r in model.routes if r.video_model]
        raise InvalidField(
            "video_url",
            f"no enabled route of {model.id} transforms videos; the {', '.join(able)} "
            "route does (configure it)",
            "model_unavailable",
        )
    raise _no_route(video, enabled)


def _no_route(video: VideoRequest, enabled: Collection[str]) -> InvalidField:
    """Why no enabled route that runs the model can run the request: none passes on what it
    asks (a seed through the Gemini API: never dropped on the way)."""
    model = video.model
    need = sorted(video.needs)[0]
    able = [r.provider for r in model.routes if need not in r.lacks]
    return InvalidField(
        need,
        lambda n: (
            f"{model.id} takes {n(need)} only through {', '.join(dict.fromkeys(able))}, "
            "and none of them is enabled on this gateway"
        ),
        "unsupported_parameter",
    )


def _charge(rt: Services, command: CreateVideo, video: VideoRequest) -> Charge:
    """The price to reserve, with the key's limits it must fit."""
    limits = command.limits
    return Charge(
        to_micros(video.cost_estimate),
        prepaid=rt.credits_required,
        key=command.key,
        max_concurrent=limits.max_concurrent,
        monthly_budget=limits.monthly_budget,
        month=month_of(datetime.now(UTC)),
    )


def _over_limit(reached: KeyLimitReached) -> RateLimited:
    if reached.kind == "concurrent jobs":
        return RateLimited(
            reached.limit,
            CONCURRENCY_RETRY,
            says=f"this API key may have {reached.limit} unfinished videos at once; "
            "retry when one has ended",
            code="concurrency_limited",
        )
    return RateLimited(
        0,
        seconds_to_next_month(datetime.now(UTC)),
        says=f"this video would take the API key past its monthly budget of "
        f"${dollars(reached.limit):.2f} (${dollars(reached.used):.2f} used this month)",
        code="budget_exceeded",
    )


def seconds_to_next_month(now: datetime) -> int:
    first = datetime(now.year + now.month // 12, now.month % 12 + 1, 1, tzinfo=UTC)
    return max(1, int((first - now).total_seconds()))


def _check_retry(job: Job, request_hash: str) -> None:
    """An idempotency-key retry returns the first job only if it asks the same thing."""
    if job.deleted:
        raise Conflict(
            lambda n: f"the video created with this {n(IDEMPOTENCY_KEY)} has been deleted",
            code="video_deleted",
            field=IDEMPOTENCY_KEY,
        )
    if job.request_hash != request_hash:
        raise Conflict(
            lambda n: f"this {n(IDEMPOTENCY_KEY)} was already used with a different request",
            code="idempotency_key_reused",
            field=IDEMPOTENCY_KEY,
        )


def cancel_video(rt: Services, command: CancelVideo) -> Job:
    """Cancel the tenant's job; a job that has already ended is a `Conflict`."""
    _owned(rt, command.tenant, command.job_id)
    try:
        return rt.gateway.update_job(command.job_id, lambda job: job.cancel(command.by))
    except JobAlreadyFinished as error:
        raise Conflict(f"cannot cancel: {error}", code="invalid_state") from None


def delete_video(rt: Services, command: DeleteVideo) -> None:
    """Mark the tenant's job deleted, then drop its stored files."""
    _owned(rt, command.tenant, command.job_id)
    job = rt.gateway.update_job(command.job_id, lambda job: job.delete(command.by))
    # After the event: a crash, or a bucket that is down, leaves stray files, never a
    # deleted video whose delete was answered as failed.
    try:
        rt.storage.delete_outputs(command.job_id, job.video_count)
    except StorageUnavailable as error:
        log.warning("the files of deleted %s stay stored: %s", video_id(command.job_id), error)


def _owned(rt: Services, tenant: str, job_id: UUID) -> Job:
    job = rt.gateway.find_job(job_id)
    if job is None or job.tenant != tenant or job.deleted:
        raise NotFound(f"no video with id {video_id(job_id)!r}", field="video_id")
    return job


def _store_inputs(rt: Services, video: VideoRequest) -> dict[str, Any]:
    """The request's images as the job records them: a URL as given, bytes by their sha256."""
    images = {"image": video.image, "end_image": video.end_image}
    inputs = {name: _stored_image(rt, i) for name, i in images.items() if i is not None}
    return inputs | ({"video": {"url": video.video}} if video.video else {})


def _stored_image(rt: Services, image: ImageInput) -> dict[str, Any]:
    if image.data is None:
        return {"url": image.url}
    return {
        "sha256": rt.storage.save_input(image.data),
        "bytes": len(image.data),
        "content_type": image.content_type,
        "filename": image.filename,
    }


def _fingerprint(submission: dict[str, Any]) -> str:
    """A hash of what was asked, to tell a retried request from a different one."""
    canonical = json.dumps(submission, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(canonical.encode()).hexdigest()
