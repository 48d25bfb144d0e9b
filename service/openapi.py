"""The OpenAPI 3.1 document for every route vidgate serves (schemas: `openapi_schemas`)."""

from __future__ import annotations

import functools
from typing import Any

from events.apikey import ADMIN, VIDEOS_READ, VIDEOS_WRITE
from events.job import STATUSES
from service.api.videos import MAX_IDEMPOTENCY_KEY
from service.openapi_schemas import ref, schemas

Spec = dict[str, Any]

VERSION = "0.1.0"
ERRORS = {
    400: "Invalid request; `error.param` names the field at fault.",
    401: "Missing, malformed, unknown or revoked API key (`missing_api_key`, `invalid_api_key`).",
    403: "The API key lacks the scope this operation needs (`missing_scope`).",
    404: "No such video for this tenant (`not_found`); other tenants' videos are never revealed.",
    409: "The request conflicts with the video's state.",
    413: "The request body exceeds the server's limit (`request_too_large`).",
    415: "The body is neither JSON nor a form (`unsupported_media_type`).",
}
POLL_AFTER = {
    "openai-poll-after-ms": {
        "description": "Present while the video is unfinished: how long to wait before polling.",
        "schema": {"type": "integer", "minimum": 0},
    }
}
VIDEO_ID = {
    "name": "video_id", "in": "path", "required": True,
    "description": "A video id (`video_` and 32 hex digits); anything else is a 404.",
    "schema": {"type": "string", "examples": ["video_6f1c5a523a1e4f6b9a557d0c1f2b9e10"]},
}  # fmt: skip


def _json(schema: Spec, description: str, headers: Spec | None = None) -> Spec:
    response: Spec = {"description": description,
                      "content": {"application/json": {"schema": schema}}}  # fmt: skip
    if headers:
        response["headers"] = headers
    return response


def _error_responses(*codes: int | tuple[int, str]) -> dict[str, Spec]:
    """Error responses in the `Error` shape; `(code, text)` overrides the default text."""
    responses: dict[str, Spec] = {}
    for item in codes:
        code, text = item if isinstance(item, tuple) else (item, ERRORS[item])
        responses[str(code)] = _json(ref("Error"), text)
        if code == 401:
            responses["401"]["headers"] = {"WWW-Authenticate": {"schema": {"const": "Bearer"}}}
    return responses


def _query(name: str, description: str, schema: Spec) -> Spec:
    return {"name": name, "in": "query", "required": False, "description": description,
            "schema": schema}  # fmt: skip


def _op(op_id: str, summary: str, tag: str, responses: Spec, *, scope: str | None = None,
        description: str | None = None, **extra: Any) -> Spec:  # fmt: skip
    """An operation; `scope` names the API-key scope it needs (`admin` also suffices)."""
    operation: Spec = {"operationId": op_id, "summary": summary, "tags": [tag]}
    if description:
        operation["description"] = description
    if scope:
        operation["security"] = [{"bearer": [scope]}]
        note = f"Needs the `{scope}` scope (or `{ADMIN}`)."
        operation["description"] = f"{description} {note}" if description else note
    return {**operation, **extra, "responses": responses}


def _ops_paths() -> Spec:
    """Probes and this document: no API key (`security: []`)."""
    return {
        "/healthz": {"get": _op("healthz", "Liveness probe", "ops", {
            "200": _json(ref("Health"), "The process is up."),
        }, security=[])},
        "/readyz": {"get": _op("readyz", "Readiness probe", "ops", {
            "200": _json(ref("Readiness"), "The event store answers."),
            "503": _json(ref("Readiness"), "The event store does not answer."),
        }, security=[])},
        "/openapi.json": {"get": _op("getOpenApi", "This OpenAPI document", "ops", {
            "200": _json({"type": "object"}, "The OpenAPI 3.1 document."),
        }, security=[])},
    }  # fmt: skip


