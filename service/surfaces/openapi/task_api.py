"""The OpenAPI description of the task API facade (`service.surfaces.task_api`).

Its errors are OpenAI's shape, vidgate's `Error`, naming the task API's own fields.
"""

from __future__ import annotations

from typing import Any

from events.apikey import ADMIN, VIDEOS_READ, VIDEOS_WRITE
from service.surfaces.openapi.jsonschema import ref
from service.surfaces.patterns import INT_STRING_PATTERN
from service.surfaces.task_api import METADATA, STATUSES
from service.videos.request import MAX_SEED, MAX_USER

Spec = dict[str, Any]
TEXT = {"type": "string"}
NULLABLE_INT = {"type": ["integer", "null"]}
# A whole number, or its text (as forms send it): what `shape.as_int` takes.
WHOLE = {"anyOf": [{"type": "integer"}, {"type": "string", "pattern": INT_STRING_PATTERN}]}


def _json(schema: Spec, description: str) -> Spec:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


def _errors(*items: tuple[int, str]) -> dict[str, Spec]:
    responses = {str(code): _json(ref("Error"), text) for code, text in items}
    if "401" in responses:
        responses["401"]["headers"] = {"WWW-Authenticate": {"schema": {"const": "Bearer"}}}
    return responses


AUTH = (
    (401, "Missing, malformed, unknown or revoked API key (`missing_api_key`, `invalid_api_key`)."),
    (403, "The API key lacks the scope (`missing_scope`)."),
)


def _request() -> Spec:
    def number(description: str, **more: Any) -> Spec:
        return {**WHOLE, "description": description, **more}

    metadata = {
        "type": "object",
        "additionalProperties": False,
        "description": "Model-specific fields: `style` for models with "
        "`capabilities.styles` (Pixverse), `quality_level` for models with "
        "`capabilities.quality_levels` (Kling: std = 720p, pro = 1080p). A key the "
        "model does not take, or any other key, is a 400 naming it.",
        "properties": {name: {} for name in METADATA},
    }
    return {
        "type": "object",
        "required": ["model", "prompt"],
        "additionalProperties": False,
        "properties": {
            "model": {
                **TEXT,
                "description": "A model id or alias: kling-v2-5-turbo, "
                "kling-v2-1-master, veo_3_1, veo_3_1-fast, or any of `GET /v1/models`.",
                "examples": ["kling-v2-5-turbo"],
            },
            "prompt": {**TEXT, "examples": ["An astronaut walking on the Moon, cinematic shot"]},
            "image": {
                **TEXT,
                "description": "Image-to-video: an http(s) URL, a data: URI or bare "
                "base64 (PNG, JPEG, WebP, GIF).",
            },
            "duration": number(
                "Seconds, one of the model's durations; 0 = its default.", examples=[5]
            ),
            "width": number(
                "Pixels, with `height`: the model's frame of this size, or of its "
                "aspect ratio at the smallest resolution at least as large.",
                examples=[1280],
            ),
            "height": number("Pixels, with `width`.", examples=[720]),
            "fps": number(
                "Frames per second, one the model renders; 0 = its default.", examples=[24]
            ),
            "seed": number("For models that take one.", examples=[20231234], maximum=MAX_SEED),
            "n": {
                "anyOf": [{"const": 1}, {"type": "string", "pattern": r"^\s*0{0,11}1\s*$"}],
                "description": "Only 1.",
                "examples": [1],
            },
            "response_format": {"enum": ["url", ""], "default": "url"},
            "user": {
                **TEXT,
                "maxLength": MAX_USER,
                "description": "Your end user: recorded in the job's history (`params.user`), "
                "never sent upstream.",
            },
            "metadata": metadata,
        },
    }


def _task() -> Spec:
    made_with = {
        "type": "object",
        "description": "What the video is made with.",
        "required": ["duration", "fps", "width", "height", "seed"],
        "properties": {
            "duration": {"type": ["number", "null"]},
            "fps": NULLABLE_INT,
            "width": NULLABLE_INT,
            "height": NULLABLE_INT,
            "seed": NULLABLE_INT,
        },
    }
    return {
        "type": "object",
        "required": [
            "task_id",
            "status",
            "model",
            "progress",
            "created_at",
            "completed_at",
            "metadata",
        ],
        "properties": {
            "task_id": {
                **TEXT,
                "pattern": r"^video_[0-9a-f]{32}$",
                "description": "Also the id at `GET /v1/videos/{video_id}`.",
            },
            "status": {"enum": sorted(set(STATUSES.values()))},
            "model": {**TEXT, "description": "vidgate's id of the model."},
            "progress": {"type": "integer", "minimum": 0, "maximum": 100},
            "created_at": {"type": "integer", "description": "Unix seconds."},
            "completed_at": {**NULLABLE_INT, "description": "Unix seconds, once finished."},
            "metadata": made_with,
            "url": {
                **TEXT,
                "format": "uri",
                "description": "Once completed: vidgate's content "
                "URL for the video (needs the same bearer key).",
            },
            "format": {"const": "mp4"},
            "error": {
                "type": "object",
                "required": ["code", "message"],
                "properties": {"code": TEXT, "message": TEXT},
                "description": "Once failed (`canceled` when canceled).",
            },
        },
    }


def task_api_paths() -> Spec:
    task_id = {
        "name": "task_id",
        "in": "path",
        "required": True,
        "schema": TEXT,
        "description": "The `task_id` from the create response.",
    }
    create = {
        "operationId": "createVideoGenerationTask",
        "tags": ["videos"],
        "summary": "Task API: submit a video generation task",
        "security": [{"bearer": [VIDEOS_WRITE]}],
        "description": "Compatible with the `/v1/video/generations` task API. Poll the "
        f"task until `status` is `completed`. Needs `{VIDEOS_WRITE}` (or `{ADMIN}`).",
        "requestBody": {"required": True, "content": {"application/json": {"schema": _request()}}},
        "responses": {
            "200": _json(_task(), "The task, `queued`."),
            **_errors(
                (
                    400,
                    "A bad field (`invalid_value`, `missing_required_parameter`, "
                    "`unknown_parameter`, `unsupported_parameter`, `unsupported_value`, "
                    "`model_not_found`, `invalid_image`, `invalid_json`); `error.param` "
                    "names it (`duration`, `width/height`, `metadata.style` …).",
                ),
                *AUTH,
                (413, "The body is larger than the server's limit (`request_too_large`)."),
                (415, "The body is not JSON (`unsupported_media_type`)."),
            ),
        },
    }
    retrieve = {
        "operationId": "retrieveVideoGenerationTask",
        "tags": ["videos"],
        "summary": "Task API: poll a video generation task",
        "security": [{"bearer": [VIDEOS_READ]}],
        "description": f"Needs `{VIDEOS_READ}` (or `{ADMIN}`).",
        "responses": {
            "200": _json(_task(), "The task."),
            **_errors(*AUTH, (404, "No such task for this tenant (`not_found`).")),
        },
    }
    return {
        "/v1/video/generations": {"post": create},
        "/v1/video/generations/{task_id}": {"parameters": [task_id], "get": retrieve},
    }
