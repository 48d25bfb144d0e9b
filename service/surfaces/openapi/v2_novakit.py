"""The OpenAPI description of the v2 and NovaKit facades (`service.surfaces.v2`, `.novakit`).

Each answers errors in its own seed's shape, so its operations carry `x-surface` and one
error schema of their own rather than vidgate's `Error`.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel

from events.apikey import ADMIN, VIDEO, VIDEOS_READ, VIDEOS_WRITE
from service.surfaces import novakit_shapes, v2_shapes
from service.surfaces.openapi.jsonschema import inline_schema, query_parameters
from service.surfaces.openapi.signed_files import idempotency_key, signed_file

Spec = dict[str, Any]
TEXT: Spec = {"type": "string"}
NUMBER: Spec = {"type": "number"}
MAYBE_INT: Spec = {"type": ["integer", "null"]}
URL: Spec = {"type": "string", "format": "uri"}
TIME: Spec = {
    "type": ["string", "null"],
    "format": "date-time",
    "examples": ["2026-11-25T13:38:02.512Z"],
}
IMAGE = {"type": "string", "description": "An http(s) URL or a data:image/…;base64, URI."}
STORE_DOWN = (
    503,
    "The store is unavailable; nothing was saved (`store_unavailable`, `Retry-After`): retry.",
)
BAD_KEY = (
    401,
    "Missing, malformed, unknown or revoked API key (`missing_api_key`, `invalid_api_key`).",
)
IDEMPOTENCY_CONFLICT = (
    409,
    "The Idempotency-Key was used with a different request (`idempotency_key_reused`), or "
    "its job was deleted (`video_deleted`).",
)
MP4, JPEG = "video/mp4", "image/jpeg"
BODY_ERRORS = (
    (413, "The body is larger than the server's limit (`request_too_large`)."),
    (415, "The body is not JSON (`unsupported_media_type`)."),
)


def _body(shape: type[BaseModel]) -> Spec:
    return {"required": True, "content": {"application/json": {"schema": inline_schema(shape)}}}


def _json(schema: Spec, description: str) -> Spec:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


def _errors(schema: Spec, *items: tuple[int, str]) -> dict[str, Spec]:
    responses = {str(code): _json(schema, text) for code, text in items}
    if "401" in responses:
        responses["401"]["headers"] = {"WWW-Authenticate": {"schema": {"const": "Bearer"}}}
    return responses


def _obj(properties: Spec, required: list[str] | None = None, **extra: Any) -> Spec:
    return {
        "type": "object",
        "required": list(properties) if required is None else required,
        "properties": properties,
        **extra,
    }


def _op(
    surface: str,
    op_id: str,
    summary: str,
    scopes: tuple[str, ...],
    description: str,
    responses: Spec,
    **extra: Any,
) -> Spec:
    either = " or ".join(f"`{scope}`" for scope in scopes)
    return {
        "x-surface": surface,
        "tags": ["videos"],
        "operationId": op_id,
        "summary": summary,
        "security": [{"bearer": [scope]} for scope in scopes],
        "description": f"{description} Needs {either} (or `{ADMIN}`).",
        **extra,
        "responses": responses,
    }


# The v2 API


def _v2_generate() -> Spec:
    return _op(
        "v2",
        "v2GenerateVideo",
        "v2: generate a video",
        (VIDEOS_WRITE,),
        "v2-compatible: queues the job and answers at once; poll `GET /v2/jobs/{jobId}` "
        "or use webhooks.",
        {
            "202": _json(inline_schema(v2_shapes.V2Accepted), "Queued."),
            **_errors(
                inline_schema(v2_shapes.V2Error),
                (400, "Validation error: a bad or unknown field (`field` names it)."),
                BAD_KEY,
                (402, "Insufficient credits: never sent (vidgate has no credits yet)."),
                (403, "The key lacks the scope (`missing_scope`)."),
                IDEMPOTENCY_CONFLICT,
                *BODY_ERRORS,
                STORE_DOWN,
            ),
        },
        parameters=[idempotency_key("answer 202 with the same jobId")],
        requestBody=_body(v2_shapes.V2GenerateRequest),
    )


def _v2_job() -> Spec:
    job_id = {
        "name": "jobId",
        "in": "path",
        "required": True,
        "schema": TEXT,
        "description": "The jobId (the job's `video_…` id works too).",
    }
    return _op(
        "v2",
        "v2GetJob",
        "v2: poll a job",
        (VIDEOS_READ,),
        "The job: QUEUED, PROCESSING, then COMPLETED (with `result`), FAILED (with "
        "`error`) or CANCELED.",
        {
            "200": _json(inline_schema(v2_shapes.V2Job), "The job."),
            **_errors(
                inline_schema(v2_shapes.V2Error),
                BAD_KEY,
                (403, "The key lacks the scope (`missing_scope`)."),
                (404, "No such job for this tenant (`not_found`)."),
                STORE_DOWN,
            ),
        },
        parameters=[job_id],
    )


# NovaKit


def _novakit_generate() -> Spec:
    return _op(
        "novakit",
        "novakitGenerateVideo",
        "NovaKit: generate a video",
        (VIDEO, VIDEOS_WRITE),
        "NovaKit-compatible. Sync: answers when the video is stored; "
        "`async=true`: answers the job at once. 1 credit = $0.01 of list price.",
        {
            "200": _json(
                inline_schema(novakit_shapes.NovaKitGeneration),
                "The finished video, or (async) the job.",
            ),
            **_errors(
                inline_schema(novakit_shapes.NovaKitError),
                (
                    400,
                    "A bad parameter (`param` names it), e.g. a source_video for a model "
                    "without video-to-video.",
                ),
                BAD_KEY,
                (403, "The key lacks the `video` scope (`missing_scope`)."),
                (
                    409,
                    "Sync: the job was cancelled meanwhile; or the Idempotency-Key was used "
                    "with a different request (`idempotency_key_reused`).",
                ),
                *BODY_ERRORS,
                (502, "Sync: the job failed; `code` is its error code."),
                STORE_DOWN,
                (504, "Sync: not ready within `timeout` (`timeout`); the job carries on."),
            ),
        },
        parameters=[
            *query_parameters(novakit_shapes.NovaKitGenerateQuery),
            idempotency_key("answer with the same job"),
        ],
        requestBody=_body(novakit_shapes.NovaKitGenerationRequest),
    )


def _novakit_job() -> Spec:
    parameters = [
        {
            "name": "jobId",
            "in": "path",
            "required": True,
            "schema": TEXT,
            "description": "`job_…` (the job's `video_…` id works too).",
        },
        *query_parameters(novakit_shapes.NovaKitJobQuery),
    ]
    return _op(
        "novakit",
        "novakitGetJob",
        "NovaKit: get (or long-poll) a job",
        (VIDEO, VIDEOS_READ),
        "NovaKit-compatible.",
        {
            "200": _json(inline_schema(novakit_shapes.NovaKitJob), "The job."),
            **_errors(
                inline_schema(novakit_shapes.NovaKitError),
                (400, "A bad `poll` or `timeout`."),
                BAD_KEY,
                (403, "The key lacks the `video` scope (`missing_scope`)."),
                (404, "No such job for this tenant (`not_found`)."),
                STORE_DOWN,
            ),
        },
        parameters=parameters,
    )


def _file(surface: str, op_id: str, summary: str, media: str, error: Spec) -> Spec:
    errors = _errors(
        error,
        (403, "The link is forged or has expired (`invalid_link`)."),
        (404, "The video was deleted, or is not stored (`not_found`)."),
        STORE_DOWN,
    )
    return signed_file(surface, op_id, summary, media, errors)


def v2_novakit_paths() -> Spec:
    novakit = inline_schema(novakit_shapes.NovaKitError)
    v2_error = inline_schema(v2_shapes.V2Error)
    return {
        "/v2/videos/generate": {"post": _v2_generate()},
        "/v2/jobs/{jobId}": {"get": _v2_job()},
        "/api/v1/videos/generations": {"post": _novakit_generate()},
        "/api/v1/jobs/{jobId}": {"get": _novakit_job()},
        "/api/v1/files/{token}.mp4": {
            "get": _file(
                "novakit", "novakitVideoFile", "NovaKit: a video, by signed link", MP4, novakit
            )
        },
        "/v2/files/{token}.mp4": {
            "get": _file("v2", "v2VideoFile", "v2: a video, by signed link", MP4, v2_error)
        },
        "/v2/files/{token}.jpg": {
            "get": _file("v2", "v2ThumbnailFile", "v2: a thumbnail, by signed link", JPEG, v2_error)
        },
    }
