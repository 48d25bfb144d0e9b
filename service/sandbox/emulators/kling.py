"""A faithful local stand-in for Kling's official video API (`api-singapore.klingai.com`).

- Every call needs `Authorization: Bearer <JWT>` (HS256, `iss` = access key, `exp`/`nbf`,
  signed with the secret key), checked against the emulator's `clock` (`kling_rules`).
- `POST /v1/videos/text2video|image2video` checks the inputs at once and answers
  `{code: 0, message, request_id, data: {task_id, task_status: submitted, task_info:
  {external_task_id}, created_at, updated_at}}` (ms). An `external_task_id` already used is
  refused (1201). Errors carry Kling's business code and its HTTP status (1000-1004 → 401 …).
- `GET /v1/videos/{kind}/{id}` (a task id or an `external_task_id`) walks submitted →
  processing (25 % of `knobs.latency`) → succeed with `task_result.videos[{id, url,
  duration}]`, or failed with `task_status_msg`. The video URL serves a real MP4 (rendered in a
  thread at a tiny size) without auth, like Kling's CDN links (expiry not emulated).
- Callbacks: the task object is POSTed, unsigned, to `callback_url` when the task starts
  processing and when it ends (through the shared `webhook_*` knobs).

Unverified: whether a `submitted` callback is also sent, the callback retry policy (none here),
querying by `external_task_id` through the same path segment, the duplicate-id code (1201),
the answer for unknown tasks (404 + 1203), a Retry-After header on 1302, failure messages.
"""

from __future__ import annotations

import asyncio
import json
import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import httpx
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import FileResponse, Response
from starlette.routing import Route

from service.media.render import RenderSpec
from service.sandbox.emulators.common import BackgroundTasks, emulator_app
from service.sandbox.emulators.kling_rules import (
    ERRORS,
    FAILURES,
    KINDS,
    Json,
    check_token,
    refusal,
    render_size,
    reply,
    settle,
)
from service.sandbox.emulators.knobs import Knobs
from service.sandbox.emulators.minimax_callbacks import CallbackSender
from service.sandbox.emulators.renders import render_once

__all__ = ["ERRORS", "FAILURES", "HANG", "QUEUE_SHARE", "KlingEmulator", "Task", "create_app"]

QUEUE_SHARE = 0.25  # share of the latency spent submitted
TICK = 0.02
HANG = 120.0
TERMINAL = ("succeed", "failed")


@dataclass
class Task:
    id: str
    kind: str
    input: Json
    submitted: float
    done_at: float
    failure: str | None = None
    status: str = "submitted"
    updated: float = 0.0
    video_id: str | None = None
    seconds: float = 0.0

    def phase(self, now: float) -> str:
        span = self.done_at - self.submitted
        return "submitted" if now < self.submitted + span * QUEUE_SHARE else "processing"


