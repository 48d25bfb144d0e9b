"""The OpenAPI description of the Concurred facade (`service.surfaces.concurred`).

Its errors have Concurred's own envelope, so its operations carry `x-surface: concurred` and
one error schema of their own rather than vidgate's `Error`.
"""

from __future__ import annotations

from typing import Any

from events.apikey import ADMIN, VIDEOS_READ, VIDEOS_WRITE
from service.surfaces.concurred import MODELS, PROVIDERS, STATUS_PATH, SYNC_TIMEOUT

Spec = dict[str, Any]
SURFACE = {"x-surface": "concurred", "tags": ["videos"]}
TEXT = {"type": "string"}
OPERATION = {
    "type": "string",
    "pattern": r"^operations/video_[0-9a-f]{32}$",
    "examples": ["operations/video_6f1c5a523a1e4f6b9a557d0c1f2b9e10"],
}
ERROR = {
    "type": "object",
    "description": "Concurred's error envelope; `param` names the parameter at fault.",
    "required": ["success", "error"],
    "properties": {
        "success": {"const": False},
        "error": {
            "type": "object",
            "required": ["code", "message", "param"],
            "properties": {
                "code": {"type": ["string", "null"], "examples": ["invalid_value"]},
                "message": TEXT,
                "param": {"type": ["string", "null"]},
                "operation_id": {
                    **OPERATION,
                    "description": "504 and 502/409 of a sync model: "
                    "the job, which a 504 leaves running.",
                },
                "poll_url": {**TEXT, "description": "504: where to poll the running job."},
            },
        },
    },
}


def _envelope(data: Spec) -> Spec:
    return {
        "type": "object",
        "required": ["success", "data"],
        "properties": {"success": {"const": True}, "data": data},
    }


def _json(schema: Spec, description: str) -> Spec:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


def _errors(*items: tuple[int, str]) -> dict[str, Spec]:
    responses = {str(code): _json(ERROR, text) for code, text in items}
    if "401" in responses:
        responses["401"]["headers"] = {"WWW-Authenticate": {"schema": {"const": "Bearer"}}}
    return responses


COMMON = (
    (401, "Missing, malformed, unknown or revoked API key (`missing_api_key`, `invalid_api_key`)."),
    (403, "The API key lacks the scope (`missing_scope`)."),
    (503, "The store is unavailable; nothing was saved (`store_unavailable`): retry."),
)


def _generate() -> Spec:
    duration = {
        "description": "Seconds, as a string (a number is accepted too): Veo 4, 6 or "
        "8 (8 at 1080p and 4k); Kling 3 Pro 3-15; Wan 2.6 5, 10 or 15.",
        "oneOf": [{"type": "string", "pattern": r"^\s*\d+\s*$"}, {"type": "integer"}],
        "examples": ["8"],
    }
    request = {
        "type": "object",
        "required": ["prompt"],
        "additionalProperties": False,
        "properties": {
            "prompt": {**TEXT, "pattern": r"\S", "description": "Video description."},
            "model": {"enum": list(MODELS), "default": "veo-3.1"},
            "image_url": {
                **TEXT,
                "description": "Source image (http(s) URL or data: "
                "URI); with kling-3-pro or wan-2.6 it switches to the -i2v "
                "model.",
            },
            "duration": duration,
            "aspect_ratio": {**TEXT, "examples": ["16:9", "9:16"]},
            "resolution": {**TEXT, "examples": ["720p", "1080p", "4k"]},
        },
    }
    started = {
        "type": "object",
        "required": ["model", "provider", "status", "operation_id", "poll_url"],
        "properties": {
            "model": TEXT,
            "provider": {"const": "google"},
            "status": {"const": "processing"},
            "operation_id": OPERATION,
            "poll_url": TEXT,
        },
    }
    finished = {
        "type": "object",
        "required": ["model", "provider", "status", "video_url"],
        "properties": {
            "model": TEXT,
            "provider": {"const": "fal"},
            "status": {"const": "completed"},
            "video_url": {**TEXT, "format": "uri"},
        },
    }
    return {
        **SURFACE,
        "operationId": "concurredGenerateVideo",
        "summary": "Concurred: generate a video",
        "security": [{"bearer": [VIDEOS_WRITE]}],
        "description": "Concurred-compatible. Google Veo models answer at once with an "
        "operation to poll; the fal.ai models (Kling 3 Pro, Wan 2.6) answer when the video "
        f"is ready (at most {SYNC_TIMEOUT:g} s). `video_url` is vidgate's content URL for "
        f"the job and needs the same bearer key. Needs `{VIDEOS_WRITE}` (or `{ADMIN}`).",
        "requestBody": {"required": True, "content": {"application/json": {"schema": request}}},
        "responses": {
            "200": _json(
                _envelope({"oneOf": [started, finished]}),
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
                (409, "A sync model's job was canceled while the request waited."),
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
    query = [
        {
            "name": "provider",
            "in": "query",
            "required": True,
            "schema": {"enum": list(PROVIDERS)},
            "description": "`google` (or `fal`, for a sync model's job that outlasted its "
            "request); echoed back.",
        },
        {
            "name": "operation_id",
            "in": "query",
            "required": True,
            "schema": OPERATION,
            "description": "The `operation_id` from the generate response.",
        },
    ]
    data = {
        "type": "object",
        "required": ["provider", "operation_id", "done"],
        "properties": {
            "provider": TEXT,
            "operation_id": TEXT,
            "done": {"type": "boolean"},
            "video_url": {**TEXT, "format": "uri", "description": "When done and completed."},
            "error": {
                "type": "object",
                "required": ["code", "message"],
                "description": "When done and failed or canceled.",
                "properties": {"code": TEXT, "message": TEXT},
            },
        },
    }
    return {
        **SURFACE,
        "operationId": "concurredVideoStatus",
        "summary": "Concurred: poll a video operation",
        "parameters": query,
        "security": [{"bearer": [VIDEOS_READ]}],
        "description": "Concurred-compatible. `done: false` while rendering; `done: true` "
        "with `video_url`, or with `error` if the video failed or was canceled. Needs "
        f"`{VIDEOS_READ}` (or `{ADMIN}`).",
        "responses": {
            "200": _json(_envelope(data), "The operation."),
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
    }
