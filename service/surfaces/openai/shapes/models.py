"""The catalog's model object and its list (`GET /v1/models`)."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field
from pydantic.json_schema import SkipJsonSchema

from service.surfaces.patterns import SIZE_PATTERN
from service.surfaces.shapes import Shape


class ModelCapabilitiesSeconds(Shape):
    """Clip lengths in seconds."""

    allowed: list[int] = Field(description="Every accepted value.")
    default: int = Field(description="Value used when the field is omitted.")
    min: int = Field(description="Smallest value.")
    max: int = Field(description="Largest value.")
    by_resolution: dict[str, list[int]] | SkipJsonSchema[None] = Field(
        default=None, description="Resolutions that allow fewer values, and those."
    )


class ModelCapabilitiesSize(Shape):
    """Frames: the allowed sizes, or (free sizing) the limits."""

    allowed: list[str] | SkipJsonSchema[None] = Field(
        default=None, description="Every accepted `size` (WIDTHxHEIGHT)."
    )
    default: Annotated[str, Field(pattern=SIZE_PATTERN)] | SkipJsonSchema[None] = Field(
        default=None, description="Size used when none is derived."
    )
    max_side: int | SkipJsonSchema[None] = Field(
        default=None, description="Longest allowed side in pixels."
    )
    max_pixels: int | SkipJsonSchema[None] = Field(
        default=None, description="Largest allowed width times height."
    )


class ModelCapabilitiesFps(Shape):
    """Frames per second."""

    allowed: list[int] = Field(description="Every accepted value.")
    default: int = Field(description="Value used when the field is omitted.")
    min: int = Field(description="Smallest value.")
    max: int = Field(description="Largest value.")
    by_resolution: dict[str, list[int]] | SkipJsonSchema[None] = Field(
        default=None, description="Resolutions that allow fewer values, and those."
    )


class ModelCapabilities(Shape):
    """What requests for this model may ask for."""

    modes: list[Literal["text-to-video", "image-to-video", "video-to-video"]] = Field(
        description="Generation modes offered."
    )
    seconds: ModelCapabilitiesSeconds = Field(description="Clip lengths in seconds.")
    resolutions: list[
        Literal[
            "360p", "480p", "512p", "540p", "720p", "768p", "1024p", "1080p", "1440p", "2160p", "4k"
        ]
    ]
    default_resolution: str = Field(description="Resolution used when none is given.")
    aspect_ratios: list[Literal["16:9", "9:16", "1:1", "4:3", "3:4", "3:2", "2:3", "21:9", "9:21"]]
    default_aspect_ratio: str = Field(description="Aspect ratio used when none is given.")
    size: ModelCapabilitiesSize = Field(
        description="Frames: the allowed sizes, or (free sizing) the limits."
    )
    fps: ModelCapabilitiesFps = Field(description="Frames per second.")
    audio: bool = Field(description="Whether the model can generate a soundtrack.")
    audio_default: bool = Field(description="Whether it does when `audio` is omitted.")
    end_frame: bool = Field(
        description="Whether a last-frame image (`end_image_url`) can be given."
    )
    negative_prompt: bool = Field(description="Whether `negative_prompt` is taken.")
    seed: bool = Field(description="Whether `seed` is taken.")
    prompt_optimizer: bool = Field(description="Whether `prompt_optimizer` is taken (MiniMax).")
    loop: bool = Field(description="Whether `loop` is taken (Luma).")
    styles: list[str] = Field(description="The values `style` takes; empty: the model takes none.")
    quality_levels: dict[str, str] = Field(
        description=(
            "Quality tier (the vendor's name, e.g. Kling's std/pro) → the "
            "resolution that selects it."
        )
    )
    prompt_max_chars: int = Field(description="Longest accepted prompt.")
    twin: str | None = Field(
        description=(
            "For a text-only model: the image-to-video model a request with an image switches to."
        )
    )


class ModelPricing(Shape):
    """List-price estimate (the video's cost estimate is this × seconds)."""

    per_second_usd: float = Field(description="USD per second of video at the default resolution.")
    currency: Literal["USD"]
    per_second_usd_by_resolution: dict[str, float] = Field(
        description="USD per second at each resolution."
    )


class ModelRoutes(Shape):
    provider: Literal[
        "local",
        "veo",
        "vertex-veo",
        "fal",
        "replicate",
        "minimax",
        "luma",
        "runway",
        "sora",
        "kling",
        "seedance",
    ] = Field(description="The provider adapter.")
    model: str = Field(description="The upstream model or endpoint id.")
    image_model: str | None = Field(
        description=(
            "The upstream endpoint for requests with an image, where the upstream splits them."
        )
    )
    video_model: str | None = Field(
        description=(
            "The upstream model that transforms a source video (`video_url`), on routes that "
            "can; null: this route does no video-to-video."
        )
    )


class Model(Shape):
    """A catalog model (OpenAI's model object, plus capabilities, pricing and routes)."""

    id: str = Field(description="The model's id.")
    object: Literal["model"]
    created: int = Field(description="Unix seconds when the model joined the catalog.")
    owned_by: str = Field(description="Who makes the model, e.g. `google`, `kuaishou`.")
    name: str = Field(description="A display name.")
    description: str = Field(description="What the model does.")
    aliases: list[str] = Field(description="Other names it answers to (other APIs' ids).")
    capabilities: ModelCapabilities = Field(description="What requests for this model may ask for.")
    pricing: ModelPricing = Field(
        description="List-price estimate (the video's cost estimate is this × seconds)."
    )
    routes: list[
        Annotated[
            ModelRoutes,
            Field(json_schema_extra={"description": "One way vidgate can run the model."}),
        ]
    ] = Field(description="Routes in preference order: direct, then fal.ai, then Replicate.")
    providers: list[
        Literal[
            "local",
            "veo",
            "vertex-veo",
            "fal",
            "replicate",
            "minimax",
            "luma",
            "runway",
            "sora",
            "kling",
            "seedance",
        ]
    ]
    available: bool = Field(description="Whether a provider for one of the routes is enabled.")
    provider: (
        Literal[
            "local",
            "veo",
            "vertex-veo",
            "fal",
            "replicate",
            "minimax",
            "luma",
            "runway",
            "sora",
            "kling",
            "seedance",
        ]
        | None
    ) = Field(description="The provider that would serve a request now.")


class ModelList(Shape):
    """Every model in the catalog."""

    object: Literal["list"]
    data: list[Model]
