"""Building blocks of the document's operations: answers, errors, parameters."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel

from events.apikey import ADMIN
from service.surfaces.openai.shapes.videos import Error
from service.surfaces.openai.webhook_endpoints import MAX_BODY as WEBHOOK_MAX_BODY
from service.surfaces.openapi.jsonschema import ref

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
    "name": "video_id",
    "in": "path",
    "required": True,
    "description": "A video id (`video_` and 32 hex digits), or the same job's id as another "
    "surface gave it: NovaKit's `job_…`, the v2 `jobId` (a UUID), the `video_…` part of "
    "Concurred's `operation_id`; anything else is a 404.",
    "schema": {"type": "string", "examples": ["video_6f1c5a523a1e4f6b9a557d0c1f2b9e10"]},
}


ENDPOINT_ID = {
    "name": "endpoint_id",
    "in": "path",
    "required": True,
    "description": "A webhook endpoint id (`we_` and 32 hex digits); anything else is a 404.",
    "schema": {"type": "string", "examples": ["we_0b7e4c1d9a2f4e8b8c3d5f6a7b8c9d0e"]},
}


DELIVERY_ID = {
    "name": "delivery_id",
    "in": "path",
    "required": True,
    "description": "A delivery id (`dlv_` and 32 hex digits), from a deliveries list.",
    "schema": {"type": "string", "examples": ["dlv_3c9d1e2f4a5b4c6d8e7f9a0b1c2d3e4f"]},
}


STREAM_HOW = (
    " With `Accept: text/event-stream` or `stream=true`, the answer is a live stream of "
    "Server-Sent Events instead: each event's `data` is one item of `data` above (JSON), its "
    "`id` {id}; a `: keep-alive` comment comes every 15 s while nothing happens. A client "
    "that reconnects with `Last-Event-ID` gets what came after that event."
)


STREAM = {
    "name": "stream",
    "in": "query",
    "required": False,
    "description": "`true`: answer with a live stream of Server-Sent Events (as "
    "`Accept: text/event-stream` does).",
    "schema": {"type": "boolean", "default": False},
}


LAST_EVENT_ID = {
    "name": "Last-Event-ID",
    "in": "header",
    "required": False,
    "description": "With a stream: the `id` of the last event received; the stream resumes "
    "after it (browsers' `EventSource` sends it when it reconnects). Ignored otherwise.",
    "schema": {"type": "string"},
}


def streamed(answer: Spec, description: str) -> Spec:
    """`answer` (a JSON answer) that a stream of Server-Sent Events may replace."""
    events = {"schema": {"type": "string", "description": description}}
    return {**answer, "content": {**answer["content"], "text/event-stream": events}}


NO_ENDPOINT = (404, "No such webhook endpoint for this tenant, or it was deleted (`not_found`).")


def json_answer(schema: Spec, description: str, headers: Spec | None = None) -> Spec:
    response: Spec = {
        "description": description,
        "content": {"application/json": {"schema": schema}},
    }
    if headers:
        response["headers"] = headers
    return response


def error_responses(*codes: int | tuple[int, str]) -> dict[str, Spec]:
    """Error responses in the `Error` shape; `(code, text)` overrides the default text."""
    responses: dict[str, Spec] = {}
    for item in codes:
        code, text = item if isinstance(item, tuple) else (item, ERRORS[item])
        responses[str(code)] = json_answer(ref(Error), text)
        if code == 401:
            responses["401"]["headers"] = {"WWW-Authenticate": {"schema": {"const": "Bearer"}}}
    return responses


def query(name: str, description: str, schema: Spec) -> Spec:
    return {
        "name": name,
        "in": "query",
        "required": False,
        "description": description,
        "schema": schema,
    }


def operation(
    op_id: str,
    summary: str,
    tag: str,
    responses: Spec,
    *,
    scope: str | None = None,
    description: str | None = None,
    **extra: Any,
) -> Spec:
    """An operation; `scope` names the API-key scope it needs (`admin` also suffices)."""
    operation: Spec = {"operationId": op_id, "summary": summary, "tags": [tag]}
    if description:
        operation["description"] = description
    if scope:
        operation["security"] = [{"bearer": [scope]}]
        note = f"Needs the `{scope}` scope (or `{ADMIN}`)."
        operation["description"] = f"{description} {note}" if description else note
    return {**operation, **extra, "responses": responses}


def body(shape: type[BaseModel], *, required: bool = True) -> Spec:
    return {"required": required, "content": {"application/json": {"schema": ref(shape)}}}


def body_errors(codes: str, *more: int | tuple[int, str]) -> dict[str, Spec]:
    """The errors of an operation that reads a JSON body (at most 64 KiB)."""
    return error_responses(
        (
            400,
            f"Invalid request ({codes}`unknown_parameter`, `invalid_json`); `error.param` "
            "names the field.",
        ),
        401,
        403,
        *more,
        (413, f"The body is larger than {WEBHOOK_MAX_BODY} bytes (`request_too_large`)."),
        415,
    )
