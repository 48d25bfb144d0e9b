"""The v2 facade's request, answers and error, declared once."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field
from pydantic.json_schema import SkipJsonSchema

from service.surfaces.patterns import NOT_BLANK
from service.surfaces.shapes import RequestShape, Shape


class V2GenerateRequestParameters(RequestShape):
    """The model's own parameters (also accepted at the top level; give each once)."""

    duration: int | str | SkipJsonSchema[None] = Field(
        default=None, description="Seconds (the model's own choices; default: the model's)."
    )
    resolution: str | SkipJsonSchema[None] = Field(default=None, examples=["720p", "1080p"])
    aspectRatio: str | SkipJsonSchema[None] = Field(default=None, examples=["16:9", "9:16"])
    fps: int | SkipJsonSchema[None] = Field(default=None)
    seed: Annotated[int, Field(ge=0, le=4294967295)] | SkipJsonSchema[None] = Field(default=None)
    negativePrompt: str | SkipJsonSchema[None] = Field(default=None)
    generateAudio: bool | SkipJsonSchema[None] = Field(
        default=None, description="Native audio, where the model has it."
    )
    imageUrl: str | SkipJsonSchema[None] = Field(
        default=None, description="First frame: An http(s) URL or a data:image/…;base64, URI."
    )
    endImageUrl: str | SkipJsonSchema[None] = Field(
        default=None, description="Last frame: An http(s) URL or a data:image/…;base64, URI."
    )
    aspect_ratio: str | SkipJsonSchema[None] = Field(default=None)
    negative_prompt: str | SkipJsonSchema[None] = Field(default=None)
    generate_audio: bool | SkipJsonSchema[None] = Field(default=None)
    audio: bool | SkipJsonSchema[None] = Field(default=None)
    image_url: str | SkipJsonSchema[None] = Field(
        default=None, description="An http(s) URL or a data:image/…;base64, URI."
    )
    end_image_url: str | SkipJsonSchema[None] = Field(
        default=None, description="An http(s) URL or a data:image/…;base64, URI."
    )


class V2GenerateRequest(RequestShape):
    prompt: str = Field(pattern=NOT_BLANK, max_length=4000, min_length=1)
    model: str = Field(
        description="A model id or alias (`GET /v1/models`).",
        examples=["veo-3.1", "grok-imagine-video"],
    )
    webhookUrl: str | SkipJsonSchema[None] = Field(
        default=None,
        description=(
            "Receives the job's events as Standard Webhooks, in v2's words: `event` "
            "(`progress`, `completed`, `failed`), `jobId`, `status`, `result` …"
        ),
        json_schema_extra={"format": "uri"},
    )
    webhookEvents: (
        list[Literal["progress", "completed", "failed", "canceled"]] | SkipJsonSchema[None]
    ) = Field(
        default=None,
        description="Default: progress, completed, failed (`canceled` only when listed).",
    )
    parameters: V2GenerateRequestParameters | SkipJsonSchema[None] = Field(
        default=None,
        description=(
            "The model's own parameters (also accepted at the top level; give each once)."
        ),
    )
    duration: int | str | SkipJsonSchema[None] = Field(
        default=None, description="Seconds (the model's own choices; default: the model's)."
    )
    resolution: str | SkipJsonSchema[None] = Field(default=None, examples=["720p", "1080p"])
    aspectRatio: str | SkipJsonSchema[None] = Field(default=None, examples=["16:9", "9:16"])
    fps: int | SkipJsonSchema[None] = Field(default=None)
    seed: Annotated[int, Field(ge=0, le=4294967295)] | SkipJsonSchema[None] = Field(default=None)
    negativePrompt: str | SkipJsonSchema[None] = Field(default=None)
    generateAudio: bool | SkipJsonSchema[None] = Field(
        default=None, description="Native audio, where the model has it."
    )
    imageUrl: str | SkipJsonSchema[None] = Field(
        default=None, description="First frame: An http(s) URL or a data:image/…;base64, URI."
    )
    endImageUrl: str | SkipJsonSchema[None] = Field(
        default=None, description="Last frame: An http(s) URL or a data:image/…;base64, URI."
    )
    aspect_ratio: str | SkipJsonSchema[None] = Field(default=None)
    negative_prompt: str | SkipJsonSchema[None] = Field(default=None)
    generate_audio: bool | SkipJsonSchema[None] = Field(default=None)
    audio: bool | SkipJsonSchema[None] = Field(default=None)
    image_url: str | SkipJsonSchema[None] = Field(
        default=None, description="An http(s) URL or a data:image/…;base64, URI."
    )
    end_image_url: str | SkipJsonSchema[None] = Field(
        default=None, description="An http(s) URL or a data:image/…;base64, URI."
    )


