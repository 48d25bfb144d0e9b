"""The Seedance emulator's request rules: models, text flags, and Ark's error shape.

`parse_request` checks a `POST /api/v3/contents/generations/tasks` body the way Ark would and
raises `ApiError` (HTTP 4xx `{"error": {"code", "message", "param", "type"}}`) otherwise.
Generation parameters come as top-level fields (`resolution`, `ratio`, `duration`, `seed`,
`camera_fixed`, `watermark`, ...) or, the older way, as `--flag value` pairs in the text item
(`--resolution/--rs`, `--ratio/--rt`, `--duration/--dur`, `--seed`, `--camerafixed/--cf`,
`--watermark/--wm`, `--framespersecond/--fps`). Top-level fields are checked strictly; text
flags weakly (a bad value falls back to the default) and lose to a top-level field naming the
same parameter. Unverified: that weak/strict split and the precedence (recalled from the
Volcengine docs, not re-read), the per-model duration/resolution tables and defaults, error
codes and wordings. Model ids: the BytePlus spellings (`dreamina-` for 2.0); the Volcengine
`doubao-` ones also pass.
"""

from __future__ import annotations

import base64
import binascii
import re
from dataclasses import dataclass
from typing import Any, NoReturn

from starlette.responses import JSONResponse

from service.media.render import ImageUnreadable, decode_image

Json = dict[str, Any]
RATIOS = ("16:9", "4:3", "1:1", "3:4", "9:16", "21:9", "adaptive")
RESOLUTIONS = ("480p", "720p", "1080p")
MAX_SEED = 4_294_967_295
FLAGS = {
    "resolution": "resolution",
    "rs": "resolution",
    "ratio": "ratio",
    "rt": "ratio",
    "duration": "duration",
    "dur": "duration",
    "seed": "seed",
    "camerafixed": "camera_fixed",
    "cf": "camera_fixed",
    "watermark": "watermark",
    "wm": "watermark",
    "framespersecond": "framespersecond",
    "fps": "framespersecond",
}
FLAG = re.compile(r"(?:^|\s)--(?P<name>[a-z]+)\s+(?P<value>\S+)")
DATA_URI = re.compile(r"^data:(?P<mime>image/[\w.+-]+);base64,(?P<data>.*)$", re.DOTALL)
TOP_LEVEL = {
    "model",
    "content",
    "callback_url",
    "return_last_frame",
    "generate_audio",
    "service_tier",
    "execution_expires_after",
    *set(FLAGS.values()),
}
TYPES = {
    400: "BadRequest",
    401: "Unauthorized",
    404: "NotFound",
    429: "TooManyRequests",
    500: "InternalServerError",
    502: "BadGateway",
    504: "GatewayTimeout",
}


class ApiError(Exception):
    """An answer in Ark's error shape."""

    def __init__(self, status: int, code: str, message: str, param: str = "") -> None:
        super().__init__(message)
        self.status, self.code, self.message, self.param = status, code, message, param

    def response(self, headers: dict[str, str] | None = None) -> JSONResponse:
        error = {
            "code": self.code,
            "message": self.message,
            "param": self.param,
            "type": TYPES.get(self.status, "BadRequest"),
        }
        return JSONResponse({"error": error}, status_code=self.status, headers=headers)


def invalid(param: str, message: str) -> NoReturn:
    raise ApiError(
        400,
        "InvalidParameter",
        f"The parameter `{param}` specified in the request is not valid: {message}",
        param,
    )


@dataclass(frozen=True)
class Model:
    text: bool  # text-to-video
    roles: tuple[str, ...]  # image roles it takes ("" = none)
    durations: tuple[int, ...]
    default_resolution: str
    audio: bool = False  # takes `generate_audio`


_LONG = tuple(range(2, 13))
MODELS = {
    "seedance-1-0-pro-250528": Model(True, ("first_frame", "last_frame"), _LONG, "1080p"),
    "seedance-1-0-pro-fast-251015": Model(True, ("first_frame",), _LONG, "1080p"),
    "seedance-1-0-lite-t2v-250428": Model(True, (), (5, 10), "720p"),
    "seedance-1-0-lite-i2v-250428": Model(
        False, ("first_frame", "last_frame", "reference_image"), (5, 10), "720p"
    ),
    "seedance-1-5-pro-251215": Model(
        True, ("first_frame", "last_frame"), tuple(range(4, 13)), "720p", audio=True
    ),
    # Seedance 2.0 (public client code; durations and roles unverified beyond first/last)
    "seedance-2-0-260128": Model(
        True, ("first_frame", "last_frame"), tuple(range(4, 16)), "720p", audio=True
    ),
    "seedance-2-0-fast-260128": Model(
        True, ("first_frame", "last_frame"), tuple(range(4, 16)), "720p", audio=True
    ),
}