def _create_video() -> Spec:
    created = "the video object; poll `GET /v1/videos/{video_id}` until it is finished."
    body = {"required": True, "content": {
        "application/json": {"schema": ref("CreateVideoRequest")},
        "multipart/form-data": {"schema": ref("CreateVideoMultipart"),
                                "encoding": {"input_reference": {"contentType": "image/*"}}},
    }}  # fmt: skip
    replay = ("Makes retries safe: the same key and request return the first video (200); the "
              "same key with a different request is a 409. Printable, not blank.")  # fmt: skip
    text = {"type": "string", "minLength": 1, "maxLength": MAX_IDEMPOTENCY_KEY}
    key = {"name": "Idempotency-Key", "in": "header", "required": False, "description": replay,
           "schema": text}  # fmt: skip
    return _op("createVideo", "Create a video", "videos", {
        "200": _json(ref("Video"), f"Idempotent replay: {created}", POLL_AFTER),
        "202": _json(ref("Video"), f"Accepted: {created}", POLL_AFTER),
        **_error_responses(
            (400, "Invalid request (`invalid_value`, `unknown_parameter`, "
                  "`missing_required_parameter`, `too_long`, `model_not_found`, `invalid_json`, "
                  "`invalid_form`, `invalid_image`, `unsupported_parameter`); `error.param` "
                  "names the field (or `Idempotency-Key`)."),
            401, 403,
            (409, "This Idempotency-Key was used with a different request "
                  "(`idempotency_key_reused`)."),
            413, 415),
    }, scope=VIDEOS_WRITE, parameters=[key], requestBody=body, description=(
        "Queues a text-to-video or image-to-video job. Send JSON, or a form (multipart, or "
        "url-encoded without a file) to upload the first frame as `input_reference`."))  # fmt: skip


def _list_videos() -> Spec:
    parameters = [
        _query("after", "Return videos after this id (the previous page's `last_id`).",
               {"type": "string"}),
        _query("limit", "Page size.", {"type": "integer", "minimum": 1, "maximum": 100,
                                       "default": 20}),
        _query("order", "By creation time.", {"type": "string", "enum": ["asc", "desc"],
                                              "default": "desc"}),
        _query("status", "Only videos in this status.", {"type": "string", "enum": list(STATUSES)}),
        _query("model", "Only videos of this model (id or alias).", {"type": "string"}),
    ]  # fmt: skip
    return _op("listVideos", "List videos", "videos", {
        "200": _json(ref("VideoList"), "A page of the tenant's videos."),
        **_error_responses((400, "A bad query parameter (`invalid_value`, or "
                                 "`unknown_parameter` for a name not listed here)."), 401, 403),
    }, scope=VIDEOS_READ, parameters=parameters)  # fmt: skip


def _video_paths() -> Spec:
    retrieve = _op("retrieveVideo", "Retrieve a video", "videos", {
        "200": _json(ref("Video"), "The video object.", POLL_AFTER),
        **_error_responses(401, 403, 404),
    }, scope=VIDEOS_READ)  # fmt: skip
    delete = _op("deleteVideo", "Delete a video", "videos", {
        "200": _json(ref("VideoDeleted"), "Deleted, with its files."),
        **_error_responses(401, 403, 404),
    }, scope=VIDEOS_WRITE, description="Cancels the job first if it is unfinished.")  # fmt: skip
    cancel = _op("cancelVideo", "Cancel a video", "videos", {
        "200": _json(ref("Video"), "The canceled video (canceling twice is harmless)."),
        **_error_responses(401, 403, 404, (409, "The video already completed or failed "
                                                "(`invalid_state`).")),
    }, scope=VIDEOS_WRITE)  # fmt: skip
    events = _op("listVideoEvents", "A video's audit history", "videos", {
        "200": _json(ref("VideoEventList"), "Every event of the job, oldest first."),
        **_error_responses(401, 403, 404),
    }, scope=VIDEOS_READ, description="Also available for deleted videos.")  # fmt: skip
    return {
        "/v1/videos": {"post": _create_video(), "get": _list_videos()},
        "/v1/videos/{video_id}": {"parameters": [VIDEO_ID], "get": retrieve, "delete": delete},
        "/v1/videos/{video_id}/content": {"parameters": [VIDEO_ID], "get": _download_content()},
        "/v1/videos/{video_id}/cancel": {"parameters": [VIDEO_ID], "post": cancel},
        "/v1/videos/{video_id}/events": {"parameters": [VIDEO_ID], "get": events},
    }


