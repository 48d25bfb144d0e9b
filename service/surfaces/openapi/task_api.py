"""The OpenAPI description of the task API facade (`service.surfaces.task_api`).

Its errors are OpenAI's shape, vidgate's `Error`, naming the task API's own fields.
"""

from __future__ import annotations

from typing import Any

from events.apikey import ADMIN, VIDEOS_READ, VIDEOS_WRITE
from service.surfaces import task_api_shapes
from service.surfaces.openai.shapes.videos import Error
from service.surfaces.openapi.jsonschema import inline_schema, ref
from service.surfaces.openapi.signed_files import idempotency_key, signed_file
from service.surfaces.task_api import FILES

Spec = dict[str, Any]
TEXT = {"type": "string"}


def _json(schema: Spec, description: str) -> Spec:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


def _errors(*items: tuple[int, str]) -> dict[str, Spec]:
    responses = {str(code): _json(ref(Error), text) for code, text in items}
    if "401" in responses:
        responses["401"]["headers"] = {"WWW-Authenticate": {"schema": {"const": "Bearer"}}}
    return responses


AUTH = (
    (401, "Missing, malformed, unknown or revoked API key (`missing_api_key`, `invalid_api_key`)."),
    (403, "The API key lacks the scope (`missing_scope`)."),
)


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
        "parameters": [idempotency_key("answer with the same task")],
        "requestBody": {
            "required": True,
            "content": {
                "application/json": {"schema": inline_schema(task_api_shapes.CreateTaskRequest)}
            },
        },
        "responses": {
            "200": _json(inline_schema(task_api_shapes.Task), "The task, `queued`."),
            **_errors(
                (
                    400,
                    "A bad field (`invalid_value`, `missing_required_parameter`, "
                    "`unknown_parameter`, `unsupported_parameter`, `unsupported_value`, "
                    "`model_not_found`, `invalid_image`, `invalid_json`); `error.param` "
                    "names it (`duration`, `width/height`, `metadata.style` …).",
                ),
                *AUTH,
                (
                    409,
                    "The Idempotency-Key was used with a different request "
                    "(`idempotency_key_reused`), or its task was deleted (`video_deleted`).",
                ),
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
            "200": _json(inline_schema(task_api_shapes.Task), "The task."),
            **_errors(*AUTH, (404, "No such task for this tenant (`not_found`).")),
        },
    }
    return {
        "/v1/video/generations": {"post": create},
        "/v1/video/generations/{task_id}": {"parameters": [task_id], "get": retrieve},
        f"{FILES}/{{token}}.mp4": {"get": _file()},
    }


def _file() -> Spec:
    errors = _errors(
        (403, "The link is forged or has expired (`invalid_link`)."),
        (404, "The video was deleted, or is not stored (`not_found`)."),
    )
    summary = "Task API: a video, by signed link (`url`)"
    return signed_file("task_api", "videoGenerationFile", summary, "video/mp4", errors)
