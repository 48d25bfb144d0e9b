"""The OpenAPI description of the Concurred facade (`service.surfaces.concurred`).

Its errors have Concurred's own envelope, so its operations carry `x-surface: concurred` and
one error schema of their own rather than vidgate's `Error`.
"""

from __future__ import annotations

from typing import Any

from events.apikey import ADMIN, VIDEOS_READ, VIDEOS_WRITE
from service.surfaces import concurred_shapes
from service.surfaces.concurred import FILES, STATUS_PATH, SYNC_TIMEOUT
from service.surfaces.openapi.jsonschema import inline_schema, query_parameters
from service.surfaces.openapi.signed_files import idempotency_key, signed_file

Spec = dict[str, Any]
SURFACE = {"x-surface": "concurred", "tags": ["videos"]}
TEXT = {"type": "string"}
OPERATION = {
    "type": "string",
    "pattern": r"^operations/video_[0-9a-f]{32}$",
    "examples": ["operations/video_6f1c5a523a1e4f6b9a557d0c1f2b9e10"],
}


def _json(schema: Spec, description: str) -> Spec:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


def _errors(*items: tuple[int, str]) -> dict[str, Spec]:
    responses = {
        str(code): _json(inline_schema(concurred_shapes.ConcurredError), text)
        for code, text in items
    }
    if "401" in responses:
        responses["401"]["headers"] = {"WWW-Authenticate": {"schema": {"const": "Bearer"}}}
    return responses


COMMON = (
    (401, "Missing, malformed, unknown or revoked API key (`missing_api_key`, `invalid_api_key`)."),
    (403, "The API key lacks the scope (`missing_scope`)."),
    (503, "The store is unavailable; nothing was saved (`store_unavailable`): retry."),
)


def _generate() -> Spec:
    return {
        **SURFACE,
        "operationId": "concurredGenerateVideo",
        "summary": "Concurred: generate a video",
        "security": [{"bearer": [VIDEOS_WRITE]}],
        "description": "Concurred-compatible. Google Veo models answer at once with an "
        "operation to poll; the fal.ai models (Kling 3 Pro, Wan 2.6) answer when the video "
        f"is ready (at most {SYNC_TIMEOUT:g} s). `video_url` is a signed, expiring link to "
        f"the stored video, fetched without a key. Needs `{VIDEOS_WRITE}` (or `{ADMIN}`).",
        "parameters": [idempotency_key("answer with the same operation")],
        "requestBody": {
            "required": True,
            "content": {
                "application/json": {
                    "schema": inline_schema(concurred_shapes.ConcurredGenerateRequest)
                }
            },
        },
        "responses": {
            "200": _json(
                inline_schema(concurred_shapes.ConcurredGenerated),
                "Async models: the operation; sync models: the finished video.",
            ),
            **_errors(
                (
                    400,
                    "A bad parameter (`invalid_value`, `missing_required_parameter`, "
                    "`unknown_parameter`, `model_not_found`, `invalid_image`, "
                    "`unsupported_parameter`, `invalid_json`); `param` names it.",
                ),
                COMMON[0],
                COMMON[1],
                (
                    409,
                    "A sync model's job was canceled while the request waited; or the "
                    "Idempotency-Key was used with a different request "
                    "(`idempotency_key_reused`).",
                ),
                (413, "The body is larger than the server's limit (`request_too_large`)."),
                (415, "The body is not JSON (`unsupported_media_type`)."),
                (502, "A sync model's job failed; `code` is the job's error code."),
                COMMON[2],
                (
                    504,
                    "A sync model's job is still rendering (`sync_timeout`); it keeps "
                    "running: poll `poll_url`.",
                ),
            ),
        },
    }


def _status() -> Spec:
    return {
        **SURFACE,
        "operationId": "concurredVideoStatus",
        "summary": "Concurred: poll a video operation",
        "parameters": query_parameters(concurred_shapes.ConcurredStatusQuery),
        "security": [{"bearer": [VIDEOS_READ]}],
        "description": "Concurred-compatible. `done: false` while rendering; `done: true` "
        "with `video_url`, or with `error` if the video failed or was canceled. Needs "
        f"`{VIDEOS_READ}` (or `{ADMIN}`).",
        "responses": {
            "200": _json(inline_schema(concurred_shapes.ConcurredStatus), "The operation."),
            **_errors(
                (
                    400,
                    "`provider` or `operation_id` missing or bad, or an unknown query parameter.",
                ),
                COMMON[0],
                COMMON[1],
                (404, "No such operation for this tenant (`not_found`)."),
                COMMON[2],
            ),
        },
    }


def concurred_paths() -> Spec:
    return {
        "/api/v1/video/generate": {"post": _generate()},
        STATUS_PATH: {"get": _status()},
        f"{FILES}/{{token}}.mp4": {"get": _file()},
    }


def _file() -> Spec:
    errors = _errors(
        (403, "The link is forged or has expired (`invalid_link`)."),
        (404, "The video was deleted, or is not stored (`not_found`)."),
        COMMON[2],
    )
    summary = "Concurred: a video, by signed link (`video_url`)"
    return signed_file("concurred", "concurredVideoFile", summary, "video/mp4", errors)