class V2Accepted(Shape):
    jobId: str = Field(json_schema_extra={"format": "uuid"})
    status: Literal["QUEUED", "PROCESSING", "COMPLETED", "FAILED", "CANCELED"] = Field(
        description="QUEUED; a retry with the same Idempotency-Key: the job's status now."
    )


class V2Video(Shape):
    """One of the videos a job made."""

    videoUrl: str = Field(json_schema_extra={"format": "uri"})
    thumbnailUrl: str = Field(json_schema_extra={"format": "uri"})


class V2JobResult(Shape):
    videoUrl: str = Field(
        description="A signed link to the stored video, fetched without a key; it "
        "expires (3 days by default): GET the job again for a fresh one.",
        json_schema_extra={"format": "uri"},
    )
    thumbnailUrl: str | SkipJsonSchema[None] = Field(
        default=None,
        description="A signed link to a JPEG of the video's middle frame (no key).",
        json_schema_extra={"format": "uri"},
    )
    contentType: str | SkipJsonSchema[None] = Field(default=None)
    width: int | None = Field(default=None)
    height: int | None = Field(default=None)
    duration: float | None = Field(default=None)
    fps: float | None = Field(default=None)
    videos: list[V2Video] = Field(
        description="Every video the job made, the first being `videoUrl`'s: one, or four for "
        "midjourney-video."
    )


class V2JobError(Shape):
    code: str
    message: str


class V2Job(Shape):
    jobId: str = Field(json_schema_extra={"format": "uuid"})
    status: Literal["QUEUED", "PROCESSING", "COMPLETED", "FAILED", "CANCELED"]
    model: str
    progress: int = Field(ge=0, le=100)
    result: V2JobResult | None = Field(description="When COMPLETED.")
    error: V2JobError | None
    createdAt: str | None = Field(
        examples=["2026-11-25T13:38:02.512Z"], json_schema_extra={"format": "date-time"}
    )
    completedAt: str | None = Field(
        examples=["2026-11-25T13:38:02.512Z"], json_schema_extra={"format": "date-time"}
    )


class V2Error(Shape):
    """The v2 error body."""

    error: Literal[
        "Conflict",
        "Forbidden",
        "Insufficient credits",
        "Method not allowed",
        "Not found",
        "Payload too large",
        "Service unavailable",
        "Too many requests",
        "Unauthorized",
        "Unsupported media type",
        "Validation error",
    ] = Field(description="The seed's Error column.")
    message: str = Field(description="What is wrong, naming the field as it was sent.")
    code: str | None = Field(examples=["invalid_value", "model_not_found"])
    field: str | None = Field(examples=["parameters.duration"])


class V2WebhookEvent(Shape):
    """What a v2 job's `webhookUrl` receives (`service.surfaces.v2_webhooks`)."""

    event: Literal["progress", "completed", "failed", "canceled"] = Field(
        description="The event, by the seed's names (`canceled` only when asked for)."
    )
    jobId: str = Field(
        description="The jobId `POST /v2/videos/generate` answered.",
        json_schema_extra={"format": "uuid"},
    )
    status: Literal["PROCESSING", "COMPLETED", "FAILED", "CANCELED"]
    model: str
    progress: int = Field(ge=0, le=100)
    result: V2JobResult | None = Field(
        description="On `completed`: the video, with signed links made when it was sent."
    )
    error: V2JobError | None = Field(description="On `failed`.")
    occurredAt: str = Field(json_schema_extra={"format": "date-time"})
