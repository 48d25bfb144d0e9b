"""Validates a create-video request against the catalog, naming the offending field.

The model decides what a request may ask: its modes (an image sent to a text-only model
switches to the model's image-to-video `twin`, or is refused), frames and clip lengths
(`video_shape`), prompt length, and whether it takes a seed, a negative prompt, audio or an
end frame. Whatever the request leaves out is filled from the model's defaults, so the
recorded parameters are always concrete.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from service.catalog import Catalog, ModelSpec
from service.videos.errors import FIRST_FRAME, InvalidField
from service.videos.images import (
    MAX_IMAGE_BYTES,
    ImageInput,
    Upload,
    end_frame,
    first_frame,
    first_frame_param,
)
from service.videos.shape import as_int, shape
from service.webhooks import fields as webhook_fields

__all__ = [
    "FIELDS",
    "MAX_IMAGE_BYTES",
    "MAX_SEED",
    "ImageInput",
    "Upload",
    "VideoRequest",
    "parse_video_request",
]

FIELDS = frozenset(
    {
        "model",
        "prompt",
        "seconds",
        "size",
        "input_reference",
        "image_url",
        "end_image_url",
        "video_url",
        "aspect_ratio",
        "resolution",
        "fps",
        "seed",
        "negative_prompt",
        "audio",
        "prompt_optimizer",
        "loop",
        "style",
        "user",
        "webhook_url",
        "webhook_events",
    }
)
MAX_SEED = 2**32 - 1
MAX_USER = 256
MAX_URL = 2048
BOOLEANS = {"true": True, "false": False, "1": True, "0": False}


@dataclass(frozen=True)
class VideoRequest:
    model: ModelSpec
    prompt: str
    seconds: int
    width: int
    height: int
    fps: int
    seed: int | None = None
    negative_prompt: str | None = None
    aspect_ratio: str | None = None
    resolution: str | None = None
    audio: bool = False
    prompt_optimizer: bool | None = None  # None: the model's own default
    loop: bool | None = None
    style: str | None = None  # one of the model's `styles`
    user: str | None = None  # the client's end user: recorded for audit, never sent upstream
    requested_model: str | None = None  # the client's name for the model, if not its id
    image: ImageInput | None = None
    end_image: ImageInput | None = None
    video: str | None = None  # a source video's URL, for video-to-video
    webhook: dict[str, Any] | None = None

    @property
    def size(self) -> str:
        return f"{self.width}x{self.height}"

    @property
    def needs(self) -> frozenset[str]:
        """What its route must pass on (`Route.lacks`): a seed, or sound other than the
        model's default."""
        seed = {"seed"} if self.seed is not None else set()
        audio = {"audio"} if self.audio != self.model.default_audio else set()
        return frozenset(seed | audio)

    @property
    def mode(self) -> str:
        if self.video:
            return "video-to-video"
        return "image-to-video" if self.image else "text-to-video"

    @property
    def cost_estimate(self) -> float:
        """The model's list price at this resolution × seconds, in USD."""
        return round(self.model.price_for(self.resolution) * self.seconds, 4)

    def params(self) -> dict[str, Any]:
        """The normalised parameters, as recorded in the `Submitted` event."""
        params = {
            "seconds": str(self.seconds),
            "size": self.size,
            "fps": self.fps,
            "seed": self.seed,
            "negative_prompt": self.negative_prompt,
            "aspect_ratio": self.aspect_ratio,
            "resolution": self.resolution,
            "audio": self.audio,
            "mode": self.mode,
        }
        # Only when asked: the few models that take them keep their own defaults otherwise.
        flags = {
            "prompt_optimizer": self.prompt_optimizer,
            "loop": self.loop,
            "style": self.style,
            "user": self.user,
            "requested_model": self.requested_model,
        }
        return params | {name: value for name, value in flags.items() if value is not None}