def _download_content() -> Spec:
    files = {kind: {"schema": {"type": "string", "format": "binary"}}
             for kind in ("video/mp4", "image/jpeg")}  # fmt: skip
    choice = {"type": "string", "enum": ["video", "thumbnail"], "default": "video"}
    variant = _query("variant", "`video` (MP4) or `thumbnail` (JPEG of a middle frame); "
                     "`spritesheet` is a 400 `unsupported_variant`.", choice)  # fmt: skip
    errors = _error_responses(
        (400, "`variant` is not `video` or `thumbnail` (`invalid_value`, `unsupported_variant`); "
              "a malformed `Range` header gets a plain-text 400."),
        401, 403,
        (404, "No such video (`not_found`), or its file is missing from storage."),
        (409, "The video is not completed yet (`video_not_ready`)."),
    )  # fmt: skip
    errors["400"]["content"]["text/plain"] = {"schema": {"type": "string"}}
    return _op("downloadVideoContent", "Download a video's file", "videos", {
        "200": {"description": "The file.", "content": files},
        "206": {"description": "Part of the file, for a `Range` request.", "content": files},
        **errors,
        "416": {"description": "The `Range` lies outside the file (empty body)."},
    }, scope=VIDEOS_READ, parameters=[variant])  # fmt: skip


def _model_paths() -> Spec:
    name = {"name": "model", "in": "path", "required": True,
            "description": "A model id or alias (it may contain `/`).",
            "schema": {"type": "string"}}  # fmt: skip
    listing = _op("listModels", "List models", "models", {
        "200": _json(ref("ModelList"), "The catalog."), **_error_responses(401),
    }, description="Any valid API key may list models.")  # fmt: skip
    retrieve = _op("retrieveModel", "Retrieve a model", "models", {
        "200": _json(ref("Model"), "The model and its capabilities."),
        **_error_responses(401, (404, "No model with this id or alias (`not_found`).")),
    }, description="Any valid API key may read a model.")  # fmt: skip
    return {
        "/v1/models": {"get": listing},
        "/v1/models/{model}": {"parameters": [name], "get": retrieve},
    }


BEARER = {
    "type": "http",
    "scheme": "bearer",
    "bearerFormat": "vg_…",
    "description": "An API key (`vg_…`), e.g. from `vidgate keys create`.",
}
INFO = {
    "title": "vidgate",
    "version": VERSION,
    "summary": "A self-hosted, event-sourced gateway for AI video generation.",
    "description": (
        "Compatible with the OpenAI Videos API. Every `/v1` route needs "
        "`Authorization: Bearer vg_…`; keys carry the scopes `videos:read`, `videos:write` "
        "and `admin` (which implies both). Every error body has the `Error` shape; an "
        "unexpected failure is a 500 with `error.code` `internal_error`."
    ),
    "license": {"name": "Apache-2.0", "identifier": "Apache-2.0"},
}


@functools.cache
def openapi_document() -> dict[str, Any]:
    """The document, built once (callers must not mutate it)."""
    return {
        "openapi": "3.1.0",
        "info": INFO,
        "tags": [
            {"name": "videos", "description": "Generate, poll, download and manage videos."},
            {"name": "models", "description": "The model catalog and its capabilities."},
            {"name": "ops", "description": "Probes and this document (no authentication)."},
        ],
        "security": [{"bearer": []}],
        "paths": {**_ops_paths(), **_video_paths(), **_model_paths()},
        "components": {
            "schemas": schemas(),
            "securitySchemes": {"bearer": BEARER},
        },
    }
