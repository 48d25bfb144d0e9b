"""Google Veo emulator: the Gemini API and Vertex AI long-running video calls, real MP4s.

Gemini API (API key in `x-goog-api-key` or `?key=`):
  POST /v1beta/models/{model}:predictLongRunning   → {name: "models/{model}/operations/{id}"}
  GET  /v1beta/models/{model}/operations/{id}       → the operation
  GET  /v1beta/files/{id}:download?alt=media        → 302 to /download/v1beta/files/…, the MP4
                                                      (both need the key as well)
Vertex AI (`Authorization: Bearer`, or an API key in express mode), version v1 or v1beta1:
  POST /{v}/projects/{p}/locations/{l}/publishers/google/models/{model}:predictLongRunning
  POST /{v}/projects/{p}/locations/{l}/publishers/google/models/{model}:fetchPredictOperation
  and both without `projects/{p}/locations/{l}/` (express mode: what google-genai sends for
  `Client(vertexai=True, api_key=…)`). Without `parameters.storageUri` the video comes inline
  as base64; with it, as a `gs://` URI (nothing is written to any bucket).

Requests are checked per model (`MODELS`: durations, resolutions, sample counts, which
parameters each API takes) and refused with Google's 400 INVALID_ARGUMENT naming the field.
`Knobs` drive latency, failures (`error` operations) and API faults; `safety_filter_rate`
makes finished operations come back RAI-filtered (no samples). Veo sends no webhooks, so the
webhook knobs do nothing here. Choices Google does not document are marked "unverified".
"""

from __future__ import annotations

import asyncio
import base64
import secrets
import time
import uuid
from collections.abc import Awaitable, Callable, Collection
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NoReturn

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import FileResponse, JSONResponse, RedirectResponse, Response
from starlette.routing import Route

from service.emulators.knobs import Knobs
from service.render import ImageUnreadable, RenderSpec, decode_image, render_video

Json = dict[str, Any]
GEMINI_TYPE = "type.googleapis.com/google.ai.generativelanguage.v1beta.PredictLongRunningResponse"
VERTEX_TYPE = "type.googleapis.com/cloud.ai.large_models.vision.GenerateVideoResponse"
VERTEX_VERSIONS = ("v1", "v1beta1")
SIZES = {"16:9": (64, 36), "9:16": (36, 64)}  # tiny renders of the right orientation
RAI_REASON = (  # wording unverified
    "Unable to generate videos because the prompt violates Google's Responsible AI practices. "
    "You will not be charged for blocked videos. Support codes: 90789179"
)
FAILED = "Video generation failed due to an internal error. Please try again later."
NO_CALLER = (
    "Method doesn't allow unregistered callers (callers without established identity). "
    "Please use API Key or other form of API consumer identity to call this API."
)
NO_CREDENTIAL = (
    "Request is missing required authentication credential. Expected OAuth 2 access token, "
    "login cookie or other valid authentication credential."
)
BAD_TOKEN = "Request had invalid authentication credentials. Expected OAuth 2 access token."
BAD_KEY_DETAILS = [{"@type": "type.googleapis.com/google.rpc.ErrorInfo",
                    "reason": "API_KEY_INVALID", "domain": "googleapis.com"}]  # fmt: skip


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


_V31 = _Model((4, 6, 8), ("720p", "1080p"), 1, last_frame=True)
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
    if resolution == "1080p" and seconds != 8:
        _invalid("`resolution` 1080p needs `durationSeconds` 8.")
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
    return VeoRequest(model, prompt, seconds, aspect_ratio, samples or 1, seed, negative, image,
                      storage_uri)  # fmt: skip


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


@dataclass
class _Operation:
    name: str
    api: str  # "gemini" | "vertex"
    request: VeoRequest
    due: float
    outcome: str  # "ok" | "failed" | "filtered"
    files: list[str] = field(default_factory=list)
    video: Path | None = None