def parse_video_request(fields: Mapping[str, Any], catalog: Catalog) -> VideoRequest:
    """A validated request, or an `InvalidField` naming the first bad field."""
    unknown = sorted(set(fields) - FIELDS)
    if unknown:
        name = unknown[0]
        raise InvalidField(name, f"unknown parameter {name!r}", "unknown_parameter")
    image, end_image = first_frame(fields), end_frame(fields)
    model = _model_for(fields, catalog, image)
    _check_end_frame(model, image, end_image)
    video = _source_video(fields, model, catalog, image)
    prompt = _text(fields, "prompt", model, required=True) or ""
    frame = shape(fields, model)
    return VideoRequest(
        model=model,
        prompt=prompt,
        seconds=frame.seconds,
        width=frame.width,
        height=frame.height,
        fps=frame.fps,
        seed=_seed(fields, model),
        negative_prompt=_negative_prompt(fields, model),
        aspect_ratio=frame.aspect_ratio,
        resolution=frame.resolution,
        audio=_audio(fields, model),
        prompt_optimizer=_flag(fields, "prompt_optimizer", model),
        loop=_flag(fields, "loop", model),
        style=_style(fields, model),
        user=_user(fields),
        requested_model=_requested(fields, model),
        image=image,
        end_image=end_image,
        video=video,
        webhook=_webhook(fields),
    )


def _model_for(fields: Mapping[str, Any], catalog: Catalog, image: ImageInput | None) -> ModelSpec:
    """The model asked for — or, given an image, its image-to-video twin."""
    model = _model(fields.get("model"), catalog)
    if image is not None and not model.takes_image:
        twin = catalog.twin_of(model)
        if twin is None:
            raise InvalidField(
                first_frame_param(fields),
                f"{model.id} takes no image: it is a text-to-video model",
                "unsupported_parameter",
            )
        return twin
    if image is None and not model.takes_text:
        raise InvalidField(
            "input_reference",
            lambda n: f"{model.id} is an image-to-video model: give {n(FIRST_FRAME)}",
            "missing_required_parameter",
        )
    return model


def _requested(fields: Mapping[str, Any], model: ModelSpec) -> str | None:
    """The model name the client gave, when it is not the id of the model that runs."""
    name = fields.get("model")
    return name if isinstance(name, str) and name not in ("", model.id) else None


def _source_video(
    fields: Mapping[str, Any], model: ModelSpec, catalog: Catalog, image: ImageInput | None
) -> str | None:
    """The video to transform (video-to-video): an http(s) URL the upstream fetches itself.
    The output follows the source's length and frame; the model's own modes decide."""
    url = fields.get("video_url")
    if url is None or url == "":
        return None
    if (
        not isinstance(url, str)
        or not url.startswith(("https://", "http://"))
        or len(url) > MAX_URL
    ):
        raise InvalidField(
            "video_url", lambda n: f"{n('video_url')} must be an http(s) URL of a video"
        )
    if not model.takes_video:
        able = [m.id for m in catalog.models if m.takes_video]
        raise InvalidField(
            "video_url",
            lambda n: (
                f"{model.id} does not transform videos ({n('video_url')}); "
                f"video-to-video models: {', '.join(able)}"
            ),
            "unsupported_parameter",
            allowed=able,
        )
    if image is not None:
        raise InvalidField(
            "video_url",
            lambda n: f"give {n('video_url')} or {n(FIRST_FRAME)}, not both",
        )
    return url


def _model(value: Any, catalog: Catalog) -> ModelSpec:
    if value is None or value == "":
        return catalog.default
    if not isinstance(value, str):
        raise InvalidField("model", lambda n: f"{n('model')} must be a string")
    model = catalog.resolve(value)
    if model is None:
        known = catalog.names()
        message = f"unknown model {value!r}; available: {', '.join(known)}"
        raise InvalidField("model", message, "model_not_found", allowed=known)
    return model


def _check_end_frame(model: ModelSpec, image: ImageInput | None, end: ImageInput | None) -> None:
    if end is None:
        return
    if not model.end_frame:
        raise InvalidField(
            "end_image_url",
            lambda n: f"{model.id} takes no end frame ({n('end_image_url')})",
            "unsupported_parameter",
        )
    if image is None:
        raise InvalidField(
            "end_image_url",
            lambda n: f"{n('end_image_url')} needs a first frame too: give {n(FIRST_FRAME)}",
        )