class KlingEmulator:
    """Kling's video API over in-memory tasks; the public methods are the endpoints."""

    def __init__(
        self,
        knobs: Knobs,
        data_dir: Path,
        base_url: str,
        keys: tuple[str, str] | None,
        clock: Callable[[], float],
        callbacks: CallbackSender,
        fps: int,
    ) -> None:
        self.knobs, self.data_dir, self.base_url = knobs, data_dir, base_url.rstrip("/")
        self.keys, self.clock, self.callbacks, self.fps = keys, clock, callbacks, fps
        self.tasks: dict[str, Task] = {}
        self.external: dict[str, Task] = {}
        self.background = BackgroundTasks()
        self._ids = int(clock() * 1000) % 10**12 * 10**6  # Kling ids are long digit strings

    async def aclose(self) -> None:
        await self.background.aclose()
        await self.callbacks.aclose()

    def _next_id(self) -> str:
        self._ids += 1 + self.knobs.rng.randrange(99_991)
        return str(self._ids)

    async def create(self, request: Request) -> Response:
        kind = request.url.path.rsplit("/", 1)[-1]
        if (refused := await self._gate(request)) is not None:
            return refused
        try:
            data = json.loads(await request.body() or b"{}")
        except ValueError:
            data = None
        if not isinstance(data, dict):
            return refusal(1200, "invalid request: the body is not a JSON object")
        settled = settle(kind, data)
        if isinstance(settled, str):
            return refusal(1201, settled)
        external = settled.get("external_task_id") or None
        if external is not None and external in self.external:
            return refusal(1201, f"invalid params: external_task_id {external!r} already exists")
        now = self.clock()
        task = Task(self._next_id(), kind, settled, now, now + self.knobs.finish_after())
        task.updated = now
        if self.knobs.chance(self.knobs.fail_rate):
            task.failure = self.knobs.rng.choice(FAILURES)
        self.tasks[task.id] = task
        if external is not None:
            self.external[external] = task
        self.background.spawn(self._run(task))
        fields = ("task_id", "task_status", "task_info", "created_at", "updated_at")
        return reply({key: self._report(task)[key] for key in fields})

    async def query(self, request: Request) -> Response:
        if (refused := await self._gate(request)) is not None:
            return refused
        kind, key = request.path_params["kind"], request.path_params["id"]
        if kind not in KINDS:
            return refusal(1202, f"invalid request method: /v1/videos/{kind}")
        task = self.tasks.get(key) or self.external.get(key)
        if task is None or task.kind != kind:
            return refusal(1203, f"task {key!r} does not exist")
        self._advance(task)
        return reply(self._report(task))

    async def video(self, request: Request) -> Response:
        name = request.path_params["name"]
        path = self.data_dir / name
        if not re.fullmatch(r"[\w-]+\.mp4", name) or not path.is_file():
            return Response("Not Found", status_code=404)
        return FileResponse(path, media_type="video/mp4")

    def _report(self, task: Task) -> Json:
        body: Json = {
            "task_id": task.id,
            "task_status": task.status,
            "task_status_msg": task.failure if task.status == "failed" else "",
            "task_info": {"external_task_id": task.input.get("external_task_id", "")},
            "created_at": int(task.submitted * 1000),
            "updated_at": int(task.updated * 1000),
        }
        if task.status == "succeed":
            url = f"{self.base_url}/videos/{task.video_id}.mp4"
            video = {"id": task.video_id, "url": url, "duration": f"{task.seconds:g}"}
            body["task_result"] = {"videos": [video]}
        return body

    async def _run(self, task: Task) -> None:
        if task.failure is None:
            await self._render(task)
        while task.status not in TERMINAL:
            self._advance(task)
            await asyncio.sleep(TICK)

    async def _render(self, task: Task) -> None:
        width, height = render_size(task.input["mode"], task.input["aspect_ratio"])
        seconds = float(task.input["duration"])
        prompt = task.input.get("prompt") or "Kling"
        seed, negative = self.knobs.rng.randrange(2**31), task.input.get("negative_prompt")
        spec = RenderSpec(width, height, seconds, self.fps, prompt, seed, negative)
        video_id = f"{task.id}-0"
        try:
            await render_once(spec, self.data_dir / f"{video_id}.mp4")
        except Exception as error:  # the emulated model crashed: the task fails
            task.failure = f"video generation failed: {error}"
            return
        task.video_id, task.seconds = video_id, seconds

    def _advance(self, task: Task) -> None:
        """Move the task to the status the clock says (called by pollers and by _run)."""
        if task.status in TERMINAL:
            return
        now = self.clock()
        status = task.phase(now)
        if now >= task.done_at and task.failure is not None:
            status = "failed"
        elif now >= task.done_at and task.video_id is not None:
            status = "succeed"
        if status == task.status:
            return
        # a task never skips processing, even when a poll comes late
        steps = ("processing", status) if task.status == "submitted" else (status,)
        for step in dict.fromkeys(steps):
            if step != task.status:
                task.status, task.updated = step, now
                url = task.input.get("callback_url")
                if isinstance(url, str) and url:
                    self.background.spawn(self.callbacks.deliver(url, self._report(task)))

    async def _gate(self, request: Request) -> Response | None:
        """The error knobs, then the JWT check."""
        knobs = self.knobs
        if knobs.chance(knobs.error_rate):
            kind = knobs.rng.choice(knobs.error_kinds)
            if kind == "timeout":
                await asyncio.sleep(HANG)  # the caller's timeout fires long before
            if kind == "http5xx":  # the edge in front of Kling, not Kling (unverified)
                return Response("<html><h1>502 Bad Gateway</h1></html>", 502)
            code, message = ERRORS.get(kind, ERRORS["5xx"])
            headers = {"Retry-After": str(knobs.retry_after)} if code == 1302 else None
            return refusal(code, message, headers)
        refused = check_token(request.headers.get("authorization", ""), self.keys, self.clock())
        return refusal(*refused) if refused else None


def create_app(
    knobs: Knobs,
    *,
    data_dir: Path,
    base_url: str = "https://api-singapore.klingai.com",
    access_key: str | None = None,
    secret_key: str | None = None,
    clock: Callable[[], float] = time.time,
    callback_client: httpx.AsyncClient | None = None,
    fps: int = 8,
) -> Starlette:
    """The emulator as an ASGI app; `app.state.emulator` is the KlingEmulator (aclose() it).
    With `access_key` and `secret_key` set only JWTs signed by that pair pass; else any
    well-formed HS256 JWT (its signature unchecked)."""
    data_dir.mkdir(parents=True, exist_ok=True)
    keys = (access_key, secret_key) if access_key and secret_key else None
    callbacks = CallbackSender(knobs, callback_client, 0.0)
    emu = KlingEmulator(knobs, data_dir, base_url, keys, clock, callbacks, fps)

    routes = [
        Route("/v1/videos/text2video", emu.create, methods=["POST"]),
        Route("/v1/videos/image2video", emu.create, methods=["POST"]),
        Route("/v1/videos/{kind}/{id}", emu.query, methods=["GET"]),
        Route("/videos/{name}", emu.video, methods=["GET"]),
    ]
    return emulator_app(emu, routes)