@dataclass(frozen=True)
class SeedanceRequest:
    model: str
    prompt: str  # the text with its flags removed
    resolution: str
    ratio: str
    duration: int
    seed: int  # -1: random
    camera_fixed: bool
    watermark: bool
    images: tuple[tuple[str, bytes | None, str | None], ...]  # (role, data-URI bytes, url)
    callback_url: str | None
    flags: dict[str, str]  # the text flags as given


def parse_flags(text: str) -> tuple[str, dict[str, str]]:
    """Split `text` into the prompt and its known `--flag value` pairs (unknown ones stay)."""
    flags: dict[str, str] = {}

    def take(match: re.Match[str]) -> str:
        name = FLAGS.get(match["name"])
        if name is None:
            return match[0]
        flags[name] = match["value"]
        return ""

    return FLAG.sub(take, text).strip(), flags


def parse_request(body: Any) -> SeedanceRequest:
    """Check a create body the way Ark would, or raise ApiError."""
    if not isinstance(body, dict):
        raise ApiError(400, "InvalidParameter", "The request body must be a JSON object.")
    name = str(body.get("model") or "").removeprefix("doubao-").removeprefix("dreamina-")
    spec = MODELS.get(name)
    if spec is None:
        raise ApiError(
            404,
            "InvalidEndpointOrModel.NotFound",
            f"The model or endpoint {body.get('model')} does not exist or you do "
            "not have access to it.",
            "model",
        )
    for key in body:
        if key not in TOP_LEVEL:
            invalid(key, "unknown field.")
    audio = body.get("generate_audio")
    if "generate_audio" in body and (not spec.audio or not isinstance(audio, bool)):
        invalid("generate_audio", f"is not accepted by {name}.")
    content = body.get("content")
    if not isinstance(content, list) or not content:
        invalid("content", "must be a non-empty array.")
    texts: list[str] = []
    images: list[tuple[str, bytes | None, str | None]] = []
    for item in content:
        kind = item.get("type") if isinstance(item, dict) else None
        if kind == "text" and isinstance(item.get("text"), str):
            texts.append(item["text"])
        elif kind == "image_url" and isinstance(item.get("image_url"), dict):
            images.append(_image(item, spec, name, len(images)))
        else:
            invalid("content", "each item is {type: text, text} or {type: image_url, image_url}.")
    if len(texts) > 1:
        invalid("content", "takes at most one text item.")
    prompt, flags = parse_flags(texts[0] if texts else "")
    if not images and not spec.text:
        invalid("content", f"{name} needs an image.")
    if not prompt and not images:
        invalid("content", "needs a text prompt.")
    if len(images) > 1 and images[0][0] == "first_frame" and images[1][0] != "last_frame":
        invalid("content", "a second frame image must have role last_frame.")
    image_default = "adaptive" if images else "16:9"

    def pick(key: str, check: Any, default: Any) -> Any:
        if key in body:
            value = body[key]
            if not check(value):
                invalid(key, f"{value!r} is not accepted by {name}.")
            return value
        if key in flags:
            value = _flag_value(flags[key])
            return value if check(value) else default  # weak checking
        return default

    resolution = pick("resolution", lambda v: v in RESOLUTIONS, spec.default_resolution)
    ratio = pick("ratio", lambda v: v in RATIOS and (v != "adaptive" or images), image_default)
    duration = pick("duration", lambda v: _int(v) and v in spec.durations, 5)
    seed = pick("seed", lambda v: _int(v) and -1 <= v <= MAX_SEED, -1)
    camera_fixed = pick("camera_fixed", lambda v: isinstance(v, bool), False)
    watermark = pick("watermark", lambda v: isinstance(v, bool), False)
    pick("framespersecond", lambda v: v == 24, 24)
    callback = body.get("callback_url")
    if callback is not None and (not isinstance(callback, str) or "://" not in callback):
        invalid("callback_url", "must be an http(s) URL.")
    return SeedanceRequest(
        name,
        prompt,
        resolution,
        ratio,
        duration,
        seed,
        camera_fixed,
        watermark,
        tuple(images),
        callback,
        flags,
    )


def _int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _flag_value(raw: str) -> Any:
    if raw in ("true", "false"):
        return raw == "true"
    try:
        return int(raw)
    except ValueError:
        return raw


def _image(item: Json, spec: Model, name: str, index: int) -> tuple[str, bytes | None, str | None]:
    role = item.get("role") or ("first_frame" if index == 0 else "last_frame")
    if role not in spec.roles:
        invalid("content.image_url.role", f"{name} does not take a {role} image.")
    url = item["image_url"].get("url")
    if not isinstance(url, str) or not url:
        invalid("content.image_url.url", "is required.")
    if url.startswith("data:"):
        match = DATA_URI.match(url)
        try:
            if match is None:
                raise ValueError(url[:40])
            data = base64.b64decode(match["data"], validate=True)
            decode_image(data)
        except (binascii.Error, ValueError, ImageUnreadable):
            invalid("content.image_url.url", "the base64 image cannot be decoded.")
        return role, data, None
    if not url.startswith(("http://", "https://")):
        invalid("content.image_url.url", "must be an http(s) URL or a base64 data URI.")
    return role, None, url
