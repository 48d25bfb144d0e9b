"""A faithful local stand-in for MiniMax's direct Hailuo video API (`api.minimax.io`).

- `POST /v1/video_generation` checks the per-model rules at once (`minimax_rules`) and answers
  `{task_id, base_resp}`; like MiniMax, errors are HTTP 200 with a non-zero `base_resp`
  (1002 rate limit, 1004 auth, 1008 balance, 2013 invalid params …).
- `GET /v1/query/video_generation?task_id=` walks Preparing → Queueing → Processing over
  `knobs.latency` on `clock` (10 % / 25 % marks), then Success with a `file_id` (or Fail).
- `GET /v1/files/retrieve?file_id=` → `{file: {file_id, bytes, filename, download_url, …}}`;
  `download_url` serves the real MP4 (rendered in a thread at 1/16 of the nominal size; the
  query still reports MiniMax's nominal `video_width`/`video_height`). Download links need no
  key, like MiniMax's signed CDN links (their expiry is not emulated).
- Callbacks (`minimax_callbacks`): the challenge handshake, then unsigned pushes when a task
  starts Processing and when it ends.

Unverified (not checkable at MiniMax's source): answers for unknown task/file ids (2013
here), the Fail base_resp, the file id types (string in the query, integer in the file).
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
from service.sandbox.emulators.knobs import Knobs
from service.sandbox.emulators.minimax_callbacks import (
    CHALLENGE_TIMEOUT,
    REORDER_HOLD,
    CallbackSender,
)
from service.sandbox.emulators.minimax_rules import (
    ERRORS,
    FAILURES,
    MODELS,
    NOMINAL,
    OK,
    Json,
    base_resp,
    refusal,
    render_size,
    reply,
    settle,
)
from service.sandbox.emulators.renders import render_once

__all__ = [
    "CHALLENGE_TIMEOUT",
    "ERRORS",
    "FAILURES",
    "HANG",
    "MODELS",
    "PREPARE_SHARE",
    "QUEUE_SHARE",
    "REORDER_HOLD",
    "TICK",
    "MiniMaxEmulator",
    "Task",
    "create_app",
]

PREPARE_SHARE, QUEUE_SHARE = 0.1, 0.25  # shares of the latency spent Preparing / until Processing
TICK = 0.02  # seconds between clock checks of a running task
HANG = 120.0  # how long a "timeout" error keeps the caller waiting
TERMINAL = ("Success", "Fail")


@dataclass
class Task:
    id: str
    input: Json  # the request, with MiniMax's defaults
    submitted: float
    done_at: float
    failure: tuple[int, str] | None = None  # the Fail's base_resp, when it fails
    status: str = "Preparing"
    file_id: int | None = None
    rendered: bool = False
    verified: asyncio.Task[bool] | None = None  # the callback handshake, if a callback_url

    def phase(self, now: float) -> str:
        span = self.done_at - self.submitted
        if now < self.submitted + span * PREPARE_SHARE:
            return "Preparing"
        return "Queueing" if now < self.submitted + span * QUEUE_SHARE else "Processing"


class MiniMaxEmulator:
    """MiniMax's video API over in-memory tasks; the public methods are the endpoints."""

    def __init__(
        self,
        knobs: Knobs,
        data_dir: Path,
        base_url: str,
        api_key: str | None,
        clock: Callable[[], float],
        callbacks: CallbackSender,
        fps: int,
    ) -> None:
        self.knobs, self.data_dir, self.base_url = knobs, data_dir, base_url.rstrip("/")
        self.api_key, self.clock, self.callbacks, self.fps = api_key, clock, callbacks, fps
        self.tasks: dict[str, Task] = {}
        self.files: dict[int, Task] = {}
        self.background = BackgroundTasks()
        self._ids = int(clock() * 1000) % 10**12 * 1000  # MiniMax ids are long digit strings

    async def aclose(self) -> None:
        await self.background.aclose()
        await self.callbacks.aclose()

    def _next_id(self) -> int:
        self._ids += 1 + self.knobs.rng.randrange(997)
        return self._ids

    async def submit(self, request: Request) -> Response:
        if (refused := await self._gate(request)) is not None:
            return refused
        try:
            data = json.loads(await request.body() or b"{}")
        except ValueError:
            data = None
        if not isinstance(data, dict):
            return refusal(2013, "invalid params, the body is not a JSON object", task_id="")
        settled = settle(data)
        if isinstance(settled, str):
            return refusal(2013, settled, task_id="")
        now = self.clock()
        task = Task(str(self._next_id()), settled, now, now + self.knobs.finish_after())
        if self.knobs.chance(self.knobs.fail_rate):
            task.failure = self.knobs.rng.choice(FAILURES)
        self.tasks[task.id] = task
        if isinstance(url := settled.get("callback_url"), str) and url:
            task.verified = self.background.spawn(self.callbacks.verify(url))
        self.background.spawn(self._run(task))
        return reply({"task_id": task.id, "base_resp": OK})

    async def query(self, request: Request) -> Response:
        if (refused := await self._gate(request)) is not None:
            return refused
        task = self.tasks.get(request.query_params.get("task_id", ""))
        if task is None:
            return refusal(2013, "invalid params, task not found")
        self._advance(task)
        return reply(self._report(task))

    async def retrieve(self, request: Request) -> Response:
        if (refused := await self._gate(request)) is not None:
            return refused
        raw = request.query_params.get("file_id", "")
        task = self.files.get(int(raw)) if raw.isdigit() else None
        if task is None or task.file_id is None:
            return refusal(2013, "invalid params, file not found")
        path = self.data_dir / f"{task.file_id}.mp4"
        file = {
            "file_id": task.file_id,
            "bytes": path.stat().st_size,
            "created_at": int(task.done_at),
            "filename": "output.mp4",
            "purpose": "video_generation",
            "download_url": f"{self.base_url}/download/{task.file_id}.mp4",
        }
        return reply({"file": file, "base_resp": OK})

    async def download(self, request: Request) -> Response:
        name = request.path_params["name"]
        path = self.data_dir / name
        if not re.fullmatch(r"\d+\.mp4", name) or not path.is_file():
            return Response("Not Found", status_code=404)
        return FileResponse(path, media_type="video/mp4")

    def _report(self, task: Task) -> Json:
        body: Json = {"task_id": task.id, "status": task.status, "file_id": "", "base_resp": OK}
        if task.status == "Success":
            width, height = NOMINAL.get(task.input["resolution"], NOMINAL["768P"])
            body.update(file_id=str(task.file_id), video_width=width, video_height=height)
        elif task.status == "Fail" and task.failure is not None:
            body["base_resp"] = base_resp(*task.failure)
        return body

    async def _run(self, task: Task) -> None:
        if task.failure is None:
            await self._render(task)
        while task.status not in TERMINAL:
            self._advance(task)
            await asyncio.sleep(TICK)

    async def _render(self, task: Task) -> None:
        width, height = render_size(task.input["resolution"])
        # MiniMax takes no seed: the same prompt renders the same video (and is rendered once).
        prompt = task.input.get("prompt") or "MiniMax Hailuo"
        spec = RenderSpec(width, height, task.input["duration"], self.fps, prompt)
        file_id = self._next_id()
        try:
            await render_once(spec, self.data_dir / f"{file_id}.mp4")
        except Exception as error:  # the emulated model crashed: the task fails
            task.failure = (1000, f"video generation failed: {error}")
            return
        task.file_id, task.rendered = file_id, True

    def _advance(self, task: Task) -> None:
        """Move the task to the status the clock says (called by pollers and by _run)."""
        if task.status in TERMINAL:
            return
        now, status = self.clock(), task.phase(self.clock())
        if now >= task.done_at and task.failure is not None:
            status = "Fail"
        elif now >= task.done_at and task.rendered:
            status = "Success"
            self.files[task.file_id or 0] = task
        if status != task.status:
            task.status = status
            if status in ("Processing", *TERMINAL) and task.verified is not None:
                self.background.spawn(self._push(task, self._report(task)))

    async def _push(self, task: Task, body: Json) -> None:
        body = {key: body[key] for key in ("task_id", "status", "file_id", "base_resp")}
        if task.verified is not None and await asyncio.shield(task.verified):
            await self.callbacks.deliver(task.input["callback_url"], body)

    async def _gate(self, request: Request) -> Response | None:
        """The error knobs, then MiniMax's Bearer-key check (both HTTP 200 + base_resp)."""
        knobs = self.knobs
        if knobs.chance(knobs.error_rate):
            kind = knobs.rng.choice(knobs.error_kinds)
            if kind == "timeout":
                await asyncio.sleep(HANG)  # the caller's timeout fires long before
            status, code, message = ERRORS.get(kind, ERRORS["5xx"])
            if status == 200:
                return refusal(code, message)
            headers = {"Retry-After": str(knobs.retry_after)} if status == 429 else None
            return Response(f"<html><h1>{status} {message}</h1></html>", status, headers)
        scheme, _, key = request.headers.get("authorization", "").partition(" ")
        if scheme != "Bearer" or not key.strip():
            return refusal(*ERRORS["auth"][1:])
        if self.api_key is not None and key.strip() != self.api_key:
            return refusal(2049, "invalid api key")
        return None


def create_app(
    knobs: Knobs,
    *,
    data_dir: Path,
    base_url: str = "https://api.minimax.io",
    api_key: str | None = None,
    clock: Callable[[], float] = time.time,
    callback_client: httpx.AsyncClient | None = None,
    challenge_timeout: float = CHALLENGE_TIMEOUT,
    fps: int = 8,
) -> Starlette:
    """The emulator as an ASGI app; `app.state.emulator` is the MiniMaxEmulator (aclose() it).
    With `api_key` set only that key is accepted (2049 otherwise); else any Bearer key."""
    data_dir.mkdir(parents=True, exist_ok=True)
    callbacks = CallbackSender(knobs, callback_client, challenge_timeout)
    emu = MiniMaxEmulator(knobs, data_dir, base_url, api_key, clock, callbacks, fps)

    routes = [
        Route("/v1/video_generation", emu.submit, methods=["POST"]),
        Route("/v1/query/video_generation", emu.query, methods=["GET"]),
        Route("/v1/files/retrieve", emu.retrieve, methods=["GET"]),
        Route("/download/{name}", emu.download, methods=["GET"]),
    ]
    return emulator_app(emu, routes)
