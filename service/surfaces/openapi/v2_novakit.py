"""The OpenAPI description of the v2 and NovaKit facades (`service.surfaces.v2`, `.novakit`).

Each answers errors in its own seed's shape, so its operations carry `x-surface` and one
error schema of their own rather than vidgate's `Error`.
"""

from __future__ import annotations

from typing import Any

from events.apikey import ADMIN, VIDEO, VIDEOS_READ, VIDEOS_WRITE
from events.endpoint import EVENT_FILTERS
from service.surfaces import novakit, novakit_request, v2

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
BODY_ERRORS = (
    (413, "The body is larger than the server's limit (`request_too_large`)."),
    (415, "The body is not JSON (`unsupported_media_type`)."),
)


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

V2_ERROR = _obj(
    {
        "error": {
            "enum": sorted(set(v2.ERRORS.values())),
            "description": "The seed's Error column.",
        },
        "message": {**TEXT, "description": "What is wrong, naming the field as it was sent."},
        "code": {"type": ["string", "null"], "examples": ["invalid_value", "model_not_found"]},
        "field": {"type": ["string", "null"], "examples": ["parameters.duration"]},
    },
    description="The v2 error body.",
)
V2_PARAMETERS: Spec = {
    "duration": {
        "type": ["integer", "string"],
        "description": "Seconds (the model's own choices; default: the model's).",
    },
    "resolution": {**TEXT, "examples": ["720p", "1080p"]},
    "aspectRatio": {**TEXT, "examples": ["16:9", "9:16"]},
    "fps": {"type": "integer"},
    "seed": {"type": "integer", "minimum": 0, "maximum": 2**32 - 1},
    "negativePrompt": TEXT,
    "generateAudio": {"type": "boolean", "description": "Native audio, where the model has it."},
    "imageUrl": {**IMAGE, "description": f"First frame: {IMAGE['description']}"},
    "endImageUrl": {**IMAGE, "description": f"Last frame: {IMAGE['description']}"},
    "aspect_ratio": TEXT,
    "negative_prompt": TEXT,
    "generate_audio": {"type": "boolean"},
    "audio": {"type": "boolean"},
    "image_url": IMAGE,
    "end_image_url": IMAGE,
}
V2_STATUS = {"enum": list(v2.STATUSES.values())}


def _v2_generate() -> Spec:
    request = _obj(
        {
            "prompt": {**TEXT, "minLength": 1, "maxLength": v2.MAX_PROMPT, "pattern": r"\S"},
            "model": {
                **TEXT,
                "examples": ["veo-3.1", "grok-imagine-video"],
                "description": "A model id or alias (`GET /v1/models`).",
            },
            "webhookUrl": {
                **URL,
                "description": "Receives vidgate's Standard Webhooks events "
                "(`video.progress` …; `video_id` is `video_` + the jobId's hex).",
            },
            "webhookEvents": {
                "type": "array",
                "items": {"enum": list(EVENT_FILTERS)},
                "description": "Default: all.",
            },
            "parameters": {
                "type": "object",
                "properties": V2_PARAMETERS,
                "additionalProperties": False,
                "description": "The model's own parameters (also accepted at the top "
                "level; give each once).",
            },
            **V2_PARAMETERS,
        },
        ["prompt", "model"],
        additionalProperties=False,
    )
    accepted = _obj({"jobId": {**TEXT, "format": "uuid"}, "status": {"const": "QUEUED"}})
    return _op(
        "v2",
        "v2GenerateVideo",
        "v2: generate a video",
        (VIDEOS_WRITE,),
        "v2-compatible: queues the job and answers at once; poll `GET /v2/jobs/{jobId}` "
        "or use webhooks.",
        {
            "202": _json(accepted, "Queued."),
            **_errors(
                V2_ERROR,
                (400, "Validation error: a bad or unknown field (`field` names it)."),
                BAD_KEY,
                (402, "Insufficient credits: never sent (vidgate has no credits yet)."),
                (403, "The key lacks the scope (`missing_scope`)."),
                *BODY_ERRORS,
                STORE_DOWN,
            ),
        },
        requestBody={"required": True, "content": {"application/json": {"schema": request}}},
    )