class VeoEmulator:
    def __init__(
        self, knobs: Knobs, data_dir: Path, base_url: str, clock: Callable[[], float],
        api_keys: Collection[str] | None, access_tokens: Collection[str] | None,
        safety_filter_rate: float, render_fps: int, hang_seconds: float,
    ) -> None:  # fmt: skip
        self.knobs, self.data_dir, self.base_url = knobs, data_dir, base_url.rstrip("/")
        self.clock, self.api_keys, self.access_tokens = clock, api_keys, access_tokens
        self.safety_filter_rate, self.render_fps = safety_filter_rate, render_fps
        self.hang_seconds = hang_seconds
        self.operations: dict[str, _Operation] = {}
        self.files: dict[str, _Operation] = {}
        self._render_lock = asyncio.Lock()

    async def gemini_submit(self, request: Request) -> Response:
        self._auth(request, vertex=False)
        model, action = _split(request.path_params["target"])
        if action != "predictLongRunning":
            _not_found(f"Method `{action}` is not found.")
        parsed = parse_request(model, await _body(request), api="gemini")
        return self._start(f"models/{model}/operations/{_short_id()}", "gemini", parsed)

    async def gemini_operation(self, request: Request) -> Response:
        self._auth(request, vertex=False)
        name = f"models/{request.path_params['model']}/operations/{request.path_params['op']}"
        operation = self.operations.get(name)
        if operation is None or operation.api != "gemini":
            _not_found()
        return JSONResponse(await self._view(operation))

    async def gemini_download(self, request: Request) -> Response:
        self._auth(request, vertex=False)
        file_id, action = _split(request.path_params["target"])
        operation = self.files.get(file_id)
        if action != "download" or operation is None or operation.video is None:
            _not_found()
        if request.query_params.get("alt") != "media":
            _invalid("Download requires `alt=media`.")
        if not request.url.path.startswith("/download/"):  # Google redirects (target unverified)
            target = f"{self.base_url}/download/v1beta/files/{file_id}:download?alt=media"
            return RedirectResponse(target, status_code=302)
        return FileResponse(operation.video, media_type="video/mp4")

    async def vertex(self, request: Request) -> Response:
        params = request.path_params
        if params["version"] not in VERTEX_VERSIONS:
            _not_found()
        self._auth(request, vertex=True)
        model, action = _split(params["target"])
        scope = ""
        if "project" in params:
            scope = f"projects/{params['project']}/locations/{params['location']}/"
        resource = f"{scope}publishers/google/models/{model}"
        body = await _body(request)
        if action == "predictLongRunning":
            parsed = parse_request(model, body, api="vertex")
            return self._start(f"{resource}/operations/{uuid.uuid4()}", "vertex", parsed)
        if action != "fetchPredictOperation":
            _not_found(f"Method `{action}` is not found.")
        name = body.get("operationName")
        if not isinstance(name, str) or not name.startswith(f"{resource}/operations/"):
            _invalid("`operationName` must name an operation of this model.")
        operation = self.operations.get(name)
        if operation is None or operation.api != "vertex":
            _not_found(f"Operation {name} not found.")
        return JSONResponse(await self._view(operation))

    def _auth(self, request: Request, *, vertex: bool) -> None:
        scheme, _, token = request.headers.get("authorization", "").partition(" ")
        if vertex and scheme.lower() == "bearer" and token:
            if self.access_tokens is not None and token not in self.access_tokens:
                raise ApiError(401, BAD_TOKEN, "UNAUTHENTICATED")
            return
        key = request.headers.get("x-goog-api-key") or request.query_params.get("key")
        if not key:
            if vertex:
                raise ApiError(401, NO_CREDENTIAL, "UNAUTHENTICATED")
            raise ApiError(403, NO_CALLER, "PERMISSION_DENIED")
        if self.api_keys is not None and key not in self.api_keys:
            message = "API key not valid. Please pass a valid API key."
            raise ApiError(400, message, "INVALID_ARGUMENT", BAD_KEY_DETAILS)

    def _start(self, name: str, api: str, request: VeoRequest) -> Response:
        outcome = "ok"
        if self.knobs.chance(self.knobs.fail_rate):
            outcome = "failed"
        elif self.knobs.chance(self.safety_filter_rate):
            outcome = "filtered"
        due = self.clock() + self.knobs.latency
        self.operations[name] = _Operation(name, api, request, due, outcome)
        return JSONResponse({"name": name})  # proto3 JSON leaves `done: false` out

    async def _view(self, operation: _Operation) -> Json:
        view: Json = {"name": operation.name, "done": self.clock() >= operation.due}
        if not view["done"]:
            return view
        samples = operation.request.samples
        if operation.outcome == "failed":
            view["error"] = {"code": 13, "message": FAILED}
            return view
        body: Json
        if operation.outcome == "filtered":
            body = {"raiMediaFilteredCount": samples, "raiMediaFilteredReasons": [RAI_REASON]}
        elif operation.api == "gemini":
            await self._render(operation)
            base = f"{self.base_url}/v1beta/files"
            body = {"generatedSamples": [{"video": {"uri": f"{base}/{file}:download?alt=media"}}
                                         for file in operation.files]}  # fmt: skip
        elif operation.request.storage_uri:
            op_id = operation.name.rpartition("/")[2]
            prefix = f"{operation.request.storage_uri.rstrip('/')}/{op_id}"
            body = {"videos": [{"gcsUri": f"{prefix}/sample_{n}.mp4", "mimeType": "video/mp4"}
                               for n in range(samples)]}  # fmt: skip
        else:
            video = await self._render(operation)
            data = base64.b64encode(await asyncio.to_thread(video.read_bytes)).decode()
            body = {"videos": [{"bytesBase64Encoded": data, "mimeType": "video/mp4"}] * samples}
        if operation.api == "gemini":
            view["response"] = {"@type": GEMINI_TYPE, "generateVideoResponse": body}
        else:
            view["response"] = {"@type": VERTEX_TYPE, **body}
        return view

    async def _render(self, operation: _Operation) -> Path:
        async with self._render_lock:
            if operation.video is None:
                request = operation.request
                width, height = SIZES[request.aspect_ratio]
                spec = RenderSpec(width, height, float(request.seconds), self.render_fps,
                                  request.prompt, request.seed, request.negative_prompt,
                                  request.image)  # fmt: skip
                dest = self.data_dir / f"veo_{secrets.token_hex(8)}.mp4"
                operation.video = (await asyncio.to_thread(render_video, spec, dest)).path
                if operation.api == "gemini":  # every sample is the same file here
                    operation.files = [_short_id() for _ in range(request.samples)]
                    self.files.update(dict.fromkeys(operation.files, operation))
            return operation.video

    async def fault(self) -> Response | None:
        """The fault `knobs` pick for this call, if any (after stalling, for "timeout")."""
        knobs = self.knobs
        if not knobs.error_kinds or not knobs.chance(knobs.error_rate):
            return None
        kind = knobs.rng.choice(knobs.error_kinds)
        if kind == "timeout":
            await asyncio.sleep(self.hang_seconds)
            message = "Deadline expired before operation could complete."
            return ApiError(504, message, "DEADLINE_EXCEEDED").response()
        if kind == "429":
            retry = {"@type": "type.googleapis.com/google.rpc.RetryInfo",
                     "retryDelay": f"{knobs.retry_after}s"}  # fmt: skip
            message = "Resource has been exhausted (e.g. check quota)."
            error = ApiError(429, message, "RESOURCE_EXHAUSTED", [retry])
            return error.response({"Retry-After": str(knobs.retry_after)})  # header unverified
        if kind == "4xx":
            message = "Request contains an invalid argument."
            return ApiError(400, message, "INVALID_ARGUMENT").response()
        message = "The model is overloaded. Please try again later."
        return ApiError(503, message, "UNAVAILABLE").response()


