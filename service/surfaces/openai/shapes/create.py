"""The create-video request, as JSON and as a multipart form."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import ConfigDict, Field, RootModel
from pydantic.json_schema import SkipJsonSchema

from service.surfaces.patterns import (
    EVENT_LIST_PATTERN,
    HTTP_URL_PATTERN,
    INT_STRING_PATTERN,
    NOT_BLANK,
    SIZE_PATTERN,
)
from service.surfaces.shapes import RequestShape
from service.videos.request import MAX_SEED
from service.webhooks.fields import MAX_URL


class ImageUrl(RootModel[str]):
    """An http(s) URL (≤ 2048 characters) or a base64 `data:` URI (`data:image/png;base64,…`) of
    an image of at most 20971520 bytes. Give either this or `input_reference`, not both."""

    root: str = Field(examples=["https://example.com/first-frame.png"])


class CreateVideoRequestInputReference(RequestShape):
    """The first-frame image by URL. Needs a model with the `image-to-video` mode; a text-only
    model with a `twin` switches to it (the video's `model` is the twin). `file_id` is not
    supported (400 `unsupported_parameter`)."""

    model_config = ConfigDict(extra="allow")
    image_url: ImageUrl


class CreateVideoRequest(RequestShape):
    """A JSON create-video request. A field that is null (or an empty string) counts as omitted;
    an unknown field is a 400 `unknown_parameter`."""

    model_config = ConfigDict(
        json_schema_extra={"dependentRequired": {"webhook_events": ["webhook_url"]}}
    )
    model: str | SkipJsonSchema[None] = Field(
        default=None,
        description=(
            "A model id or alias from `GET /v1/models`; the catalog's first model "
            "(`local-preview`) when omitted. Unknown → 400 `model_not_found`; no "
            "enabled provider serves it → 400 `model_unavailable`."
        ),
    )
    prompt: str = Field(
        description=(
            "What to render. Required and not blank; at most the model's "
            "`capabilities.prompt_max_chars` (e.g. 4000; MiniMax 2000)."
        ),
        pattern=NOT_BLANK,
    )
    seconds: (
        Annotated[int, Field(ge=1)]
        | Annotated[str, Field(pattern=INT_STRING_PATTERN)]
        | SkipJsonSchema[None]
    ) = Field(
        default=None,
        description=(
            "Clip length: one of the model's `capabilities.seconds.allowed` (some "
            "only at some resolutions: `seconds.by_resolution`); default "
            "`seconds.default`. An integer or a string of digits."
        ),
    )
    size: Annotated[str, Field(pattern=SIZE_PATTERN)] | SkipJsonSchema[None] = Field(
        default=None,
        description=(
            "Frame size `WIDTHxHEIGHT`: one of the model's "
            "`capabilities.size.allowed` (its resolutions × aspect ratios). For a "
            "model with free sizing (`local-preview`): even sides from 16 to "
            "`size.max_side`, at most `size.max_pixels` pixels. Must agree with "
            "`resolution`/`aspect_ratio` if those are given; derived from them when"
            " omitted."
        ),
        examples=["1280x720"],
    )
    aspect_ratio: (
        Literal["16:9", "9:16", "1:1", "4:3", "3:4", "3:2", "2:3", "21:9", "9:21"]
        | SkipJsonSchema[None]
    ) = Field(
        default=None,
        description=(
            "One of the model's `capabilities.aspect_ratios`; default "
            "`capabilities.default_aspect_ratio`."
        ),
    )
    resolution: (
        Literal[
            "360p", "480p", "512p", "540p", "720p", "768p", "1024p", "1080p", "1440p", "2160p", "4k"
        ]
        | SkipJsonSchema[None]
    ) = Field(
        default=None,
        description=(
            "One of the model's `capabilities.resolutions` (the short side); "
            "default `capabilities.default_resolution`."
        ),
    )
    fps: (
        Annotated[int, Field(ge=1)]
        | Annotated[str, Field(pattern=INT_STRING_PATTERN)]
        | SkipJsonSchema[None]
    ) = Field(
        default=None,
        description=(
            "Frames per second: one of the model's `capabilities.fps.allowed` "
            "(local-preview: 1-60, default 24). An integer or a string of digits."
        ),
    )
    seed: (
        Annotated[int, Field(ge=0, le=MAX_SEED)]
        | Annotated[str, Field(pattern=INT_STRING_PATTERN)]
        | SkipJsonSchema[None]
    ) = Field(
        default=None,
        description=(
            "Seed for a reproducible render, for models whose `capabilities.seed` "
            "is true (else 400). 0-4294967295. An integer or a string of digits."
        ),
    )
    negative_prompt: str | SkipJsonSchema[None] = Field(
        default=None,
        description=(
            "What to avoid, for models whose `capabilities.negative_prompt` is true"
            " (else 400); at most `capabilities.prompt_max_chars`."
        ),
    )
    audio: bool | Literal["true", "false", "1", "0"] | SkipJsonSchema[None] = Field(
        default=None,
        description=(
            "Generate a soundtrack; default `capabilities.audio_default`. `true` "
            "for a model without `capabilities.audio` → 400."
        ),
    )
    prompt_optimizer: bool | Literal["true", "false", "1", "0"] | SkipJsonSchema[None] = Field(
        default=None,
        description=(
            "MiniMax models: let the upstream rewrite the prompt (its default is "
            "on). For models whose `capabilities.prompt_optimizer` is true (else "
            "400)."
        ),
    )
    loop: bool | Literal["true", "false", "1", "0"] | SkipJsonSchema[None] = Field(
        default=None,
        description=(
            "Luma models: make the last frame lead back into the first. For models "
            "whose `capabilities.loop` is true (else 400)."
        ),
    )
    style: str | SkipJsonSchema[None] = Field(
        default=None,
        description=(
            "A named look, one of the model's `capabilities.styles` (e.g. Pixverse:"
            " anime, 3d_animation, clay, comic, cyberpunk); a model without styles "
            "→ 400."
        ),
    )
    user: Annotated[str, Field(max_length=256)] | SkipJsonSchema[None] = Field(
        default=None,
        description=(
            "Your end user's id, for audit and abuse monitoring: recorded in the "
            "job's `Submitted` event (`params.user`), never sent upstream. At most "
            "256 characters."
        ),
    )
    input_reference: CreateVideoRequestInputReference | SkipJsonSchema[None] = Field(
        default=None,
        description=(
            "The first-frame image by URL. Needs a model with the `image-to-video` "
            "mode; a text-only model with a `twin` switches to it (the video's "
            "`model` is the twin). `file_id` is not supported (400 "
            "`unsupported_parameter`)."
        ),
    )
    image_url: ImageUrl | SkipJsonSchema[None] = Field(default=None)
    end_image_url: ImageUrl | SkipJsonSchema[None] = Field(
        default=None,
        description=(
            "The last frame, for models whose `capabilities.end_frame` is true "
            "(else 400); needs a first frame (`input_reference` or `image_url`)."
        ),
    )
    video_url: (
        Annotated[str, Field(pattern=HTTP_URL_PATTERN, max_length=MAX_URL)] | SkipJsonSchema[None]
    ) = Field(
        default=None,
        description=(
            "A source video to transform (video-to-video), by an http(s) URL the upstream "
            "fetches: models with the `video-to-video` mode (Luma Ray 2 and Ray Flash 2, on "
            "Luma's own route); else 400. Not with an image. The output follows the source's "
            "length and frame."
        ),
    )
    webhook_url: (
        Annotated[str, Field(pattern=HTTP_URL_PATTERN, max_length=MAX_URL)] | SkipJsonSchema[None]
    ) = Field(
        default=None,
        description=(
            "Where to POST this video's events (see the `videoEvent` webhook), "
            "signed with the tenant's default secret (`GET "
            "/v1/webhooks/default/secret`). An http(s) URL with a host, at most "
            "2048 printable characters, without userinfo (`user:pass@`). "
            "Destinations on private, loopback or link-local networks are refused "
            "when the webhook is sent (the delivery is `abandoned`) unless the "
            "server allow-lists them (`VIDGATE_ALLOWED_PRIVATE_NETWORKS`)."
        ),
        examples=["https://example.com/hooks/vidgate"],
    )
    webhook_events: (
        Annotated[list[Literal["progress", "completed", "failed", "canceled"]], Field(min_length=1)]
        | Annotated[
            str,
            Field(pattern=EVENT_LIST_PATTERN, json_schema_extra={"examples": ["completed,failed"]}),
        ]
        | SkipJsonSchema[None]
    ) = Field(
        default=None,
        description=(
            "Which events go to `webhook_url` (needs it): any of the kinds; all of "
            "them when omitted or empty. A list or a comma-separated string of "
            "`progress`, `completed`, `failed`, `canceled`."
        ),
    )


class CreateVideoMultipart(RequestShape):
    """A multipart create-video request: the same fields as text parts, and the image as the
    `input_reference` file part (or `input_reference[image_url]`)."""

    model_config = ConfigDict(
        json_schema_extra={"dependentRequired": {"webhook_events": ["webhook_url"]}}
    )
    model: str | SkipJsonSchema[None] = Field(
        default=None,
        description=(
            "A model id or alias from `GET /v1/models`; the catalog's first model "
            "(`local-preview`) when omitted. Unknown → 400 `model_not_found`; no "
            "enabled provider serves it → 400 `model_unavailable`."
        ),
    )
    prompt: str = Field(
        description=(
            "What to render. Required and not blank; at most the model's "
            "`capabilities.prompt_max_chars` (e.g. 4000; MiniMax 2000)."
        ),
        pattern=NOT_BLANK,
    )
    seconds: Annotated[str, Field(pattern=INT_STRING_PATTERN)] | SkipJsonSchema[None] = Field(
        default=None,
        description=(
            "Clip length: one of the model's `capabilities.seconds.allowed` (some "
            "only at some resolutions: `seconds.by_resolution`); default "
            "`seconds.default`. A string of digits."
        ),
    )
    size: Annotated[str, Field(pattern=SIZE_PATTERN)] | SkipJsonSchema[None] = Field(
        default=None,
        description=(
            "Frame size `WIDTHxHEIGHT`: one of the model's "
            "`capabilities.size.allowed` (its resolutions × aspect ratios). For a "
            "model with free sizing (`local-preview`): even sides from 16 to "
            "`size.max_side`, at most `size.max_pixels` pixels. Must agree with "
            "`resolution`/`aspect_ratio` if those are given; derived from them when"
            " omitted."
        ),
        examples=["1280x720"],
    )
    aspect_ratio: (
        Literal["16:9", "9:16", "1:1", "4:3", "3:4", "3:2", "2:3", "21:9", "9:21"]
        | SkipJsonSchema[None]
    ) = Field(
        default=None,
        description=(
            "One of the model's `capabilities.aspect_ratios`; default "
            "`capabilities.default_aspect_ratio`."
        ),
    )
    resolution: (
        Literal[
            "360p", "480p", "512p", "540p", "720p", "768p", "1024p", "1080p", "1440p", "2160p", "4k"
        ]
        | SkipJsonSchema[None]
    ) = Field(
        default=None,
        description=(
            "One of the model's `capabilities.resolutions` (the short side); "
            "default `capabilities.default_resolution`."
        ),
    )
    fps: Annotated[str, Field(pattern=INT_STRING_PATTERN)] | SkipJsonSchema[None] = Field(
        default=None,
        description=(
            "Frames per second: one of the model's `capabilities.fps.allowed` "
            "(local-preview: 1-60, default 24). A string of digits."
        ),
    )
    seed: Annotated[str, Field(pattern=INT_STRING_PATTERN)] | SkipJsonSchema[None] = Field(
        default=None,
        description=(
            "Seed for a reproducible render, for models whose `capabilities.seed` "
            "is true (else 400). 0-4294967295. A string of digits."
        ),
    )
    negative_prompt: str | SkipJsonSchema[None] = Field(
        default=None,
        description=(
            "What to avoid, for models whose `capabilities.negative_prompt` is true"
            " (else 400); at most `capabilities.prompt_max_chars`."
        ),
    )
    audio: Literal["true", "false", "1", "0"] | SkipJsonSchema[None] = Field(
        default=None,
        description=(
            "Generate a soundtrack; default `capabilities.audio_default`. `true` "
            "for a model without `capabilities.audio` → 400."
        ),
    )
    prompt_optimizer: Literal["true", "false", "1", "0"] | SkipJsonSchema[None] = Field(
        default=None,
        description=(
            "MiniMax models: let the upstream rewrite the prompt (its default is "
            "on). For models whose `capabilities.prompt_optimizer` is true (else "
            "400)."
        ),
    )
    loop: Literal["true", "false", "1", "0"] | SkipJsonSchema[None] = Field(
        default=None,
        description=(
            "Luma models: make the last frame lead back into the first. For models "
            "whose `capabilities.loop` is true (else 400)."
        ),
    )
    style: str | SkipJsonSchema[None] = Field(
        default=None,
        description=(
            "A named look, one of the model's `capabilities.styles` (e.g. Pixverse:"
            " anime, 3d_animation, clay, comic, cyberpunk); a model without styles "
            "→ 400."
        ),
    )
    user: Annotated[str, Field(max_length=256)] | SkipJsonSchema[None] = Field(
        default=None,
        description=(
            "Your end user's id, for audit and abuse monitoring: recorded in the "
            "job's `Submitted` event (`params.user`), never sent upstream. At most "
            "256 characters."
        ),
    )
    input_reference: str | SkipJsonSchema[None] = Field(
        default=None,
        description=(
            "The first-frame image file (≤ 20971520 bytes, any format Pillow "
            "reads). Needs a model with the `image-to-video` mode; a text-only "
            "model with a `twin` switches to it (the video's `model` is the twin)."
        ),
        json_schema_extra={"contentMediaType": "application/octet-stream"},
    )
    image_url: ImageUrl | SkipJsonSchema[None] = Field(default=None)
    end_image_url: (
        Annotated[str, Field(json_schema_extra={"contentMediaType": "application/octet-stream"})]
        | ImageUrl
        | SkipJsonSchema[None]
    ) = Field(
        default=None,
        description=(
            "The last frame, for models whose `capabilities.end_frame` is true "
            "(else 400); needs a first frame (`input_reference` or `image_url`)."
        ),
    )
    video_url: (
        Annotated[str, Field(pattern=HTTP_URL_PATTERN, max_length=MAX_URL)] | SkipJsonSchema[None]
    ) = Field(
        default=None,
        description=(
            "A source video to transform (video-to-video), by an http(s) URL the upstream "
            "fetches: models with the `video-to-video` mode (Luma Ray 2 and Ray Flash 2, on "
            "Luma's own route); else 400. Not with an image. The output follows the source's "
            "length and frame."
        ),
    )
    webhook_url: (
        Annotated[str, Field(pattern=HTTP_URL_PATTERN, max_length=MAX_URL)] | SkipJsonSchema[None]
    ) = Field(
        default=None,
        description=(
            "Where to POST this video's events (see the `videoEvent` webhook), "
            "signed with the tenant's default secret (`GET "
            "/v1/webhooks/default/secret`). An http(s) URL with a host, at most "
            "2048 printable characters, without userinfo (`user:pass@`). "
            "Destinations on private, loopback or link-local networks are refused "
            "when the webhook is sent (the delivery is `abandoned`) unless the "
            "server allow-lists them (`VIDGATE_ALLOWED_PRIVATE_NETWORKS`)."
        ),
        examples=["https://example.com/hooks/vidgate"],
    )
    webhook_events: Annotated[str, Field(pattern=EVENT_LIST_PATTERN)] | SkipJsonSchema[None] = (
        Field(
            default=None,
            description=(
                "Which events go to `webhook_url` (needs it): any of the kinds; all of "
                "them when omitted or empty. Comma-separated: `progress`, `completed`, "
                "`failed`, `canceled`."
            ),
            examples=["completed,failed"],
        )
    )
    input_reference_image_url_: ImageUrl | SkipJsonSchema[None] = Field(
        default=None, alias="input_reference[image_url]"
    )
