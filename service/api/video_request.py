"""Validates a create-video request against the catalog, naming the offending field."""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from service.api import webhook_fields
from service.api.errors import ApiError, invalid
from service.catalog import ASPECT_RATIOS, RESOLUTIONS, Catalog, ModelSpec
from service.render import ImageUnreadable, decode_image

FIELDS = frozenset({
    "model", "prompt", "seconds", "size", "input_reference", "image_url", "aspect_ratio",
    "resolution", "fps", "seed", "negative_prompt", "webhook_url", "webhook_events",
})  # fmt: skip
MAX_IMAGE_BYTES = 20 * 1024 * 1024
MAX_SEED = 2**32 - 1
SIZE_PATTERN = re.compile(r"([0-9]{1,5})x([0-9]{1,5})")  # fullmatch: no "160x90\n"
DATA_URI = re.compile(
    r"^data:(?P<type>[\w.+-]+/[\w.+-]+)?(?P<params>(;[^,;]*)*?),(?P<data>.*)$", re.S
)


@dataclass(frozen=True)
class Upload:
    """A file that came in a multipart request."""

    data: bytes
    content_type: str | None
    filename: str | None


@dataclass(frozen=True)
class ImageInput:
    """The reference image: its bytes (uploaded or a `data:` URI) or an http(s) URL."""

    data: bytes | None = None
    url: str | None = None
    content_type: str | None = None
    filename: str | None = None


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
    image: ImageInput | None = None
    webhook: dict[str, Any] | None = None

    @property
    def size(self) -> str:
        return f"{self.width}x{self.height}"

    def params(self) -> dict[str, Any]:
        """The normalised parameters, as recorded in the `Submitted` event."""
        return {
            "seconds": str(self.seconds), "size": self.size, "fps": self.fps, "seed": self.seed,
            "negative_prompt": self.negative_prompt, "aspect_ratio": self.aspect_ratio,
            "resolution": self.resolution,
            "mode": "image-to-video" if self.image else "text-to-video",
        }  # fmt: skip


def parse_video_request(fields: Mapping[str, Any], catalog: Catalog) -> VideoRequest:
    """A validated request, or an `ApiError` (400) naming the first bad field."""
    unknown = sorted(set(fields) - FIELDS)
    if unknown:
        raise invalid(unknown[0], f"unknown parameter {unknown[0]!r}", "unknown_parameter")
    model = _model(fields.get("model"), catalog)
    prompt = _text(fields, "prompt", model.prompt_max_chars, required=True) or ""
    width, height = _size(fields, model)
    image = _image(fields)
    if image is not None and "image-to-video" not in model.modes:
        raise invalid("input_reference", f"model {model.id!r} does not take an input image")
    return VideoRequest(
        model=model,
        prompt=prompt,
        seconds=_int(fields, "seconds", model.seconds_range, model.default_seconds),
        width=width,
        height=height,
        fps=_int(fields, "fps", model.fps_range, model.default_fps),
        seed=_optional_int(fields, "seed", (0, MAX_SEED)) if model.seed else None,
        negative_prompt=_text(fields, "negative_prompt", model.prompt_max_chars),
        aspect_ratio=_choice(fields, "aspect_ratio", model.aspect_ratios),
        resolution=_choice(fields, "resolution", model.resolutions),
        image=image,
        webhook=_webhook(fields),
    )


def _model(value: Any, catalog: Catalog) -> ModelSpec:
    if value is None or value == "":
        return catalog.default
    if not isinstance(value, str):
        raise invalid("model", "model must be a string")
    model = catalog.resolve(value)
    if model is None:
        known = ", ".join(catalog.names())
        message = f"unknown model {value!r}; available: {known}"
        raise ApiError(400, message, code="model_not_found", param="model")
    return model


def _text(fields: Mapping[str, Any], name: str, limit: int, required: bool = False) -> str | None:
    value = fields.get(name)
    if value is None or (isinstance(value, str) and not value.strip()):
        if required:
            raise invalid(name, f"{name} is required", "missing_required_parameter")
        return None
    if not isinstance(value, str):
        raise invalid(name, f"{name} must be a string")
    if len(value) > limit:
        raise invalid(name, f"{name} is {len(value)} characters; the limit is {limit}", "too_long")
    if "\x00" in value:  # PostgreSQL text columns (the jobs view) cannot hold NUL
        raise invalid(name, f"{name} must not contain NUL (\\u0000) characters")
    return value


def _as_int(name: str, value: Any) -> int:
    if isinstance(value, bool):
        raise invalid(name, f"{name} must be an integer")
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, str) and re.fullmatch(r"\s*-?\d{1,12}\s*", value):
        return int(value)
    raise invalid(name, f"{name} must be an integer, got {value!r}")


def _optional_int(fields: Mapping[str, Any], name: str, bounds: tuple[int, int]) -> int | None:
    value = fields.get(name)
    if value is None or value == "":
        return None
    number = _as_int(name, value)
    low, high = bounds
    if not low <= number <= high:
        raise invalid(name, f"{name} must be between {low} and {high}, got {number}")
    return number


def _int(fields: Mapping[str, Any], name: str, bounds: tuple[int, int], default: int) -> int:
    number = _optional_int(fields, name, bounds)
    return default if number is None else number


def _choice(fields: Mapping[str, Any], name: str, allowed: tuple[str, ...]) -> str | None:
    value = fields.get(name)
    if value is None or value == "":
        return None
    if value not in allowed:
        raise invalid(name, f"{name} must be one of {', '.join(allowed)}; got {value!r}")
    return str(value)


