"""Runway emulator: the tasks API (`api.dev.runwayml.com`, version 2024-11-06), real MP4s.

  POST   /v1/image_to_video, /v1/text_to_video  → {id}  (checked per model: `runway_rules`)
  GET    /v1/tasks/{id}                          → the task, discriminated by `status`
  DELETE /v1/tasks/{id}                          → 204: cancels a live task, deletes a done one
  GET    /_outputs/{id}/{file}.mp4?_jwt=…        → the MP4 (a presigned URL: no API key)

Every /v1 call needs `Authorization: Bearer <key>` (401 otherwise) and `X-Runway-Version:
2024-11-06` (400 otherwise). A task is PENDING (THROTTLED when `throttle_rate` picks it) for the
first tenth of `knobs.latency`, then RUNNING with `progress` 0–1, then SUCCEEDED with `output`
URLs, or FAILED (`knobs.fail_rate`, or `safety_rate` for a moderation failure) with `failure`
and `failureCode`. `Knobs` error kinds answer 400, 5xx (502), 429 with Retry-After, or hang
then 504. Runway sends no webhooks, so the webhook knobs do nothing. Wordings, failure codes
and credit prices are unverified.
"""

from __future__ import annotations

import asyncio
import secrets
import time
import uuid
from collections.abc import Awaitable, Callable, Collection
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import FileResponse, JSONResponse, Response
from starlette.routing import Route

from service.media.render import RenderSpec
from service.sandbox.emulators.knobs import Knobs
from service.sandbox.emulators.renders import render_once
from service.sandbox.emulators.runway_rules import (
    MODELS,
    ApiError,
    Json,
    RunwayRequest,
    parse_request,
)

__all__ = ["FAILURES", "MODELS", "VERSION", "RunwayEmulator", "RunwayRequest", "create_app"]

VERSION = "2024-11-06"
QUEUED_SHARE = 0.1  # the first tenth of the latency is PENDING/THROTTLED
FAILURES = {  # outcome → (failure, failureCode); codes after Runway's task-failures page
    "failed": ("An unexpected error occurred.", "INTERNAL.BAD_OUTPUT.CODE01"),
    "moderated": ("The prompt did not pass content moderation.", "SAFETY.INPUT.TEXT"),
}
NO_KEY = "No API key was provided. Pass it as `Authorization: Bearer <key>`."
BAD_KEY = "The API key you provided is incorrect."
NO_VERSION = "You must provide a valid X-Runway-Version header (for example 2024-11-06)."


@dataclass
class _Task:
    id: str
    request: RunwayRequest
    created: float
    due: float
    outcome: str  # ok | failed | moderated
    throttled: bool
    canceled: bool = False
    token: str = ""
    video: Path | None = None


