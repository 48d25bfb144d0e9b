"""The Concurred facade's request, answers and error envelope, declared once."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field
from pydantic.json_schema import SkipJsonSchema

from service.surfaces.patterns import NOT_BLANK
from service.surfaces.shapes import RequestShape, Shape


class ConcurredGenerateRequest(RequestShape):
    """`POST /api/v1/video/generate`."""

    prompt: str = Field(description="Video description.", pattern=NOT_BLANK)
    model: (
        Literal[
            "veo-3.1", "veo-3.1-fast", "kling-3-pro", "kling-3-pro-i2v", "wan-2.6", "wan-2.6-i2v"
        ]
        | SkipJsonSchema[None]
    ) = Field(default=None, json_schema_extra={"default": "veo-3.1"})
    image_url: str | SkipJsonSchema[None] = Field(
        default=None,
        description=(
            "Source image (http(s) URL or data: URI); with kling-3-pro or wan-2.6 "
            "it switches to the -i2v model."
        ),
    )
    duration: Annotated[str, Field(pattern="^\\s*\\d+\\s*$")] | int | SkipJsonSchema[None] = Field(
        default=None,
        description=(
            "Seconds, as a string (a number is accepted too): Veo 4, 6 or 8 (8 at "
            "1080p and 4k); Kling 3 Pro 3-15; Wan 2.6 5, 10 or 15."
        ),
        examples=["8"],
    )
    aspect_ratio: str | SkipJsonSchema[None] = Field(default=None, examples=["16:9", "9:16"])
    resolution: str | SkipJsonSchema[None] = Field(default=None, examples=["720p", "1080p", "4k"])


class ConcurredStarted(Shape):
    """A Veo model's answer: the operation to poll."""

    model: str
    provider: Literal["google"]
    status: Literal["processing"]
    operation_id: str = Field(
        examples=["operations/video_6f1c5a523a1e4f6b9a557d0c1f2b9e10"],
        pattern="^operations/video_[0-9a-f]{32}$",
    )
    poll_url: str


class ConcurredFinished(Shape):
    """A fal.ai model's answer: the finished video."""

    model: str
    provider: Literal["fal"]
    status: Literal["completed"]
    video_url: str = Field(json_schema_extra={"format": "uri"})


class ConcurredGenerated(Shape):
    """The 200 of a generate request."""

    success: Literal[True]
    data: ConcurredStarted | ConcurredFinished


class ConcurredStatusDataError(Shape):
    """When done and failed or canceled."""

    code: str
    message: str


class ConcurredStatusData(Shape):
    provider: str
    operation_id: str
    done: bool
    video_url: str | SkipJsonSchema[None] = Field(
        default=None, description="When done and completed.", json_schema_extra={"format": "uri"}
    )
    error: ConcurredStatusDataError | SkipJsonSchema[None] = Field(
        default=None, description="When done and failed or canceled."
    )


class ConcurredStatus(Shape):
    """The 200 of a status request."""

    success: Literal[True]
    data: ConcurredStatusData


class ConcurredErrorDetail(Shape):
    code: str | None = Field(examples=["invalid_value"])
    message: str
    param: str | None
    operation_id: (
        Annotated[str, Field(pattern="^operations/video_[0-9a-f]{32}$")] | SkipJsonSchema[None]
    ) = Field(
        default=None,
        description="504 and 502/409 of a sync model: the job, which a 504 leaves running.",
        examples=["operations/video_6f1c5a523a1e4f6b9a557d0c1f2b9e10"],
    )
    poll_url: str | SkipJsonSchema[None] = Field(
        default=None, description="504: where to poll the running job."
    )


class ConcurredError(Shape):
    """Concurred's error envelope; `param` names the parameter at fault."""

    success: Literal[False]
    error: ConcurredErrorDetail


class ConcurredStatusQuery(RequestShape):
    """The query of `GET /api/v1/video/status`."""

    provider: Literal["google", "fal"] = Field(
        description="`google` (or `fal`, for a sync model's job that outlasted its "
        "request); echoed back."
    )
    operation_id: str = Field(
        description="The `operation_id` from the generate response.",
        pattern=r"^operations/video_[0-9a-f]{32}$",
        examples=["operations/video_6f1c5a523a1e4f6b9a557d0c1f2b9e10"],
    )