def _v2_job() -> Spec:
    result = _obj(
        {
            "videoUrl": {**URL, "description": "vidgate's content URL: send the same bearer key."},
            "thumbnailUrl": URL,
            "contentType": TEXT,
            "width": MAYBE_INT,
            "height": MAYBE_INT,
            "duration": {"type": ["number", "null"]},
            "fps": {"type": ["number", "null"]},
        },
        ["videoUrl"],
    )
    job = _obj(
        {
            "jobId": {**TEXT, "format": "uuid"},
            "status": V2_STATUS,
            "model": TEXT,
            "progress": {"type": "integer", "minimum": 0, "maximum": 100},
            "result": {"oneOf": [result, {"type": "null"}], "description": "When COMPLETED."},
            "error": {"oneOf": [_obj({"code": TEXT, "message": TEXT}), {"type": "null"}]},
            "createdAt": TIME,
            "completedAt": TIME,
        }
    )
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
            "200": _json(job, "The job."),
            **_errors(
                V2_ERROR,
                BAD_KEY,
                (403, "The key lacks the scope (`missing_scope`)."),
                (404, "No such job for this tenant (`not_found`)."),
                STORE_DOWN,
            ),
        },
        parameters=[job_id],
    )


# NovaKit

NOVAKIT_ERROR = _obj(
    {
        "error": {**TEXT, "description": "What is wrong, naming the parameter."},
        "code": {"type": ["string", "null"], "examples": ["invalid_value", "timeout"]},
        "param": {"type": ["string", "null"]},
        "id": {**TEXT, "description": "Sync 409/502/504: the job (a 504 leaves it running)."},
        "status": {**TEXT, "description": "Sync 409/502/504: the job's status."},
    },
    ["error"],
    description="NovaKit's `{error}` body, with context.",
)
JOB_ID = {"type": "string", "pattern": r"^job_[0-9a-f]{32}$"}
NK_STATUS = {"enum": list(novakit.STATUSES.values())}
NK_VIDEO = _obj(
    {
        "url": {
            **URL,
            "description": "A signed link to the file, valid for 3 days "
            "without a key (`GET /api/v1/files/{token}.mp4`).",
        },
        "duration_seconds": NUMBER,
        "width": MAYBE_INT,
        "height": MAYBE_INT,
    }
)


def _query(name: str, schema: Spec, description: str) -> Spec:
    return {
        "name": name,
        "in": "query",
        "required": False,
        "schema": schema,
        "description": description,
    }


def _novakit_generate() -> Spec:
    r = novakit_request
    request = _obj(
        {
            "prompt": {**TEXT, "pattern": r"\S"},
            "model": {**TEXT, "default": r.DEFAULT_MODEL},
            "duration_seconds": {
                **NUMBER,
                "default": r.DEFAULT_SECONDS,
                "description": "Snapped to the model's nearest length.",
            },
            "resolution": {**TEXT, "default": r.DEFAULT_RESOLUTION, "examples": ["1080p", "4k"]},
            "fps": {
                **NUMBER,
                "default": r.DEFAULT_FPS,
                "description": "Snapped to the model's nearest frame rate.",
            },
            "aspect_ratio": {**TEXT, "default": r.DEFAULT_ASPECT},
            "mode": {
                "enum": list(r.MODES),
                "description": "Default text_to_video, or "
                "image_to_video with a source_image; video_to_video is a 400.",
            },
            "source_image": {"type": ["string", "null"]},
            "source_video": {"type": ["string", "null"], "description": "Always a 400."},
            "negative_prompt": {"type": ["string", "null"]},
            "seed": {"type": ["integer", "null"], "minimum": 0, "maximum": 2**32 - 1},
            "prompt_optimizer": {"type": ["boolean", "null"], "default": True},
            "loop": {"type": ["boolean", "null"], "default": False},
        },
        ["prompt"],
        additionalProperties=False,
    )
    usage = _obj(
        {
            "credits_used": {"type": "integer"},
            "seconds_used": NUMBER,
            "seconds_remaining": {"type": "null"},
        }
    )
    finished = _obj(
        {
            "id": JOB_ID,
            "created": {"type": "integer"},
            "data": NK_VIDEO,
            "model": TEXT,
            "model_tier": TEXT,
            "usage": usage,
        }
    )
    pending = _obj(
        {
            "id": JOB_ID,
            "status": {"const": "pending"},
            "created": {"type": "integer"},
            "model": TEXT,
            "estimated_credits": {"type": "integer"},
        }
    )
    query = [
        _query("async", {"type": "boolean", "default": False}, "Answer at once with the job."),
        _query(
            "timeout",
            {
                **NUMBER,
                "exclusiveMinimum": 0,
                "maximum": novakit.MAX_SYNC_TIMEOUT,
                "default": novakit.SYNC_TIMEOUT,
            },
            "vidgate: how long a sync request waits before its 504.",
        ),
    ]
    return _op(
        "novakit",
        "novakitGenerateVideo",
        "NovaKit: generate a video",
        (VIDEO, VIDEOS_WRITE),
        "NovaKit-compatible. Sync: answers when the video is stored; "
        "`async=true`: answers the job at once. 1 credit = $0.01 of list price.",
        {
            "200": _json({"oneOf": [finished, pending]}, "The finished video, or (async) the job."),
            **_errors(
                NOVAKIT_ERROR,
                (400, "A bad parameter (`param` names it), or video_to_video."),
                BAD_KEY,
                (403, "The key lacks the `video` scope (`missing_scope`)."),
                (409, "Sync: the job was cancelled meanwhile."),
                *BODY_ERRORS,
                (502, "Sync: the job failed; `code` is its error code."),
                STORE_DOWN,
                (504, "Sync: not ready within `timeout` (`timeout`); the job carries on."),
            ),
        },
        parameters=query,
        requestBody={"required": True, "content": {"application/json": {"schema": request}}},
    )


