"""The video object, its list and its error: the shapes `/v1/videos…` answers with."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import Field
from pydantic.json_schema import SkipJsonSchema

from service.surfaces.patterns import SIZE_PATTERN, VIDEO_ID_PATTERN
from service.surfaces.shapes import Shape

# A job's event kinds, as the audit history and the feed name them (`events.job`).
EventType = Literal[
    "Submitted",
    "DispatchIntended",
    "Dispatched",
    "Progressed",
    "Completed",
    "Failed",
    "Canceled",
    "OutputStored",
    "Deleted",
]
# A tenant's ledger entries, as the feed names them (`events.account`).
LedgerEntryType = Literal["CreditsGranted", "CreditsReserved", "CreditsSettled", "CreditsReleased"]


class ErrorDetail(Shape):
    """What went wrong."""

    message: str = Field(description="A human-readable explanation.")
    type: Literal[
        "invalid_request_error",
        "authentication_error",
        "permission_error",
        "rate_limit_error",
        "service_unavailable",
        "server_error",
    ] = Field(description="The error class, following OpenAI.")
    param: str | None = Field(description="The request field at fault, if one is.")
    code: str | None = Field(
        description=(
            "A stable machine-readable code, e.g. `invalid_value`, "
            "`missing_api_key`, `missing_scope`, `not_found`, `video_not_ready`."
        )
    )


class Error(Shape):
    """The error body of every failed request (OpenAI's shape)."""

    error: ErrorDetail = Field(description="What went wrong.")


class VideoError(Shape):
    """Why the video failed; null unless `status` is `failed`."""

    code: str = Field(description="A stable code, e.g. `render_failed`, `invalid_image`.")
    message: str = Field(description="A human-readable explanation.")


class VideoOutput(Shape):
    """The rendered file, once the video is completed; null until then."""

    url: str | SkipJsonSchema[None] = Field(
        default=None,
        description="Absolute URL of the file (the `/content` endpoint).",
        json_schema_extra={"format": "uri"},
    )
    content_type: str | SkipJsonSchema[None] = Field(
        default=None, description="The file's media type.", examples=["video/mp4"]
    )
    width: Annotated[int, Field(ge=1)] | SkipJsonSchema[None] = Field(
        default=None, description="Frame width in pixels."
    )
    height: Annotated[int, Field(ge=1)] | SkipJsonSchema[None] = Field(
        default=None, description="Frame height in pixels."
    )
    duration: Annotated[float, Field(ge=0)] | SkipJsonSchema[None] = Field(
        default=None, description="Length in seconds."
    )
    fps: Annotated[int, Field(ge=1)] | SkipJsonSchema[None] = Field(
        default=None, description="Frames per second."
    )
    bytes: Annotated[int, Field(ge=0)] | SkipJsonSchema[None] = Field(
        default=None, description="File size in bytes."
    )
    sha256: Annotated[str, Field(pattern="^[0-9a-f]{64}$")] | SkipJsonSchema[None] = Field(
        default=None, description="Hex SHA-256 of the file."
    )


class Video(Shape):
    """A video generation job (the OpenAI video object, plus `provider` and `output`)."""

    id: str = Field(description="The video's id.", pattern=VIDEO_ID_PATTERN)
    object: Literal["video"]
    model: str = Field(description="The catalog id of the model (aliases are resolved).")
    status: Literal["queued", "in_progress", "completed", "failed", "canceled"] = Field(
        description="Where the job is."
    )
    progress: int = Field(description="Percent done; 100 only once completed.", ge=0, le=100)
    created_at: int = Field(description="Unix seconds when the request was accepted.")
    completed_at: int | None = Field(
        description="Unix seconds when the job finished (completed, failed or canceled)."
    )
    expires_at: int | None = Field(description="Always null: files are kept until deleted.")
    seconds: str = Field(description="The clip length in seconds, as a string (OpenAI's form).")
    size: str = Field(description="The frame size, `WIDTHxHEIGHT`.", pattern=SIZE_PATTERN)
    prompt: str = Field(description="The prompt as submitted.")
    remixed_from_video_id: str | None = Field(description="Always null: remixing is not offered.")
    error: VideoError | None = Field(
        description="Why the video failed; null unless `status` is `failed`."
    )
    provider: str = Field(description="The provider that renders the job, e.g. `local`.")
    output: VideoOutput | None = Field(
        description="The rendered file, once the video is completed; null until then."
    )


class VideoList(Shape):
    """A page of videos, newest first unless `order=asc`."""

    object: Literal["list"]
    data: list[Video]
    has_more: bool = Field(description="Whether another page follows `last_id`.")
    first_id: str | None = Field(description="The first video's id; null for an empty page.")
    last_id: str | None = Field(description="The last video's id (the next page's `after`).")


class VideoDeleted(Shape):
    """Confirms a deletion."""

    id: str = Field(description="The deleted video's id.", pattern=VIDEO_ID_PATTERN)
    object: Literal["video.deleted"]
    deleted: Literal[True]


class VideoEvent(Shape):
    """One entry of a job's audit history."""

    object: Literal["video.event"]
    type: EventType = Field(description="The event's kind.")
    version: int = Field(description="The event's position in the job's history (from 1).", ge=1)
    occurred_at: str = Field(
        description="When it was recorded (ISO 8601).", json_schema_extra={"format": "date-time"}
    )
    actor: str = Field(
        description="Who or what caused it: `api`, `dispatcher`, a provider, or `unknown`."
    )
    data: dict[str, Any] = Field(description="The event's recorded fields, which depend on `type`.")


class VideoEventList(Shape):
    """A job's whole history, oldest first."""

    object: Literal["list"]
    video_id: str = Field(description="The video the events belong to.", pattern=VIDEO_ID_PATTERN)
    data: list[VideoEvent]