def _text(
    fields: Mapping[str, Any], name: str, model: ModelSpec, required: bool = False
) -> str | None:
    value, limit = fields.get(name), model.prompt_max_chars
    if value is None or (isinstance(value, str) and not value.strip()):
        if required:
            raise InvalidField(
                name, lambda n: f"{n(name)} is required", "missing_required_parameter"
            )
        return None
    if not isinstance(value, str):
        raise InvalidField(name, lambda n: f"{n(name)} must be a string")
    if len(value) > limit:
        raise InvalidField(
            name,
            lambda n: f"{n(name)} is {len(value)} characters; the limit is {limit} for {model.id}",
            "too_long",
        )
    if "\x00" in value:  # PostgreSQL text columns (the jobs view) cannot hold NUL
        raise InvalidField(name, lambda n: f"{n(name)} must not contain NUL (\\u0000) characters")
    return value


def _supported(model: ModelSpec, name: str, value: Any) -> Any:
    """`value`, if the model takes the parameter `name` (else a 400 when one was given)."""
    if value is not None and not getattr(model, name):
        raise InvalidField(
            name, lambda n: f"{model.id} does not take {n(name)}", "unsupported_parameter"
        )
    return value


def _negative_prompt(fields: Mapping[str, Any], model: ModelSpec) -> str | None:
    value = _text(fields, "negative_prompt", model)
    return str(_supported(model, "negative_prompt", value)) if value is not None else None


def _seed(fields: Mapping[str, Any], model: ModelSpec) -> int | None:
    value = fields.get("seed")
    if value is None or value == "":
        return None
    number = as_int("seed", value)
    if not 0 <= number <= MAX_SEED:
        raise InvalidField(
            "seed", lambda n: f"{n('seed')} must be between 0 and {MAX_SEED}, got {number}"
        )
    return int(_supported(model, "seed", number))


def _boolean(fields: Mapping[str, Any], name: str) -> bool | None:
    """A true/false field (a multipart form sends it as text), or None when not given."""
    value = fields.get(name)
    if value is None or value == "":
        return None
    wanted = value if isinstance(value, bool) else None
    if isinstance(value, str):
        wanted = BOOLEANS.get(value.strip().lower())
    if wanted is None:
        raise InvalidField(name, lambda n: f"{n(name)} must be true or false, got {value!r}")
    return wanted


def _user(fields: Mapping[str, Any]) -> str | None:
    value = fields.get("user")
    if value is None or value == "":
        return None
    if not isinstance(value, str) or len(value) > MAX_USER or "\x00" in value:
        raise InvalidField(
            "user", lambda n: f"{n('user')} must be a string of at most {MAX_USER} characters"
        )
    return value


def _style(fields: Mapping[str, Any], model: ModelSpec) -> str | None:
    value = fields.get("style")
    if value is None or value == "":
        return None
    if not model.styles:
        raise InvalidField(
            "style", lambda n: f"{model.id} takes no {n('style')}", "unsupported_parameter"
        )
    if value not in model.styles:
        styles = ", ".join(model.styles)
        raise InvalidField(
            "style",
            lambda n: f"{n('style')} must be one of {styles} for {model.id}; got {value!r}",
            allowed=model.styles,
        )
    return str(value)


def _flag(fields: Mapping[str, Any], name: str, model: ModelSpec) -> bool | None:
    """A model-specific switch (`prompt_optimizer`, `loop`): None leaves the model's default."""
    value: bool | None = _supported(model, name, _boolean(fields, name))
    return value


def _audio(fields: Mapping[str, Any], model: ModelSpec) -> bool:
    """Whether to generate sound: as asked, else the model's default."""
    wanted = _boolean(fields, "audio")
    if wanted is None:
        return model.default_audio
    if wanted and not model.audio:
        raise InvalidField(
            "audio",
            lambda n: (
                f"{model.id} generates no {n('audio')}; {n('audio')} must be false or omitted"
            ),
            "unsupported_parameter",
        )
    return wanted


def _webhook(fields: Mapping[str, Any]) -> dict[str, Any] | None:
    """The per-job callback: where to post, and which kinds of event."""
    url, events = fields.get("webhook_url"), fields.get("webhook_events")
    if url is None or url == "":
        if events not in (None, "", []):
            raise InvalidField(
                "webhook_events", lambda n: f"{n('webhook_events')} needs a {n('webhook_url')}"
            )
        return None
    return {
        "url": webhook_fields.webhook_url(url, "webhook_url"),
        "events": webhook_fields.event_filter(events or None, "webhook_events"),
    }
