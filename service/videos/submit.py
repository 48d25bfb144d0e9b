"""The one application service every API surface creates videos through."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from typing import Any

from events.job import Job
from service.catalog import unavailable_message
from service.runtime import Runtime
from service.surfaces.errors import ApiError
from service.videos.request import ImageInput, VideoRequest, parse_video_request


def submit_video(
    rt: Runtime,
    tenant: str,
    fields: Mapping[str, Any],
    *,
    idempotency_key: str | None = None,
    surface: str = "openai",
) -> tuple[Job, bool]:
    """Validate canonical create fields against the catalog and append `Submitted`.

    Every API surface translates its own request into these fields and calls this; the
    `surface` it came in by is recorded in the event. Returns the job and whether it is new
    (False: an `Idempotency-Key` retry). Raises `ApiError` naming the bad field.
    """
    video = parse_video_request(fields, rt.catalog)
    enabled = rt.enabled_providers
    route = video.model.route(enabled)
    if route is None:
        raise ApiError(
            400, unavailable_message(video.model), code="model_unavailable", param="model"
        )
    inputs = _store_inputs(rt, video)
    submission = {
        "tenant": tenant,
        "model": video.model.id,
        "provider": route.provider,
        "upstream_model": route.upstream_model(has_image=video.image is not None),
        "prompt": video.prompt,
        "params": video.params(),
        "inputs": inputs,
        "webhook": video.webhook,
        "idempotency_key": idempotency_key,
        "surface": surface,
        "cost_estimate": video.cost_estimate,
    }
    request_hash = _fingerprint(submission)
    job, created = rt.gateway.submit(**submission, request_hash=request_hash)
    if not created and job.deleted:
        raise ApiError(
            409,
            "the video created with this Idempotency-Key has been deleted",
            code="video_deleted",
            param="Idempotency-Key",
        )
    if not created and job.request_hash != request_hash:
        raise ApiError(
            409,
            "this Idempotency-Key was already used with a different request",
            code="idempotency_key_reused",
            param="Idempotency-Key",
        )
    return job, created


def _store_inputs(rt: Runtime, video: VideoRequest) -> dict[str, Any]:
    """The request's images as the job records them: a URL as given, bytes by their sha256."""
    images = {"image": video.image, "end_image": video.end_image}
    return {name: _stored_image(rt, image) for name, image in images.items() if image is not None}


def _stored_image(rt: Runtime, image: ImageInput) -> dict[str, Any]:
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
