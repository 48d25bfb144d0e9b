"""Seedance emulator: BytePlus ModelArk / Volcengine Ark content generation tasks, real MP4s.

  POST   /api/v3/contents/generations/tasks       → {id: "cgt-…"}  (checked: `seedance_rules`)
  GET    /api/v3/contents/generations/tasks/{id}  → the task
  DELETE /api/v3/contents/generations/tasks/{id}  → {}: cancels a queued task, deletes a
                                                    finished one; a running or cancelled task
                                                    answers 400 (it cannot be stopped)
  GET    /_outputs/{id}.mp4?token=…               → the MP4 (signed URL, no API key; 24 h)

Every /api/v3 call needs `Authorization: Bearer <key>` (401 otherwise). A task is `queued` for
the first tenth of `knobs.latency`, then `running` (Ark reports no progress), then `succeeded`
with `content.video_url`, or `failed` (`knobs.fail_rate`; `safety_rate` for a moderation
failure) with `error{code, message}`; 7 days after creation it shows `expired`. `Knobs` error
kinds answer 400, 500, 429 (with Retry-After), or hang then 504. `callback_url` is accepted
and stored but no callback is delivered (its body and authentication are undocumented in what
we read). Unverified: error codes and wordings, the DELETE answer body and the error for a
running task, token counts, and the URL-expiry mechanism.
"""

from __future__ import annotations

import asyncio
import secrets
import time
from collections.abc import Awaitable, Callable, Collection
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import FileResponse, JSONResponse, Response
from starlette.routing import Route

from service.media.render import RenderSpec
from service.sandbox.emulators.knobs import Knobs
from service.sandbox.emulators.renders import render_once
from service.sandbox.emulators.seedance_rules import ApiError, Json, SeedanceRequest, parse_request

__all__ = ["FAILURES", "SeedanceEmulator", "create_app", "tiny_size"]

QUEUED_SHARE = 0.1
URL_LIFETIME = 24 * 3600.0
RECORD_LIFETIME = 7 * 24 * 3600.0
FAILURES = {  # outcome → (code, message)
    "failed": ("InternalServiceError", "The service encountered an unexpected internal error."),
    "moderated": (
        "OutputVideoSensitiveContentDetected",
        "The request failed because the output video may contain sensitive information.",
    ),
}
TASKS = "/api/v3/contents/generations/tasks"


@dataclass
class _Task:
    id: str
    request: SeedanceRequest
    created: float
    due: float
    outcome: str  # ok | failed | moderated
    canceled_at: float | None = None
    token: str = ""
    video: Path | None = None