def _novakit_job() -> Spec:
    job = _obj(
        {
            "id": JOB_ID,
            "tool": {"const": "video"},
            "status": NK_STATUS,
            "progress": {"type": "integer", "minimum": 0, "maximum": 100},
            "inputParams": {"type": "object"},
            "outputData": {"oneOf": [_obj({"video": NK_VIDEO}), {"type": "null"}]},
            "errorMessage": {"type": ["string", "null"]},
            "estimatedCredits": {"type": "integer"},
            "actualCredits": MAYBE_INT,
            "createdAt": TIME,
            "completedAt": TIME,
            "model": TEXT,
            "modelTier": TEXT,
        }
    )
    parameters = [
        {
            "name": "jobId",
            "in": "path",
            "required": True,
            "schema": TEXT,
            "description": "`job_…` (the job's `video_…` id works too).",
        },
        _query(
            "poll",
            {"type": "boolean", "default": False},
            "Wait until the job's status changes (or it ends), at most `timeout` seconds.",
        ),
        _query(
            "timeout",
            {
                **NUMBER,
                "exclusiveMinimum": 0,
                "maximum": novakit.MAX_POLL_TIMEOUT,
                "default": novakit.POLL_TIMEOUT,
            },
            "vidgate: the long-poll's limit.",
        ),
    ]
    return _op(
        "novakit",
        "novakitGetJob",
        "NovaKit: get (or long-poll) a job",
        (VIDEO, VIDEOS_READ),
        "NovaKit-compatible.",
        {
            "200": _json(job, "The job."),
            **_errors(
                NOVAKIT_ERROR,
                (400, "A bad `poll` or `timeout`."),
                BAD_KEY,
                (403, "The key lacks the `video` scope (`missing_scope`)."),
                (404, "No such job for this tenant (`not_found`)."),
                STORE_DOWN,
            ),
        },
        parameters=parameters,
    )


def _novakit_file() -> Spec:
    token = {
        "name": "token",
        "in": "path",
        "required": True,
        "schema": TEXT,
        "description": "The signed token of a video's `url`.",
    }
    return {
        "x-surface": "novakit",
        "tags": ["videos"],
        "operationId": "novakitVideoFile",
        "summary": "NovaKit: a video's file, by signed link",
        "security": [],
        "description": "No key: the signed, expiring (3 days) link is the credential, as "
        "NovaKit's CDN URLs are. `Range` requests are served.",
        "parameters": [token],
        "responses": {
            "200": {
                "description": "The MP4.",
                "content": {"video/mp4": {"schema": {"type": "string", "format": "binary"}}},
            },
            "206": {
                "description": "Part of the file, for a `Range` request.",
                "content": {"video/mp4": {"schema": {"type": "string", "format": "binary"}}},
            },
            **_errors(
                NOVAKIT_ERROR,
                (403, "The link is forged or has expired (`invalid_link`)."),
                (404, "The video was deleted, or is not stored (`not_found`)."),
                STORE_DOWN,
            ),
            "416": {"description": "The `Range` lies outside the file (empty body)."},
        },
    }


def v2_novakit_paths() -> Spec:
    return {
        "/v2/videos/generate": {"post": _v2_generate()},
        "/v2/jobs/{jobId}": {"get": _v2_job()},
        "/api/v1/videos/generations": {"post": _novakit_generate()},
        "/api/v1/jobs/{jobId}": {"get": _novakit_job()},
        "/api/v1/files/{token}.mp4": {"get": _novakit_file()},
    }