def _size(fields: Mapping[str, Any], model: ModelSpec) -> tuple[int, int]:
    explicit = _parse_size(fields.get("size"), model)
    default = _parse_size(model.default_size, model) or (1280, 720)
    derived = _derived_size(
        _choice(fields, "resolution", model.resolutions),
        _choice(fields, "aspect_ratio", model.aspect_ratios),
        explicit or default,
    )
    if explicit and derived and explicit != derived:
        got = "x".join(map(str, explicit))
        raise invalid("size", f"size {got} disagrees with resolution/aspect_ratio; give one")
    if derived and not explicit:
        w, h = derived
        if max(w, h) > model.max_side or w * h > model.max_pixels:
            limits = f"sides ≤ {model.max_side}, ≤ {model.max_pixels} px"
            raise invalid("resolution", f"resolution/aspect_ratio give {w}x{h}, larger than "
                          f"{model.id} renders ({limits})")  # fmt: skip
    return explicit or derived or default


def _parse_size(value: Any, model: ModelSpec) -> tuple[int, int] | None:
    if value is None or value == "":
        return None
    match = SIZE_PATTERN.fullmatch(value) if isinstance(value, str) else None
    if match is None:
        raise invalid("size", f"size must look like 1280x720, got {value!r}")
    width, height = int(match[1]), int(match[2])
    if width % 2 or height % 2 or min(width, height) < 16 or max(width, height) > model.max_side:
        raise invalid("size", f"size sides must be even and between 16 and {model.max_side}")
    if width * height > model.max_pixels:
        raise invalid("size", f"size {value} exceeds {model.max_pixels} pixels for {model.id}")
    return width, height


def _derived_size(
    resolution: str | None, aspect: str | None, fallback: tuple[int, int]
) -> tuple[int, int] | None:
    if resolution is None and aspect is None:
        return None
    short = RESOLUTIONS[resolution] if resolution else min(fallback)
    w, h = ASPECT_RATIOS[aspect] if aspect else (fallback[0], fallback[1])
    long_side = round(short * max(w, h) / min(w, h) / 2) * 2
    return (long_side, short) if w >= h else (short, long_side)


def _image(fields: Mapping[str, Any]) -> ImageInput | None:
    reference, url = fields.get("input_reference"), fields.get("image_url")
    if reference is not None and url is not None:
        raise invalid("image_url", "give either input_reference or image_url, not both")
    if isinstance(reference, Upload):
        data = _checked(reference.data, "input_reference")
        return ImageInput(data, content_type=reference.content_type, filename=reference.filename)
    if isinstance(reference, Mapping):
        if "file_id" in reference:
            message = "file_id references are not supported; upload the file or give "
            raise invalid("input_reference", message + "input_reference.image_url",
                          "unsupported_parameter")  # fmt: skip
        return _image_url(reference.get("image_url"), "input_reference.image_url")
    if reference is not None:
        raise invalid("input_reference", 'input_reference must be a file or {"image_url": …}')
    return None if url is None else _image_url(url, "image_url")


def _image_url(value: Any, param: str) -> ImageInput:
    if not isinstance(value, str) or not value:
        raise invalid(param, f"{param} must be an http(s) URL or a data: URI")
    if value.startswith("data:"):
        content_type, data = _data_uri(value, param)
        return ImageInput(_checked(data, param), content_type=content_type)
    if len(value) > 2048 or not _is_web_url(value):
        raise invalid(param, f"{param} must be an http(s) URL (≤ 2048 chars) or a data: URI")
    return ImageInput(url=value)


def _is_web_url(value: str) -> bool:
    """An absolute http(s) URL with a host and no control characters (any scheme case)."""
    try:
        parts = urlsplit(value)
        host = parts.hostname
    except ValueError:  # e.g. "http://[::1" or a bad port
        return False
    return parts.scheme.lower() in ("http", "https") and bool(host) and value.isprintable()


def _data_uri(value: str, param: str) -> tuple[str | None, bytes]:
    match = DATA_URI.match(value)
    if match is None or ";base64" not in (match["params"] or ""):
        raise invalid(param, f"{param} must be a base64 data: URI (data:image/png;base64,…)")
    try:
        return match["type"], base64.b64decode(match["data"], validate=True)
    except (binascii.Error, ValueError):
        raise invalid(param, f"{param} is not valid base64") from None


def _checked(data: bytes, param: str) -> bytes:
    """The image bytes, if they are a readable image of sane size."""
    if len(data) > MAX_IMAGE_BYTES:
        raise invalid(param, f"image is {len(data)} bytes; the limit is {MAX_IMAGE_BYTES}")
    try:
        decode_image(data)
    except ImageUnreadable as error:
        raise invalid(param, f"unreadable image: {error}", "invalid_image") from None
    return data


def _webhook(fields: Mapping[str, Any]) -> dict[str, Any] | None:
    """The per-job callback: where to post, and which kinds of event."""
    url, events = fields.get("webhook_url"), fields.get("webhook_events")
    if url is None or url == "":
        if events not in (None, "", []):
            raise invalid("webhook_events", "webhook_events needs a webhook_url")
        return None
    return {
        "url": webhook_fields.webhook_url(url, "webhook_url"),
        "events": webhook_fields.event_filter(events or None, "webhook_events"),
    }