class SeedanceEmulator:
    def __init__(
        self,
        knobs: Knobs,
        data_dir: Path,
        base_url: str,
        clock: Callable[[], float],
        api_keys: Collection[str] | None,
        safety_rate: float,
        render_fps: int,
        hang_seconds: float,
    ) -> None:
        self.knobs, self.data_dir, self.base_url = knobs, data_dir, base_url.rstrip("/")
        self.clock, self.api_keys, self.safety_rate = clock, api_keys, safety_rate
        self.render_fps, self.hang_seconds = render_fps, hang_seconds
        self.tasks: dict[str, _Task] = {}
        self._render_lock = asyncio.Lock()

    async def create(self, request: Request) -> Response:
        try:
            body = await request.json()
        except ValueError:
            raise ApiError(400, "InvalidParameter", "The request body is not valid JSON.") from None
        parsed = parse_request(body)
        outcome = "ok"
        if self.knobs.chance(self.knobs.fail_rate):
            outcome = "failed"
        elif self.knobs.chance(self.safety_rate):
            outcome = "moderated"
        now = self.clock()
        stamp = time.strftime("%Y%m%d%H%M%S", time.gmtime(now))
        task_id = f"cgt-{stamp}-{secrets.token_hex(3)[:5]}"
        self.tasks[task_id] = _Task(task_id, parsed, now, now + self.knobs.finish_after(), outcome)
        return JSONResponse({"id": task_id})

    async def retrieve(self, request: Request) -> Response:
        return JSONResponse(await self._view(self._task(request)))

    async def delete(self, request: Request) -> Response:
        task = self._task(request)
        status = self._status(task)
        if status == "queued":
            task.canceled_at = self.clock()
        elif status in ("running", "cancelled"):
            raise ApiError(
                400,
                "InvalidParameter",
                f"The task {task.id} is {status} and cannot be cancelled or deleted.",
                "id",
            )
        else:
            del self.tasks[task.id]
        return JSONResponse({})

    async def output(self, request: Request) -> Response:
        task = self.tasks.get(request.path_params["id"])
        if task is None or task.video is None:
            return Response("Not Found", status_code=404, media_type="text/plain")
        if request.query_params.get("token") != task.token:
            return Response("AccessDenied", status_code=403, media_type="text/plain")
        if self.clock() > task.due + URL_LIFETIME:
            return Response("Request has expired", status_code=403, media_type="text/plain")
        return FileResponse(task.video, media_type="video/mp4")

    def authenticate(self, request: Request) -> None:
        scheme, _, key = request.headers.get("authorization", "").partition(" ")
        if scheme.lower() != "bearer" or not key.strip():
            raise ApiError(401, "AuthenticationError", "The API key is missing.")
        if self.api_keys is not None and key.strip() not in self.api_keys:
            raise ApiError(
                401, "AuthenticationError", "The API key in the request is missing or invalid."
            )

    def _task(self, request: Request) -> _Task:
        task = self.tasks.get(request.path_params["id"])
        if task is None:
            raise ApiError(
                404,
                "ResourceNotFound",
                f"The specified task {request.path_params['id']} is not found.",
                "id",
            )
        return task

    def _status(self, task: _Task) -> str:
        now = self.clock()
        if now - task.created > RECORD_LIFETIME:
            return "expired"
        if task.canceled_at is not None:
            return "cancelled"
        if now < task.due:
            elapsed = (now - task.created) / max(self.knobs.latency, 1e-9)
            return "queued" if elapsed < QUEUED_SHARE else "running"
        return "succeeded" if task.outcome == "ok" else "failed"

    async def _view(self, task: _Task) -> Json:
        request, status = task.request, self._status(task)
        updated = min(self.clock(), task.canceled_at or task.due)
        view: Json = {
            "id": task.id,
            "model": request.model,
            "status": status,
            "created_at": int(task.created),
            "updated_at": int(updated),
        }
        if status == "failed":
            code, message = FAILURES[task.outcome]
            return view | {"error": {"code": code, "message": message}}
        if status != "succeeded":
            return view
        await self._render(task)
        tokens = round(tiny_tokens(request))
        url = f"{self.base_url}/_outputs/{task.id}.mp4?token={task.token}"
        seed = request.seed if request.seed >= 0 else int(task.created) % 100_000
        return view | {
            "content": {"video_url": url},
            "usage": {"completion_tokens": tokens, "total_tokens": tokens},
            "seed": seed,
            "resolution": request.resolution,
            "ratio": request.ratio,
            "duration": request.duration,
            "framespersecond": 24,
        }

    async def _render(self, task: _Task) -> Path:
        async with self._render_lock:
            if task.video is None:
                request = task.request
                width, height = tiny_size(request.ratio)
                image = next((data for role, data, _ in request.images if data), None)
                seed = None if request.seed < 0 else request.seed
                spec = RenderSpec(
                    width,
                    height,
                    float(request.duration),
                    self.render_fps,
                    request.prompt,
                    seed,
                    None,
                    image,
                )
                dest = self.data_dir / f"seedance_{task.id}.mp4"
                task.video = await render_once(spec, dest)
                task.token = secrets.token_urlsafe(16)
            return task.video

    async def fault(self) -> Response | None:
        """The fault `knobs` pick for this call, if any (after stalling, for "timeout")."""
        knobs = self.knobs
        if not knobs.error_kinds or not knobs.chance(knobs.error_rate):
            return None
        kind = knobs.rng.choice(knobs.error_kinds)
        if kind == "timeout":
            await asyncio.sleep(self.hang_seconds)
            return ApiError(504, "RequestTimeout", "The request timed out.").response()
        if kind == "429":
            return ApiError(
                429,
                "RateLimitExceeded.EndpointRPMExceeded",
                "The request rate has exceeded the limit.",
            ).response({"Retry-After": str(knobs.retry_after)})
        if kind == "4xx":
            return ApiError(400, "InvalidParameter", "The request is not valid.").response()
        return ApiError(500, *FAILURES["failed"]).response()


def tiny_size(ratio: str) -> tuple[int, int]:
    """A small even render size of `ratio` ("W:H"; adaptive renders 16:9): long side 64 px."""
    width, height = (int(side) for side in ("16:9" if ratio == "adaptive" else ratio).split(":"))
    scale = 64 / max(width, height)
    return max(16, round(width * scale / 2) * 2), max(16, round(height * scale / 2) * 2)


def tiny_tokens(request: SeedanceRequest) -> float:
    """Ark bills (width × height × fps × seconds) / 1024 tokens at the *real* size (unverified)."""
    pixels = {"480p": 864 * 480, "720p": 1280 * 720, "1080p": 1920 * 1080}[request.resolution]
    return pixels * 24 * request.duration / 1024


def create_app(
    knobs: Knobs,
    *,
    data_dir: Path,
    base_url: str = "https://ark.ap-southeast.bytepluses.com",
    clock: Callable[[], float] = time.time,
    api_keys: Collection[str] | None = None,
    safety_rate: float = 0.0,
    render_fps: int = 8,
    hang_seconds: float = 30.0,
) -> Starlette:
    """The emulator; `api_keys` None accepts any non-empty key.

    `base_url` is where clients reach this app, without `/api/v3` (output URLs start with it);
    `safety_rate` is the chance a task fails moderation; `hang_seconds` is how long a "timeout"
    fault stalls before answering 504. `app.state.emulator` is the state.
    """
    data_dir.mkdir(parents=True, exist_ok=True)
    emulator = SeedanceEmulator(
        knobs, data_dir, base_url, clock, api_keys, safety_rate, render_fps, hang_seconds
    )

    def endpoint(handler: Callable[[Request], Awaitable[Response]]) -> Callable[..., Any]:
        async def wrapped(request: Request) -> Response:
            try:
                emulator.authenticate(request)
                return await emulator.fault() or await handler(request)
            except ApiError as error:
                return error.response()

        return wrapped

    app = Starlette(
        routes=[
            Route(TASKS, endpoint(emulator.create), methods=["POST"]),
            Route(TASKS + "/{id}", endpoint(emulator.retrieve), methods=["GET"]),
            Route(TASKS + "/{id}", endpoint(emulator.delete), methods=["DELETE"]),
            Route("/_outputs/{id}.mp4", emulator.output, methods=["GET"]),
        ]
    )
    app.state.emulator = emulator
    return app