class RunwayEmulator:
    def __init__(
        self,
        knobs: Knobs,
        data_dir: Path,
        base_url: str,
        clock: Callable[[], float],
        api_keys: Collection[str] | None,
        throttle_rate: float,
        safety_rate: float,
        render_fps: int,
        hang_seconds: float,
    ) -> None:
        self.knobs, self.data_dir, self.base_url = knobs, data_dir, base_url.rstrip("/")
        self.clock, self.api_keys = clock, api_keys
        self.throttle_rate, self.safety_rate = throttle_rate, safety_rate
        self.render_fps, self.hang_seconds = render_fps, hang_seconds
        self.tasks: dict[str, _Task] = {}
        self._render_lock = asyncio.Lock()

    async def create(self, request: Request) -> Response:
        endpoint = request.url.path.rsplit("/", 1)[-1]
        try:
            body = await request.json()
        except ValueError:
            raise ApiError(400, "Request body must be valid JSON.", []) from None
        parsed = parse_request(endpoint, body)
        outcome = "ok"
        if self.knobs.chance(self.knobs.fail_rate):
            outcome = "failed"
        elif self.knobs.chance(self.safety_rate):
            outcome = "moderated"
        now = self.clock()
        task = _Task(
            str(uuid.uuid4()),
            parsed,
            now,
            now + self.knobs.finish_after(),
            outcome,
            self.knobs.chance(self.throttle_rate),
        )
        self.tasks[task.id] = task
        return JSONResponse({"id": task.id})

    async def retrieve(self, request: Request) -> Response:
        return JSONResponse(await self._view(self._task(request)))

    async def delete(self, request: Request) -> Response:
        task = self._task(request)
        if task.canceled or self.clock() >= task.due:
            del self.tasks[task.id]  # a finished (or already cancelled) task is deleted
        else:
            task.canceled = True
        return Response(status_code=204)

    async def output(self, request: Request) -> Response:
        task = self.tasks.get(request.path_params["task"])
        if task is None or task.video is None or request.path_params["file"] != task.id:
            return Response("Not Found", status_code=404, media_type="text/plain")
        if request.query_params.get("_jwt") != task.token:  # CloudFront-style refusal
            return Response("Access denied", status_code=403, media_type="text/plain")
        return FileResponse(task.video, media_type="video/mp4")

    def authenticate(self, request: Request) -> None:
        scheme, _, key = request.headers.get("authorization", "").partition(" ")
        if scheme.lower() != "bearer" or not key.strip():
            raise ApiError(401, NO_KEY)
        if self.api_keys is not None and key.strip() not in self.api_keys:
            raise ApiError(401, BAD_KEY)
        if request.headers.get("x-runway-version") != VERSION:
            raise ApiError(400, NO_VERSION)

    def _task(self, request: Request) -> _Task:
        task = self.tasks.get(request.path_params["id"])
        if task is None:
            raise ApiError(404, "Task not found.")
        return task

    async def _view(self, task: _Task) -> Json:
        request, now = task.request, self.clock()
        created = datetime.fromtimestamp(task.created, UTC).isoformat(timespec="milliseconds")
        view: Json = {"id": task.id, "createdAt": created.replace("+00:00", "Z")}
        elapsed = (now - task.created) / max(self.knobs.latency, 1e-9)
        if task.canceled:
            return view | {"status": "CANCELLED", "cost": {"credits": 0}}
        if now < task.due:
            estimate = {"estimatedCost": {"credits": request.credits}}
            if elapsed < QUEUED_SHARE:
                return view | estimate | {"status": "THROTTLED" if task.throttled else "PENDING"}
            progress = round(min(0.99, (elapsed - QUEUED_SHARE) / (1 - QUEUED_SHARE)), 4)
            return view | estimate | {"status": "RUNNING", "progress": progress}
        if task.outcome != "ok":
            failure, code = FAILURES[task.outcome]
            return view | {
                "status": "FAILED",
                "failure": failure,
                "failureCode": code,
                "cost": {"credits": 0},
            }
        await self._render(task)
        url = f"{self.base_url}/_outputs/{task.id}/{task.id}.mp4?_jwt={task.token}"
        return view | {"status": "SUCCEEDED", "output": [url], "cost": {"credits": request.credits}}

    async def _render(self, task: _Task) -> Path:
        async with self._render_lock:
            if task.video is None:
                request = task.request
                width, height = tiny_size(request.ratio)
                spec = RenderSpec(
                    width,
                    height,
                    float(request.seconds),
                    self.render_fps,
                    request.prompt,
                    request.seed,
                    None,
                    request.image,
                )
                dest = self.data_dir / f"runway_{task.id}.mp4"
                task.video = await render_once(spec, dest)
                task.token = secrets.token_urlsafe(16)  # presigned; Runway's expire in 24-48 h
            return task.video

    async def fault(self) -> Response | None:
        """The fault `knobs` pick for this call, if any (after stalling, for "timeout")."""
        knobs = self.knobs
        if not knobs.error_kinds or not knobs.chance(knobs.error_rate):
            return None
        kind = knobs.rng.choice(knobs.error_kinds)
        if kind == "timeout":
            await asyncio.sleep(self.hang_seconds)
            return ApiError(504, "Runway is overloaded; try again later.").response()
        if kind == "429":
            headers = {"Retry-After": str(knobs.retry_after)}
            return ApiError(429, "You have exceeded your rate limit.").response(headers)
        if kind == "4xx":
            return ApiError(400, "Invalid request.", []).response()
        return ApiError(502, "Runway is shedding load; try again later.").response()


def tiny_size(ratio: str) -> tuple[int, int]:
    """A small even render size of `ratio` ("W:H"): the long side 64 px, the short ≥ 16."""
    width, height = (int(side) for side in ratio.split(":"))
    scale = 64 / max(width, height)

    def even(side: int) -> int:
        return max(16, round(side * scale / 2) * 2)

    return even(width), even(height)


def create_app(
    knobs: Knobs,
    *,
    data_dir: Path,
    base_url: str = "https://api.dev.runwayml.com",
    clock: Callable[[], float] = time.time,
    api_keys: Collection[str] | None = None,
    throttle_rate: float = 0.0,
    safety_rate: float = 0.0,
    render_fps: int = 8,
    hang_seconds: float = 30.0,
) -> Starlette:
    """The emulator; `api_keys` None accepts any non-empty key.

    `base_url` is where clients reach this app, without `/v1` (the output URLs start with it);
    `throttle_rate` is the chance a task shows THROTTLED instead of PENDING while queued,
    `safety_rate` the chance a task fails moderation; `hang_seconds` is how long a "timeout"
    fault stalls before answering 504. `app.state.emulator` is the state.
    """
    data_dir.mkdir(parents=True, exist_ok=True)
    emulator = RunwayEmulator(
        knobs,
        data_dir,
        base_url,
        clock,
        api_keys,
        throttle_rate,
        safety_rate,
        render_fps,
        hang_seconds,
    )

    def endpoint(handler: Callable[[Request], Awaitable[Response]]) -> Callable[..., Any]:
        async def wrapped(request: Request) -> Response:
            try:
                emulator.authenticate(request)
                return await emulator.fault() or await handler(request)
            except ApiError as error:
                return error.response()

        return wrapped

    routes = [Route(f"/v1/{name}", endpoint(emulator.create), methods=["POST"]) for name in MODELS]
    app = Starlette(
        routes=[
            *routes,
            Route("/v1/tasks/{id}", endpoint(emulator.retrieve), methods=["GET"]),
            Route("/v1/tasks/{id}", endpoint(emulator.delete), methods=["DELETE"]),
            Route("/_outputs/{task}/{file}.mp4", emulator.output, methods=["GET"]),
        ]
    )
    app.state.emulator = emulator
    return app
