"""The Runway emulator's request rules: what each model takes, and Runway's error shape.

`parse_request` checks a `/v1/image_to_video` or `/v1/text_to_video` body per model (`MODELS`,
from the runwayml 5.24 SDK types: ratios, durations, which fields are required) and refuses
anything the model would with `ApiError`: HTTP 400 `{"error", "issues", "docUrl"}` naming the
field (the shape Runway's OpenAPI spec gives; exact wordings unverified).
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
DOC_URL = "https://docs.dev.runwayml.com/errors/troubleshooting"
IMAGE_TYPES = ("image/png", "image/jpeg", "image/webp")
DATA_URI = re.compile(r"^data:(?P<mime>[\w.+-]+/[\w.+-]+);base64,(?P<data>.*)$", re.DOTALL)
MAX_DATA_URI = 5 * 1024 * 1024
MAX_PROMPT = 1000  # UTF-16 code units
MAX_SEED = 4_294_967_295
_WIDE = ("1280:720", "720:1280", "1104:832", "832:1104", "960:960", "1584:672")


class ApiError(Exception):
    """An answer in Runway's error shape: `{"error": message, "issues"?: [...], "docUrl"?}`."""

    def __init__(self, status: int, message: str, issues: list[Json] | None = None) -> None:
        super().__init__(message)
        self.status, self.message, self.issues = status, message, issues

    def response(self, headers: dict[str, str] | None = None) -> JSONResponse:
        body: Json = {"error": self.message}
        if self.issues is not None:
            body |= {"issues": self.issues, "docUrl": DOC_URL}
        return JSONResponse(body, status_code=self.status, headers=headers)


def invalid(field: str, message: str) -> NoReturn:
    issue = {"code": "invalid_value", "path": [field], "message": message}
    raise ApiError(400, f"Invalid parameter '{field}': {message}", [issue])


@dataclass(frozen=True)
class Model:
    ratios: tuple[str, ...]
    durations: tuple[int, ...]
    default_duration: int | None  # None: `duration` is required
    credits_per_second: int  # unverified pricing, for the cost fields only
    prompt_required: bool = False
    seed: bool = True


# Per endpoint, the models the emulator knows (a subset of the SDK's: the Runway-made ones and Veo).
IMAGE_MODELS = {
    # gen4_turbo: the SDK types say only `int`; Runway's docs give 5 or 10 (unverified since).
    "gen4_turbo": Model(_WIDE, (5, 10), 10, 5),
    "gen4.5": Model(_WIDE, tuple(range(2, 11)), None, 12, prompt_required=True, seed=False),
}
_VEO_RATIOS = ("1280:720", "720:1280", "1080:1920", "1920:1080")
TEXT_MODELS = {
    "gen4.5": Model(("1280:720", "720:1280"), tuple(range(2, 11)), None, 12, True, False),
    "veo3.1": Model(_VEO_RATIOS, (4, 6, 8), 8, 40, prompt_required=True),
    "veo3.1_fast": Model(_VEO_RATIOS, (4, 6, 8), 8, 15, prompt_required=True),
}
MODELS = {"image_to_video": IMAGE_MODELS, "text_to_video": TEXT_MODELS}
_FIELDS = {
    "image_to_video": {
        "model",
        "promptImage",
        "promptText",
        "ratio",
        "duration",
        "seed",
        "contentModeration",
        "outputFormat",
    },
    "text_to_video": {
        "model",
        "promptText",
        "ratio",
        "duration",
        "seed",
        "contentModeration",
        "outputFormat",
        "audio",
        "negativePrompt",
    },
}


@dataclass(frozen=True)
class RunwayRequest:
    endpoint: str  # image_to_video | text_to_video
    model: str
    prompt: str
    ratio: str
    seconds: int
    seed: int | None
    image: bytes | None  # decoded data-URI bytes; None for a URL (nothing is fetched)
    image_url: str | None
    credits: int


def parse_request(endpoint: str, body: Any) -> RunwayRequest:
    """Check a create body the way Runway would, or raise ApiError."""
    if not isinstance(body, dict):
        raise ApiError(400, "Request body must be a JSON object.", [])
    models = MODELS[endpoint]
    name = body.get("model")
    if name not in models:
        invalid("model", f"must be one of {', '.join(models)}; got {name!r}.")
    spec = models[name]
    for key in body:
        if key not in _FIELDS[endpoint] or (key == "seed" and not spec.seed):
            invalid(key, f"is not accepted by {name}.")
    prompt = body.get("promptText")
    if prompt is None and spec.prompt_required:
        invalid("promptText", "is required.")
    if prompt is not None and (not isinstance(prompt, str) or not prompt.strip()):
        invalid("promptText", "must be a non-empty string.")
    if prompt is not None and len(prompt.encode("utf-16-le")) // 2 > MAX_PROMPT:
        invalid("promptText", f"must be at most {MAX_PROMPT} characters (UTF-16 code units).")
    ratio = body.get("ratio")
    if ratio not in spec.ratios:
        invalid("ratio", f"must be one of {', '.join(spec.ratios)}; got {ratio!r}.")
    duration = body.get("duration", spec.default_duration)
    if duration is None:
        invalid("duration", "is required.")
    if isinstance(duration, bool) or duration not in spec.durations:
        options = ", ".join(map(str, spec.durations))
        invalid("duration", f"must be one of {options}; got {duration!r}.")
    seed = body.get("seed")
    if seed is not None and (
        isinstance(seed, bool) or not isinstance(seed, int) or not 0 <= seed <= MAX_SEED
    ):
        invalid("seed", f"must be an integer in 0..{MAX_SEED}; got {seed!r}.")
    image, url = None, None
    if endpoint == "image_to_video":
        image, url = _prompt_image(body.get("promptImage"))
    return RunwayRequest(
        endpoint,
        name,
        prompt or "",
        ratio,
        int(duration),
        seed,
        image,
        url,
        spec.credits_per_second * int(duration),
    )


def _prompt_image(value: Any) -> tuple[bytes | None, str | None]:
    """`promptImage`: a URI string, or `[{uri, position: "first"}]` (the SDK's two forms)."""
    if isinstance(value, list):
        if len(value) != 1 or not isinstance(value[0], dict) or value[0].get("position") != "first":
            invalid("promptImage", 'takes one image with position "first".')
        value = value[0].get("uri")
    if value is None:
        invalid("promptImage", "is required.")
    if not isinstance(value, str) or not value:
        invalid("promptImage", "must be a HTTPS URL or a data URI.")
    if value.startswith("data:"):
        return _data_uri(value), None
    if not value.startswith("https://") or len(value) > 2048:
        invalid("promptImage", "Only HTTPS URLs are allowed (up to 2048 characters).")
    host = value[8:].split("/", 1)[0].split(":", 1)[0]
    if not host or re.fullmatch(r"[\d.]+|\[[\da-fA-F:]+\]", host):
        invalid("promptImage", "URLs must be hosted on a domain.")
    return None, value


def _data_uri(value: str) -> bytes:
    if len(value) > MAX_DATA_URI:
        invalid("promptImage", "The data URI must be under 5MB.")
    match = DATA_URI.match(value)
    if match is None:
        invalid("promptImage", "Invalid data URI.")
    if match["mime"] not in IMAGE_TYPES:
        invalid("promptImage", "Unsupported asset type.")
    try:
        data = base64.b64decode(match["data"], validate=True)
        decode_image(data)
    except (binascii.Error, ValueError, ImageUnreadable):
        invalid("promptImage", "Invalid data URI.")
    return data
