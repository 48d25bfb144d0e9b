"""The task API's request and task object, declared once."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import Field
from pydantic.json_schema import SkipJsonSchema

from service.surfaces.patterns import INT_STRING_PATTERN, VIDEO_ID_PATTERN
from service.surfaces.shapes import RequestShape, Shape


class CreateTaskRequestMetadata(RequestShape):
    """Model-specific fields: `style` for models with `capabilities.styles` (Pixverse),
    `quality_level` for models with `capabilities.quality_levels` (Kling: std = 720p, pro
    = 1080p). A key the model does not take, or any other key, is a 400 naming it."""

    negative_prompt: Any | SkipJsonSchema[None] = Field(default=None)
    aspect_ratio: Any | SkipJsonSchema[None] = Field(default=None)
    resolution: Any | SkipJsonSchema[None] = Field(default=None)
    audio: Any | SkipJsonSchema[None] = Field(default=None)
    style: Any | SkipJsonSchema[None] = Field(default=None)
    quality_level: Any | SkipJsonSchema[None] = Field(default=None)


class CreateTaskRequest(RequestShape):
    model: str = Field(
        description=(
            "A model id or alias: kling-v2-5-turbo, kling-v2-1-master, veo_3_1, "
            "veo_3_1-fast, or any of `GET /v1/models`."
        ),
        examples=["kling-v2-5-turbo"],
    )
    prompt: str = Field(examples=["An astronaut walking on the Moon, cinematic shot"])
    image: str | SkipJsonSchema[None] = Field(
        default=None,
        description=(
            "Image-to-video: an http(s) URL, a data: URI or bare base64 (PNG, JPEG, WebP, GIF)."
        ),
    )
    duration: int | Annotated[str, Field(pattern=INT_STRING_PATTERN)] | SkipJsonSchema[None] = (
        Field(
            default=None,
            description="Seconds, one of the model's durations; 0 = its default.",
            examples=[5],
        )
    )
    width: int | Annotated[str, Field(pattern=INT_STRING_PATTERN)] | SkipJsonSchema[None] = Field(
        default=None,
        description=(
            "Pixels, with `height`: the model's frame of this size, or of its "
            "aspect ratio at the smallest resolution at least as large."
        ),
        examples=[1280],
    )
    height: int | Annotated[str, Field(pattern=INT_STRING_PATTERN)] | SkipJsonSchema[None] = Field(
        default=None, description="Pixels, with `width`.", examples=[720]
    )
    fps: int | Annotated[str, Field(pattern=INT_STRING_PATTERN)] | SkipJsonSchema[None] = Field(
        default=None,
        description="Frames per second, one the model renders; 0 = its default.",
        examples=[24],
    )
    seed: int | Annotated[str, Field(pattern=INT_STRING_PATTERN)] | SkipJsonSchema[None] = Field(
        default=None,
        description="For models that take one.",
        examples=[20231234],
        json_schema_extra={"maximum": 4294967295},
    )
    n: Literal[1] | Annotated[str, Field(pattern="^\\s*0{0,11}1\\s*$")] | SkipJsonSchema[None] = (
        Field(default=None, description="Only 1.", examples=[1])
    )
    response_format: Literal["url", ""] | SkipJsonSchema[None] = Field(
        default=None, json_schema_extra={"default": "url"}
    )
    user: Annotated[str, Field(max_length=256)] | SkipJsonSchema[None] = Field(
        default=None,
        description=(
            "Your end user: recorded in the job's history (`params.user`), never sent upstream."
        ),
    )
    metadata: CreateTaskRequestMetadata | SkipJsonSchema[None] = Field(
        default=None,
        description=(
            "Model-specific fields: `style` for models with `capabilities.styles` "
            "(Pixverse), `quality_level` for models with "
            "`capabilities.quality_levels` (Kling: std = 720p, pro = 1080p). A key "
            "the model does not take, or any other key, is a 400 naming it."
        ),
    )


class TaskMetadata(Shape):
    """What the video is made with."""

    duration: float | None
    fps: int | None
    width: int | None
    height: int | None
    seed: int | None


class TaskError(Shape):
    """Once failed (`canceled` when canceled)."""

    code: str
    message: str


class Task(Shape):
    task_id: str = Field(
        description="Also the id at `GET /v1/videos/{video_id}`.", pattern=VIDEO_ID_PATTERN
    )
    status: Literal["completed", "failed", "processing", "queued"]
    model: str = Field(description="vidgate's id of the model.")
    progress: int = Field(ge=0, le=100)
    created_at: int = Field(description="Unix seconds.")
    completed_at: int | None = Field(description="Unix seconds, once finished.")
    metadata: TaskMetadata = Field(description="What the video is made with.")
    url: str | SkipJsonSchema[None] = Field(
        default=None,
        description=(
            "Once completed: a signed link to the video, fetched without a key; it expires "
            "(3 days by default): poll the task again for a fresh one."
        ),
        json_schema_extra={"format": "uri"},
    )
    format: Literal["mp4"] | SkipJsonSchema[None] = Field(default=None)
    error: TaskError | SkipJsonSchema[None] = Field(
        default=None, description="Once failed (`canceled` when canceled)."
    )
