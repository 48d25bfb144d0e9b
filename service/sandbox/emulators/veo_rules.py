"""The Veo emulator's request rules: what each model takes, and Google's error shape.

`parse_request` checks a `:predictLongRunning` body per model (`MODELS`: durations,
resolutions, sample counts, which parameters each API takes) and refuses anything the model
would with `ApiError`: Google's 400 INVALID_ARGUMENT naming the field.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass
from typing import Any, NoReturn

from starlette.requests import Request
from starlette.responses import JSONResponse

from service.media.render import ImageUnreadable, decode_image

Json = dict[str, Any]


class ApiError(Exception):
    """An answer in Google's error shape: `{"error": {code, message, status, details?}}`."""

    def __init__(self, code: int, message: str, status: str, details: list[Json] | None = None):
        super().__init__(message)
        self.code, self.message, self.status, self.details = code, message, status, details

    def response(self, headers: dict[str, str] | None = None) -> JSONResponse:
        error: Json = {"code": self.code, "message": self.message, "status": self.status}
        if self.details:
            error["details"] = self.details
        return JSONResponse({"error": error}, status_code=self.code, headers=headers)


def _invalid(message: str) -> NoReturn:
    raise ApiError(400, message, "INVALID_ARGUMENT")


def _not_found(message: str = "Requested entity was not found.") -> NoReturn:
    raise ApiError(404, message, "NOT_FOUND")


@dataclass(frozen=True)
class _Model:
    durations: tuple[int, ...]  # the last one is the default
    resolutions: tuple[str, ...]  # empty: the model takes no `resolution`
    gemini_samples: int  # most videos per Gemini API request (Vertex AI: 4)
    last_frame: bool = False  # first+last frame interpolation


_V31 = _Model((4, 6, 8), ("720p", "1080p", "4k"), 1, last_frame=True)
_V30 = _Model((4, 6, 8), ("720p", "1080p"), 1)
MODELS = {
    "veo-3.1-generate-preview": _V31,
    "veo-3.1-fast-generate-preview": _V31,
    "veo-3.0-generate-001": _V30,
    "veo-3.0-fast-generate-001": _V30,
    "veo-2.0-generate-001": _Model((5, 6, 7, 8), (), 2),
}
ASPECT_RATIOS = ("16:9", "9:16")
PERSON_GENERATION = ("allow_all", "allow_adult", "dont_allow")
IMAGE_TYPES = ("image/png", "image/jpeg", "image/webp")
# google-genai refuses seed/fps/storageUri/generateAudio/… in Gemini API mode (models.py).
# fmt: off
GEMINI_PARAMETERS = frozenset({"aspectRatio", "resolution", "durationSeconds", "negativePrompt",
                               "personGeneration", "sampleCount", "enhancePrompt"})
VERTEX_PARAMETERS = GEMINI_PARAMETERS | {"seed", "storageUri", "fps", "generateAudio",
                                         "pubsubTopic", "compressionQuality", "resizeMode"}
# fmt: on


@dataclass(frozen=True)
class VeoRequest:
    model: str
    prompt: str
    seconds: int
    aspect_ratio: str
    samples: int
    seed: int | None
    negative_prompt: str | None
    image: bytes | None
    storage_uri: str | None


def parse_request(model: str, body: Json, *, api: str) -> VeoRequest:
    """Check a `:predictLongRunning` body the way the model would, or raise ApiError."""
    spec = MODELS.get(model)
    if spec is None:
        _not_found(f"models/{model} is not found, or is not supported for predictLongRunning.")
    instances, params = body.get("instances"), body.get("parameters", {})
    if not isinstance(instances, list) or len(instances) != 1 or not isinstance(instances[0], dict):
        _invalid("`instances` must hold exactly one instance.")
    if not isinstance(params, dict):
        _invalid("`parameters` must be an object.")
    instance = instances[0]
    for name in params:
        if name not in (GEMINI_PARAMETERS if api == "gemini" else VERTEX_PARAMETERS):
            _invalid(f"`{name}` isn't supported by this model. Please remove it.")
    prompt = instance.get("prompt", "")
    if not isinstance(prompt, str) or (not prompt and "image" not in instance):
        _invalid("`prompt` must be a non-empty string (or give an `image`).")
    image = _image(instance["image"], "image", api) if "image" in instance else None
    if "lastFrame" in instance:
        if not spec.last_frame or "image" not in instance:
            _invalid(f"`lastFrame` needs `image` and a model that interpolates, not {model}.")
        _image(instance["lastFrame"], "lastFrame", api)
    seconds = int(_choice(params, "durationSeconds", spec.durations, spec.durations[-1]))
    aspect_ratio = str(_choice(params, "aspectRatio", ASPECT_RATIOS, "16:9"))
    resolution = (
        _choice(params, "resolution", spec.resolutions, None) if "resolution" in params else None
    )
    if resolution in ("1080p", "4k") and seconds != 8:
        _invalid(f"`resolution` {resolution} needs `durationSeconds` 8.")
    _choice(params, "personGeneration", PERSON_GENERATION, "allow_adult")
    samples = _integer(params, "sampleCount", 4 if api == "vertex" else spec.gemini_samples)
    seed = _integer(params, "seed", 2**32 - 1, low=0)
    for name in ("negativePrompt", "storageUri"):
        if not isinstance(params.get(name, ""), str):
            _invalid(f"`{name}` must be a string.")
    storage_uri = params.get("storageUri")
    if storage_uri is not None and not storage_uri.startswith("gs://"):
        _invalid("`storageUri` must be a gs:// URI.")
    negative = params.get("negativePrompt")
    return VeoRequest(
        model, prompt, seconds, aspect_ratio, samples or 1, seed, negative, image, storage_uri
    )


def _choice(params: Json, name: str, allowed: tuple[Any, ...], default: Any) -> Any:
    value = params.get(name, default)
    if not allowed:
        _invalid(f"`{name}` isn't supported by this model.")
    if isinstance(value, bool) or value not in allowed:
        options = ", ".join(str(option) for option in allowed)
        _invalid(f"`{name}` must be one of {options} for this model; got {value!r}.")
    return value


def _integer(params: Json, name: str, high: int, *, low: int = 1) -> int | None:
    value = params.get(name)
    if value is not None and (
        isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high
    ):
        _invalid(f"`{name}` must be an integer in {low}..{high}; got {value!r}.")
    return value


def _image(value: Any, name: str, api: str) -> bytes | None:
    if not isinstance(value, dict):
        _invalid(f"`{name}` must be an object.")
    if api == "vertex" and isinstance(value.get("gcsUri"), str):
        return None  # nothing to read it from here; the render goes without it
    if value.get("mimeType") not in IMAGE_TYPES:
        _invalid(f"`{name}.mimeType` must be one of {', '.join(IMAGE_TYPES)}.")
    try:
        data = base64.b64decode(str(value.get("bytesBase64Encoded", "")), validate=True)
        decode_image(data)
    except (ValueError, ImageUnreadable) as error:
        _invalid(f"`{name}.bytesBase64Encoded` is not a readable image: {error}")
    return data


def _split(target: str) -> tuple[str, str]:
    resource, _, action = target.rpartition(":")
    if not resource:
        _not_found()
    return resource, action


async def _body(request: Request) -> Json:
    if request.method != "POST":
        return {}
    try:
        body = await request.json()
    except ValueError:
        _invalid("Invalid JSON payload received.")
    if not isinstance(body, dict):
        _invalid("Invalid JSON payload received. Expected an object.")
    return body
