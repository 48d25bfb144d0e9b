"""The images a create-video request may carry: the first frame (`input_reference` — an upload
or `{"image_url": …}` — or `image_url`) and the last frame (`end_image_url`). Each is an
http(s) URL, kept as given (never fetched here), or bytes that must decode as an image."""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from service.media.render import ImageUnreadable, decode_image
from service.videos.errors import FIRST_FRAME, InvalidField
from service.videos.urls import parsed_web_url

MAX_IMAGE_BYTES = 20 * 1024 * 1024
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
    """An input image: its bytes (uploaded or a `data:` URI) or an http(s) URL."""

    data: bytes | None = None
    url: str | None = None
    content_type: str | None = None
    filename: str | None = None


def first_frame_param(fields: Mapping[str, Any]) -> str:
    """The field a first frame came in, to name in errors about it."""
    return "input_reference" if fields.get("input_reference") is not None else "image_url"


def first_frame(fields: Mapping[str, Any]) -> ImageInput | None:
    """The first-frame image, from `input_reference` or `image_url` (not both)."""
    reference, url = fields.get("input_reference"), fields.get("image_url")
    if reference is not None and url is not None:
        raise InvalidField("image_url", lambda n: f"give either {n(FIRST_FRAME)}, not both")
    if isinstance(reference, Upload):
        data = _checked(reference.data, "input_reference")
        return ImageInput(data, content_type=reference.content_type, filename=reference.filename)
    if isinstance(reference, Mapping):
        if "file_id" in reference:
            raise InvalidField(
                "input_reference",
                lambda n: (
                    "file_id references are not supported; upload the file or give "
                    + n("input_reference.image_url")
                ),
                "unsupported_parameter",
            )
        return image_at(reference.get("image_url"), "input_reference.image_url")
    if reference is not None:
        raise InvalidField(
            "input_reference",
            lambda n: n("input_reference") + ' must be a file or {"image_url": …}',
        )
    return None if url is None else image_at(url, "image_url")


def end_frame(fields: Mapping[str, Any]) -> ImageInput | None:
    """The last-frame image (`end_image_url`), if given."""
    value = fields.get("end_image_url")
    if isinstance(value, Upload):  # a multipart form may send it as a file part
        data = _checked(value.data, "end_image_url")
        return ImageInput(data, content_type=value.content_type, filename=value.filename)
    return None if value is None or value == "" else image_at(value, "end_image_url")


def image_at(value: Any, param: str) -> ImageInput:
    """An image given as an http(s) URL or a base64 `data:` URI."""
    if not isinstance(value, str) or not value:
        raise InvalidField(param, lambda n: f"{n(param)} must be an http(s) URL or a data: URI")
    if value.startswith("data:"):
        content_type, data = _data_uri(value, param)
        return ImageInput(_checked(data, param), content_type=content_type)
    if len(value) > 2048 or not _is_web_url(value):
        raise InvalidField(
            param, lambda n: f"{n(param)} must be an http(s) URL (≤ 2048 chars) or a data: URI"
        )
    return ImageInput(url=value)


def _is_web_url(value: str) -> bool:
    """An absolute http(s) URL with a host, as the fetcher's httpx reads it."""
    return parsed_web_url(value) is not None


def _data_uri(value: str, param: str) -> tuple[str | None, bytes]:
    match = DATA_URI.match(value)
    if match is None or ";base64" not in (match["params"] or ""):
        raise InvalidField(
            param, lambda n: f"{n(param)} must be a base64 data: URI (data:image/png;base64,…)"
        )
    try:
        return match["type"], base64.b64decode(match["data"], validate=True)
    except (binascii.Error, ValueError):
        raise InvalidField(param, lambda n: f"{n(param)} is not valid base64") from None


def _checked(data: bytes, param: str) -> bytes:
    """The image bytes, if they are a readable image of sane size."""
    if len(data) > MAX_IMAGE_BYTES:
        raise InvalidField(param, f"image is {len(data)} bytes; the limit is {MAX_IMAGE_BYTES}")
    try:
        decode_image(data)
    except ImageUnreadable as error:
        raise InvalidField(param, f"unreadable image: {error}", "invalid_image") from None
    return data
