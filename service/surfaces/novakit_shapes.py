"""The NovaKit facade's request, answers and error, declared once."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import Field, RootModel
from pydantic.json_schema import SkipJsonSchema

from service.surfaces.novakit import MAX_POLL_TIMEOUT, MAX_SYNC_TIMEOUT, POLL_TIMEOUT, SYNC_TIMEOUT
from service.surfaces.patterns import NOT_BLANK
from service.surfaces.shapes import RequestShape, Shape


class NovaKitGenerationRequest(RequestShape):
    prompt: str = Field(pattern=NOT_BLANK)
    model: str | SkipJsonSchema[None] = Field(
        default=None, json_schema_extra={"default": "fal-ai/minimax/video-01"}
    )
    duration_seconds: float | SkipJsonSchema[None] = Field(
        default=None,
        description=(
            "One of the model's lengths (`GET /v1/models`), else a 400; omitted: 5, or the "
            "model's default length when it renders no 5 s."
        ),
        json_schema_extra={"default": 5},
    )
    resolution: str | SkipJsonSchema[None] = Field(
        default=None, examples=["1080p", "4k"], json_schema_extra={"default": "720p"}
    )
    fps: float | SkipJsonSchema[None] = Field(
        default=None,
        description=(
            "One of the model's frame rates, else a 400; omitted: 30, or the model's own."
        ),
        json_schema_extra={"default": 30},
    )
    aspect_ratio: str | SkipJsonSchema[None] = Field(
        default=None, json_schema_extra={"default": "16:9"}
    )
    mode: Literal["text_to_video", "image_to_video", "video_to_video"] | SkipJsonSchema[None] = (
        Field(
            default=None,
            description=(
                "Default text_to_video, or image_to_video with a source_image, or "
                "video_to_video with a source_video (Luma Ray 2 / Ray Flash 2 only; else 400)."
            ),
        )
    )
    source_image: str | None = Field(default=None)
    source_video: str | None = Field(
        default=None,
        description="An http(s) URL of a video to transform, for models that do "
        "video-to-video (else 400); the output follows its length and frame.",
    )
    negative_prompt: str | None = Field(default=None)
    seed: Annotated[int, Field(ge=0, le=4294967295)] | None = Field(default=None)
    prompt_optimizer: bool | None = Field(default=None, json_schema_extra={"default": True})
    loop: bool | None = Field(default=None, json_schema_extra={"default": False})


class NovaKitFinishedData(Shape):
    url: str = Field(
        description=(
            "A signed link to the file, valid for 3 days without a key (`GET "
            "/api/v1/files/{token}.mp4`)."
        ),
        json_schema_extra={"format": "uri"},
    )
    duration_seconds: float
    width: int | None
    height: int | None


class NovaKitFinishedUsage(Shape):
    credits_used: int = Field(
        description="What the job is charged, in credits (1 credit = $0.01), rounded up."
    )
    seconds_used: float
    seconds_remaining: int | None = Field(
        description=(
            "Seconds of video of the same model and settings that the tenant's balance and "
            "the key's monthly budget still buy; null when neither limits the key."
        )
    )


class NovaKitFinished(Shape):
    """A sync request's answer: the finished video."""

    id: str = Field(pattern="^job_[0-9a-f]{32}$")
    created: int
    data: NovaKitFinishedData
    model: str
    model_tier: str
    usage: NovaKitFinishedUsage


class NovaKitPending(Shape):
    """An `async=true` request's answer: the job to poll."""

    id: str = Field(pattern="^job_[0-9a-f]{32}$")
    status: Literal["pending", "processing", "completed", "failed", "cancelled"] = Field(
        description="pending; a retry with the same Idempotency-Key: the job's status now."
    )
    created: int
    model: str
    estimated_credits: int


class NovaKitGeneration(RootModel[NovaKitFinished | NovaKitPending]):
    root: NovaKitFinished | NovaKitPending


class NovaKitJobOutputDataVideo(Shape):
    url: str = Field(
        description=(
            "A signed link to the file, valid for 3 days without a key (`GET "
            "/api/v1/files/{token}.mp4`)."
        ),
        json_schema_extra={"format": "uri"},
    )
    duration_seconds: float
    width: int | None
    height: int | None


class NovaKitJobOutputData(Shape):
    video: NovaKitJobOutputDataVideo


class NovaKitJob(Shape):
    id: str = Field(pattern="^job_[0-9a-f]{32}$")
    tool: Literal["video"]
    status: Literal["pending", "processing", "completed", "failed", "cancelled"]
    progress: int = Field(ge=0, le=100)
    inputParams: dict[str, Any]
    outputData: NovaKitJobOutputData | None
    errorMessage: str | None
    estimatedCredits: int
    actualCredits: int | None
    createdAt: str | None = Field(
        examples=["2026-11-25T13:38:02.512Z"], json_schema_extra={"format": "date-time"}
    )
    completedAt: str | None = Field(
        examples=["2026-11-25T13:38:02.512Z"], json_schema_extra={"format": "date-time"}
    )
    model: str
    modelTier: str


class NovaKitError(Shape):
    """NovaKit's `{error}` body, with context."""

    error: str = Field(description="What is wrong, naming the parameter.")
    code: str | None = Field(default=None, examples=["invalid_value", "timeout"])
    param: str | None = Field(default=None)
    id: str | SkipJsonSchema[None] = Field(
        default=None, description="Sync 409/502/504: the job (a 504 leaves it running)."
    )
    status: str | SkipJsonSchema[None] = Field(
        default=None, description="Sync 409/502/504: the job's status."
    )


class NovaKitGenerateQuery(RequestShape):
    """The query of `POST /api/v1/videos/generations`."""

    async_: bool = Field(default=False, alias="async", description="Answer at once with the job.")
    timeout: float = Field(
        default=SYNC_TIMEOUT,
        gt=0,
        le=MAX_SYNC_TIMEOUT,
        description="vidgate: how long a sync request waits before its 504.",
    )


class NovaKitJobQuery(RequestShape):
    """The query of `GET /api/v1/jobs/{jobId}`."""

    poll: bool = Field(
        default=False,
        description="Wait until the job's status changes (or it ends), at most `timeout` seconds.",
    )
    timeout: float = Field(
        default=POLL_TIMEOUT,
        gt=0,
        le=MAX_POLL_TIMEOUT,
        description="vidgate: the long-poll's limit.",
    )