def _split(target: str) -> tuple[str, str]:
    resource, _, action = target.rpartition(":")
    if not resource:
        _not_found()
    return resource, action


def _short_id() -> str:
    return "".join(secrets.choice("abcdefghijklmnopqrstuvwxyz0123456789") for _ in range(12))


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


def create_app(
    knobs: Knobs,
    *,
    data_dir: Path,
    base_url: str,
    clock: Callable[[], float] = time.time,
    api_keys: Collection[str] | None = None,
    access_tokens: Collection[str] | None = None,
    safety_filter_rate: float = 0.0,
    render_fps: int = 8,
    hang_seconds: float = 30.0,
) -> Starlette:
    """The emulator; `api_keys`/`access_tokens` None accept any non-empty credential.

    `base_url` is where clients reach this app (it goes into the files-API video URIs);
    `safety_filter_rate` is the chance a finished job is RAI-filtered; `hang_seconds` is how
    long a "timeout" fault stalls before answering 504. `app.state.emulator` is the state.
    """
    data_dir.mkdir(parents=True, exist_ok=True)
    emulator = VeoEmulator(knobs, data_dir, base_url, clock, api_keys, access_tokens,
                           safety_filter_rate, render_fps, hang_seconds)  # fmt: skip

    def endpoint(handler: Callable[[Request], Awaitable[Response]]) -> Callable[..., Any]:
        async def wrapped(request: Request) -> Response:
            try:
                return await emulator.fault() or await handler(request)
            except ApiError as error:
                return error.response()

        return wrapped

    models = "publishers/google/models/{target}"
    app = Starlette(
        routes=[
            Route("/v1beta/models/{target}", endpoint(emulator.gemini_submit), methods=["POST"]),
            Route("/v1beta/models/{model}/operations/{op}", endpoint(emulator.gemini_operation)),
            Route("/v1beta/files/{target}", endpoint(emulator.gemini_download)),
            Route("/download/v1beta/files/{target}", endpoint(emulator.gemini_download)),
            Route(
                f"/{{version}}/projects/{{project}}/locations/{{location}}/{models}",
                endpoint(emulator.vertex),
                methods=["POST"],
            ),
            Route(f"/{{version}}/{models}", endpoint(emulator.vertex), methods=["POST"]),
        ]
    )
    app.state.emulator = emulator
    return app
