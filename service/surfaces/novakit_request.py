"""NovaKit's create request → vidgate's canonical create fields.

Every parameter of NovaKit's table, with its default: `model` fal-ai/minimax/video-01,
`duration_seconds` 5, `resolution` 720p, `fps` 30, `aspect_ratio` 16:9, `mode` text_to_video.
NovaKit's defaults are one set for all models; nothing a client asks is changed silently:

- A value given must be one the model renders, else a 400 naming the field and the allowed
  values (`duration_seconds`, `fps`, `resolution`, `aspect_ratio`; even NovaKit's own
  examples ask 3 s and 5 s of models that render only 6 s: those are refused, not snapped).
- An omitted one is NovaKit's default (5 s, 30 fps, 720p, 16:9) where the model renders it,
  else the model's own (its default length and frame rate, its nearest resolution, its
  default ratio); the answer says what is rendered.
- `negative_prompt`, `seed`, `prompt_optimizer: true` (MiniMax) and `loop: true` (Luma) need a
  model that takes them (400 otherwise); `prompt_optimizer: false` and `loop: false` ask
  nothing of a model without the feature, and pass.
- `mode` follows `source_image` / `source_video` when omitted; `video_to_video` takes a
  `source_video` URL, for models that transform videos (Luma Ray 2 and Ray Flash 2:
  `fal-ai/luma-dream-machine/ray-2`…); any other model is a 400 naming `source_video`.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

from service.catalog import Catalog, ModelSpec
from service.catalog.spec import RESOLUTIONS
from service.surfaces.errors import invalid
from service.videos.errors import FIRST_FRAME
from service.videos.request import MAX_SEED
from service.videos.shape import as_int

DEFAULT_MODEL = "fal-ai/minimax/video-01"
DEFAULT_SECONDS, DEFAULT_RESOLUTION, DEFAULT_FPS, DEFAULT_ASPECT = 5, "720p", 30, "16:9"
TEXT, IMAGE, VIDEO = "text_to_video", "image_to_video", "video_to_video"
MODES = (TEXT, IMAGE, VIDEO)
PARAMETERS = frozenset(
    {
        "prompt",
        "model",
        "duration_seconds",
        "resolution",
        "fps",
        "aspect_ratio",
        "mode",
        "source_image",
        "source_video",
        "negative_prompt",
        "seed",
        "prompt_optimizer",
        "loop",
    }
)
# Canonical field → NovaKit's name for it, to tell refusals in NovaKit's words.
NAMES = {
    "prompt": "prompt",
    "model": "model",
    "seconds": "duration_seconds",
    "fps": "fps",
    "resolution": "resolution",
    "aspect_ratio": "aspect_ratio",
    "image_url": "source_image",
    "input_reference": "source_image",
    FIRST_FRAME: "source_image",
    "video_url": "source_video",
    "negative_prompt": "negative_prompt",
    "seed": "seed",
    "prompt_optimizer": "prompt_optimizer",
    "loop": "loop",
}
MAX_SECONDS, MAX_FPS = 60, 120
SAME_RESOLUTION = {"4k": ("4k", "2160p"), "2160p": ("2160p", "4k")}
NUMBER = re.compile(r"\s*\d{1,6}(\.\d{1,6})?\s*")


def canonical_fields(body: Mapping[str, Any], catalog: Catalog) -> dict[str, Any]:
    """The canonical create fields for a NovaKit request (`CreateVideo` checks the rest)."""
    unknown = sorted(set(body) - PARAMETERS)
    if unknown:
        raise invalid(unknown[0], f"unknown parameter {unknown[0]!r}", "unknown_parameter")
    image = _source_image(body)
    name = body.get("model")
    name = DEFAULT_MODEL if name in (None, "") else name
    fields: dict[str, Any] = {"model": name, "prompt": body.get("prompt")}
    if image is not None:
        fields["image_url"] = image
    if body.get("source_video") is not None:  # the model must transform videos (core checks)
        fields["video_url"] = body["source_video"]
    model = _model(catalog, name, has_image=image is not None)
    if model is None:
        return fields  # `CreateVideo` refuses it, naming `model`
    if not model.takes_text and image is None:
        message = f"{model.id} is an image-to-video model: give source_image"
        raise invalid("source_image", message, "missing_required_parameter")
    resolution = _resolution(body.get("resolution"), model)
    lengths = model.durations_for(resolution)
    fields |= {
        "resolution": resolution,
        "aspect_ratio": _aspect_ratio(body.get("aspect_ratio"), model),
        "seconds": _number(body, "duration_seconds", MAX_SECONDS)
        or _default(DEFAULT_SECONDS, lengths, model.default_seconds),
        "fps": _number(body, "fps", MAX_FPS) or _default(DEFAULT_FPS, model.fps, model.default_fps),
    }
    fields |= _model_specific(body, model)
    return fields


def _default(novakits: int, offered: Sequence[int], models: int) -> int:
    """NovaKit's default where the model offers it, else the model's own (or its first)."""
    if novakits in offered:
        return novakits
    return models if models in offered else offered[0]


def _model(catalog: Catalog, name: Any, has_image: bool) -> ModelSpec | None:
    """The model that will run: an image switches a text-only model to its twin."""
    model = catalog.resolve(name) if isinstance(name, str) else None
    if model is not None and has_image and not model.takes_image:
        return catalog.twin_of(model) or model
    return model


def _source_image(body: Mapping[str, Any]) -> Any:
    """`source_image`, checked against `mode` (which it implies when omitted)."""
    mode, image, video = body.get("mode"), body.get("source_image"), body.get("source_video")
    if mode is not None and mode not in MODES:
        raise invalid("mode", f"mode must be one of {', '.join(MODES)}; got {mode!r}")
    if mode == VIDEO and video is None:
        raise invalid(
            "source_video",
            "source_video is required for mode video_to_video",
            "missing_required_parameter",
        )
    if video is not None and mode not in (None, VIDEO):
        raise invalid("source_video", "source_video needs mode video_to_video (or no mode)")
    if mode == IMAGE and image is None:
        raise invalid(
            "source_image",
            "source_image is required for mode image_to_video",
            "missing_required_parameter",
        )
    if mode == TEXT and image is not None:
        raise invalid("source_image", "source_image needs mode image_to_video (or no mode)")
    return image


def _number(body: Mapping[str, Any], name: str, maximum: int) -> float | None:
    """A number the client gave (`CreateVideo` checks it is one the model renders)."""
    value = body.get(name)
    if value is None:
        return None
    if isinstance(value, str) and NUMBER.fullmatch(value):
        value = float(value)
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0 < value <= maximum:
        raise invalid(name, f"{name} must be a number above 0 and at most {maximum}; got {value!r}")
    return float(value)


def _resolution(value: Any, model: ModelSpec) -> str:
    if value is None:
        if DEFAULT_RESOLUTION in model.resolutions:
            return DEFAULT_RESOLUTION
        target = RESOLUTIONS[DEFAULT_RESOLUTION]
        return min(model.resolutions, key=lambda r: (abs(RESOLUTIONS[r] - target), -RESOLUTIONS[r]))
    if isinstance(value, str):
        for spelling in SAME_RESOLUTION.get(value, (value,)):
            if spelling in model.resolutions:
                return spelling
    raise invalid(
        "resolution",
        f"resolution must be one of {', '.join(model.resolutions)} for {model.id}; got {value!r}",
    )


def _aspect_ratio(value: Any, model: ModelSpec) -> str:
    if value is None:
        default = DEFAULT_ASPECT
        return default if default in model.aspect_ratios else model.default_aspect_ratio
    if isinstance(value, str) and value in model.aspect_ratios:
        return value
    raise invalid(
        "aspect_ratio",
        f"aspect_ratio must be one of "
        f"{', '.join(model.aspect_ratios)} for {model.id}; got {value!r}",
    )


def _model_specific(body: Mapping[str, Any], model: ModelSpec) -> dict[str, Any]:
    """`negative_prompt`, `seed`, `prompt_optimizer` and `loop` as `CreateVideo` takes them
    (it refuses them for a model without them); a switch turned off asks nothing of such a
    model, so it passes without reaching it."""
    fields: dict[str, Any] = {}
    negative = body.get("negative_prompt")
    if negative is not None and not isinstance(negative, str):
        raise invalid("negative_prompt", "negative_prompt must be a string")
    if negative:
        fields["negative_prompt"] = negative
    if body.get("seed") is not None:
        seed = as_int("seed", body["seed"])
        if not 0 <= seed <= MAX_SEED:
            raise invalid("seed", f"seed must be between 0 and {MAX_SEED}, got {seed}")
        fields["seed"] = seed
    for name in ("prompt_optimizer", "loop"):
        flag = _flag(body, name)
        if flag or (flag is False and getattr(model, name)):
            fields[name] = flag
    return fields


def _flag(body: Mapping[str, Any], name: str) -> bool | None:
    value = body.get(name)
    if value is not None and not isinstance(value, bool):
        raise invalid(name, f"{name} must be true or false, got {value!r}")
    return value
