"""The `/v1/videos…` operations: create, list, get, delete, content, cancel."""

from __future__ import annotations

from typing import Any

from events.apikey import VIDEOS_READ, VIDEOS_WRITE
from service.surfaces.idempotency import MAX_KEY as MAX_IDEMPOTENCY_KEY
from service.surfaces.openai.shapes.create import CreateVideoMultipart, CreateVideoRequest
from service.surfaces.openai.shapes.queries import ContentQuery, ListVideosQuery, VideoAtQuery
from service.surfaces.openai.shapes.videos import Video, VideoDeleted, VideoEventList, VideoList
from service.surfaces.openapi.jsonschema import query_parameters, ref
from service.surfaces.openapi.operations import (
    LAST_EVENT_ID,
    POLL_AFTER,
    STREAM,
    STREAM_HOW,
    VIDEO_ID,
    error_responses,
    json_answer,
    operation,
    streamed,
)

Spec = dict[str, Any]


def _create_video() -> Spec:
    created = "the video object; poll `GET /v1/videos/{video_id}` until it is finished."
    body = {
        "required": True,
        "content": {
            "application/json": {"schema": ref(CreateVideoRequest)},
            "multipart/form-data": {
                "schema": ref(CreateVideoMultipart),
                "encoding": {"input_reference": {"contentType": "image/*"}},
            },
        },
    }
    replay = (
        "Makes retries safe: the same key and request return the first video (200); the "
        "same key with a different request is a 409. Printable, not blank."
    )
    text = {"type": "string", "minLength": 1, "maxLength": MAX_IDEMPOTENCY_KEY}
    key = {
        "name": "Idempotency-Key",
        "in": "header",
        "required": False,
        "description": replay,
        "schema": text,
    }
    return operation(
        "createVideo",
        "Create a video",
        "videos",
        {
            "200": json_answer(ref(Video), f"Idempotent replay: {created}", POLL_AFTER),
            "202": json_answer(ref(Video), f"Accepted: {created}", POLL_AFTER),
            **error_responses(
                (
                    400,
                    "Invalid request (`invalid_value`, `unknown_parameter`, "
                    "`missing_required_parameter`, `too_long`, `model_not_found`, `invalid_json`, "
                    "`invalid_form`, `invalid_image`, `unsupported_parameter`); `error.param` "
                    "names the field (or `Idempotency-Key`).",
                ),
                401,
                403,
                (
                    409,
                    "This Idempotency-Key was used with a different request "
                    "(`idempotency_key_reused`), or its video was deleted (`video_deleted`).",
                ),
                413,
                415,
            ),
        },
        scope=VIDEOS_WRITE,
        parameters=[key],
        requestBody=body,
        description=(
            "Queues a text-to-video or image-to-video job. Send JSON, or a form (multipart, or "
            "url-encoded without a file) to upload the first frame as `input_reference`."
        ),
    )


def _list_videos() -> Spec:
    parameters = query_parameters(ListVideosQuery)
    return operation(
        "listVideos",
        "List videos",
        "videos",
        {
            "200": json_answer(ref(VideoList), "A page of the tenant's videos."),
            **error_responses(
                (
                    400,
                    "A bad query parameter (`invalid_value`, or "
                    "`unknown_parameter` for a name not listed here).",
                ),
                401,
                403,
            ),
        },
        scope=VIDEOS_READ,
        parameters=parameters,
    )


def video_paths() -> Spec:
    retrieve = operation(
        "retrieveVideo",
        "Retrieve a video",
        "videos",
        {
            "200": json_answer(ref(Video), "The video object.", POLL_AFTER),
            **error_responses(
                (
                    400,
                    "`at` is not a version the video had (from 1 to its latest), "
                    "is a time before it existed, or is neither (`invalid_value`).",
                ),
                401,
                403,
                404,
            ),
        },
        scope=VIDEOS_READ,
        parameters=query_parameters(VideoAtQuery),
    )
    delete = operation(
        "deleteVideo",
        "Delete a video",
        "videos",
        {
            "200": json_answer(ref(VideoDeleted), "Deleted, with its files."),
            **error_responses(401, 403, 404),
        },
        scope=VIDEOS_WRITE,
        description="Cancels the job first if it is unfinished.",
    )
    cancel = operation(
        "cancelVideo",
        "Cancel a video",
        "videos",
        {
            "200": json_answer(ref(Video), "The canceled video (canceling twice is harmless)."),
            **error_responses(
                401, 403, 404, (409, "The video already completed or failed (`invalid_state`).")
            ),
        },
        scope=VIDEOS_WRITE,
    )
    stream_ends = (
        "The stream ends after the job's terminal event (after `completed`: with "
        "`OutputStored`, or when it has not come within 15 s)."
    )
    events = operation(
        "listVideoEvents",
        "A video's audit history, or its live stream",
        "videos",
        {
            "200": streamed(
                json_answer(ref(VideoEventList), "Every event of the job, oldest first."),
                f"The job's events as Server-Sent Events, oldest first. {stream_ends}",
            ),
            "204": {
                "description": "A stream of a finished job whose events the client has all "
                "received (its `Last-Event-ID` is the last one): there is nothing more."
            },
            **error_responses(
                (400, "A bad `stream` or `Last-Event-ID` (`invalid_value`)."), 401, 403, 404
            ),
        },
        scope=VIDEOS_READ,
        parameters=[STREAM, LAST_EVENT_ID],
        description="Also available for deleted videos."
        + STREAM_HOW.format(id="is the event's `version`")
        + f" {stream_ends}",
    )
    return {
        "/v1/videos": {"post": _create_video(), "get": _list_videos()},
        "/v1/videos/{video_id}": {"parameters": [VIDEO_ID], "get": retrieve, "delete": delete},
        "/v1/videos/{video_id}/content": {"parameters": [VIDEO_ID], "get": _download_content()},
        "/v1/videos/{video_id}/cancel": {"parameters": [VIDEO_ID], "post": cancel},
        "/v1/videos/{video_id}/events": {"parameters": [VIDEO_ID], "get": events},
    }


def _download_content() -> Spec:
    files = {
        kind: {"schema": {"type": "string", "format": "binary"}}
        for kind in ("video/mp4", "image/jpeg")
    }
    errors = error_responses(
        (
            400,
            "`variant` is not `video` or `thumbnail` (`invalid_value`, `unsupported_variant`), "
            "`index` is past the job's last video; a malformed `Range` header gets a plain-text "
            "400.",
        ),
        401,
        403,
        (404, "No such video (`not_found`), or its file is missing from storage."),
        (409, "The video is not completed yet (`video_not_ready`)."),
    )
    errors["400"]["content"]["text/plain"] = {"schema": {"type": "string"}}
    return operation(
        "downloadVideoContent",
        "Download a video's file",
        "videos",
        {
            "200": {"description": "The file.", "content": files},
            "206": {"description": "Part of the file, for a `Range` request.", "content": files},
            **errors,
            "416": {"description": "The `Range` lies outside the file (empty body)."},
        },
        scope=VIDEOS_READ,
        parameters=query_parameters(ContentQuery),
    )
