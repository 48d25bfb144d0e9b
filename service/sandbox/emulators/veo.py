"""Google Veo emulator: the Gemini API and Vertex AI long-running video calls, real MP4s.

Gemini API (API key in `x-goog-api-key` or `?key=`):
  POST /v1beta/models/{model}:predictLongRunning   → {name: "models/{model}/operations/{id}"}
  GET  /v1beta/models/{model}/operations/{id}       → the operation
  GET  /v1beta/files/{id}:download?alt=media        → 302 to /download/v1beta/files/…, the MP4
                                                      (both need the key as well)
Vertex AI (`Authorization: Bearer`, or an API key in express mode), version v1 or v1beta1:
  POST …/publishers/google/models/{model}:predictLongRunning and :fetchPredictOperation,
  with or without `projects/{p}/locations/{l}/` (see `veo_vertex`).

Requests are checked per model (`MODELS` in `veo_rules`: durations, resolutions, sample counts,
which parameters each API takes) and refused with Google's 400 INVALID_ARGUMENT naming the field.
`Knobs` drive latency, failures (`error` operations) and API faults; `safety_filter_rate`
makes finished operations come back RAI-filtered (no samples). Veo sends no webhooks, so the
webhook knobs do nothing here. Choices Google does not document are marked "unverified".
"""

from __future__ import annotations

import asyncio
import secrets
import time
from collections.abc import Awaitable, Callable, Collection
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import FileResponse, JSONResponse, RedirectResponse, Response
from starlette.routing import Route

from service.media.render import RenderSpec
from service.sandbox.emulators.knobs import Knobs
from service.sandbox.emulators.renders import render_once
from service.sandbox.emulators.veo_rules import (
    ASPECT_RATIOS,
    GEMINI_PARAMETERS,
    IMAGE_TYPES,
    MODELS,
    PERSON_GENERATION,
    VERTEX_PARAMETERS,
    ApiError,
    Json,
    VeoRequest,
    _body,
    _invalid,
    _not_found,
    _split,
    parse_request,
)
from service.sandbox.emulators.veo_vertex import VERTEX_TYPE, VERTEX_VERSIONS, VertexEndpoint

__all__ = [
    "ASPECT_RATIOS",
    "BAD_KEY_DETAILS",
    "BAD_TOKEN",
    "FAILED",
    "GEMINI_PARAMETERS",
    "GEMINI_TYPE",
    "IMAGE_TYPES",
    "MODELS",
    "NO_CALLER",
    "NO_CREDENTIAL",
    "PERSON_GENERATION",
    "RAI_REASON",
    "SIZES",
    "VERTEX_PARAMETERS",
    "VERTEX_TYPE",
    "VERTEX_VERSIONS",
    "ApiError",
    "Json",
    "VeoEmulator",
    "VeoRequest",
    "VertexEndpoint",
    "create_app",
    "parse_request",
]

GEMINI_TYPE = "type.googleapis.com/google.ai.generativelanguage.v1beta.PredictLongRunningResponse"
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
BAD_KEY_DETAILS = [
    {
        "@type": "type.googleapis.com/google.rpc.ErrorInfo",
        "reason": "API_KEY_INVALID",
        "domain": "googleapis.com",
    }
]


@dataclass
class _Operation:
    name: str
    api: str  # "gemini" | "vertex"
    request: VeoRequest
    due: float
    outcome: str  # "ok" | "failed" | "filtered"
    files: list[str] = field(default_factory=list)
    video: Path | None = None


class VeoEmulator(VertexEndpoint):
    def __init__(
        self,
        knobs: Knobs,
        data_dir: Path,
        base_url: str,
        clock: Callable[[], float],
        api_keys: Collection[str] | None,
        access_tokens: Collection[str] | None,
        safety_filter_rate: float,
        render_fps: int,
        hang_seconds: float,
    ) -> None:
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
        route = request.scope["path"].removeprefix(request.scope.get("root_path", ""))
        if not route.startswith("/download/"):  # Google redirects (target unverified)
            target = f"{self.base_url}/download/v1beta/files/{file_id}:download?alt=media"
            return RedirectResponse(target, status_code=302)
        return FileResponse(operation.video, media_type="video/mp4")

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
        due = self.clock() + self.knobs.finish_after()
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
            body = {
                "generatedSamples": [
                    {"video": {"uri": f"{base}/{file}:download?alt=media"}}
                    for file in operation.files
                ]
            }
        else:
            body = await self._vertex_videos(operation)
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
                spec = RenderSpec(
                    width,
                    height,
                    float(request.seconds),
                    self.render_fps,
                    request.prompt,
                    request.seed,
                    request.negative_prompt,
                    request.image,
                )
                dest = self.data_dir / f"veo_{secrets.token_hex(8)}.mp4"
                operation.video = await render_once(spec, dest)
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
            retry = {
                "@type": "type.googleapis.com/google.rpc.RetryInfo",
                "retryDelay": f"{knobs.retry_after}s",
            }
            message = "Resource has been exhausted (e.g. check quota)."
            error = ApiError(429, message, "RESOURCE_EXHAUSTED", [retry])
            return error.response({"Retry-After": str(knobs.retry_after)})  # header unverified
        if kind == "4xx":
            message = "Request contains an invalid argument."
            return ApiError(400, message, "INVALID_ARGUMENT").response()
        message = "The model is overloaded. Please try again later."
        return ApiError(503, message, "UNAVAILABLE").response()


def _short_id() -> str:
    return "".join(secrets.choice("abcdefghijklmnopqrstuvwxyz0123456789") for _ in range(12))


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
    emulator = VeoEmulator(
        knobs,
        data_dir,
        base_url,
        clock,
        api_keys,
        access_tokens,
        safety_filter_rate,
        render_fps,
        hang_seconds,
    )

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
