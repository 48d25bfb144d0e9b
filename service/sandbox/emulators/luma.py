"""A faithful local stand-in for Luma Dream Machine's generations API
(`https://api.lumalabs.ai/dream-machine/v1`), callbacks included.

Routes live under `/dream-machine/v1`: `POST /generations/video` (what the `lumaai` SDK 1.21
calls), `POST /generations/video/modify` (video-to-video, `generations.video.modify`) and
`POST /generations`, `GET /generations` (limit/offset list, newest first),
`GET|DELETE /generations/{id}`; assets are served at `/files/{id}.mp4|.jpg` (Luma's are on a
CDN, without auth). Auth is `Authorization: Bearer …`; errors are `{"detail": …}`.

A generation is `queued` for the first quarter of `knobs.latency` (on `clock`), then
`dreaming` while a real MP4 is rendered in a thread, then `completed` (or `failed` with a
`failure_reason`, by `fail_rate` chance) once the latency has passed. Each state change after
creation (dreaming, completed, failed) POSTs the generation object to its `callback_url`:
unsigned, tried 3 times 100 ms apart. DELETE removes the generation (a later GET is a 404)
and stops it: no more callbacks (unverified: whether Luma stops an in-flight render).
Choices where Luma's behaviour is undocumented are marked "unverified".
"""

from __future__ import annotations

import asyncio
import json
import re
import time
import uuid
from collections.abc import Callable, Sequence
from pathlib import Path

import httpx
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import FileResponse, Response
from starlette.routing import Route

from service.media.render import RenderSpec, render_thumbnail
from service.sandbox.emulators.common import BackgroundTasks, emulator_app
from service.sandbox.emulators.knobs import Knobs
from service.sandbox.emulators.luma_protocol import (
    CALLBACK_RETRY_DELAYS,
    DURATIONS,
    ERRORS,
    FAILURES,
    MODELS,
    RATIOS,
    RESOLUTIONS,
    SIZES,
    CallbackSender,
    Generation,
    Json,
    generation_body,
    reply,
    validate,
    validate_modify,
)
from service.sandbox.emulators.renders import render_once

__all__ = [
    "API_PREFIX",
    "CALLBACK_RETRY_DELAYS",
    "DURATIONS",
    "HANG",
    "MODELS",
    "QUEUE_SHARE",
    "RATIOS",
    "RESOLUTIONS",
    "Generation",
    "LumaEmulator",
    "create_app",
]

API_PREFIX = "/dream-machine/v1"
QUEUE_SHARE = 0.25  # share of the latency spent queued
TICK = 0.02  # seconds between clock checks of a running generation
HANG = 120.0  # how long a "timeout" error keeps the caller waiting


class LumaEmulator:
    """Luma's generations API over in-memory generations; public methods are the endpoints."""

    def __init__(
        self,
        knobs: Knobs,
        data_dir: Path,
        base_url: str,
        clock: Callable[[], float],
        webhook_client: httpx.AsyncClient | None,
        fps: int,
        retry_delays: Sequence[float],
    ) -> None:
        self.knobs, self.data_dir, self.base_url = knobs, data_dir, base_url.rstrip("/")
        self.clock, self.fps = clock, fps
        self.callbacks = CallbackSender(knobs, webhook_client, retry_delays)
        self.generations: dict[str, Generation] = {}
        self.background = BackgroundTasks()

    async def aclose(self) -> None:
        await self.background.aclose()
        await self.callbacks.aclose()

    async def create(self, request: Request) -> Response:
        return await self._create(request, "video")

    async def modify(self, request: Request) -> Response:
        """Video-to-video. The source is not fetched: the emulator renders a 5 s clip from
        the prompt, as it does for every generation (Luma's output follows the source)."""
        return await self._create(request, "modify_video")

    async def _create(self, request: Request, kind: str) -> Response:
        if (refusal := await self._gate(request)) is not None:
            return refusal
        try:
            data = json.loads(await request.body() or b"{}")
        except ValueError:
            return reply(400, {"detail": "Request body is not valid JSON"})  # unverified
        problem = validate(data) if kind == "video" else validate_modify(data)
        if problem is not None:
            return reply(400, {"detail": problem})  # unverified: 400 with a string detail
        now, latency = self.clock(), max(0.0, self.knobs.latency)
        gen_id = str(uuid.uuid4())
        request_body = {k: v for k, v in data.items() if k != "generation_type"}
        gen = Generation(
            gen_id,
            request_body,
            data.get("callback_url") or None,
            now,
            now + latency * QUEUE_SHARE,
            now + self.knobs.finish_after(),
        )
        gen.kind = kind
        if self.knobs.chance(self.knobs.fail_rate):
            gen.failure = self.knobs.rng.choice(FAILURES)
        self.generations[gen_id] = gen
        self.background.spawn(self._run(gen))
        return reply(201, self._body(gen))  # unverified: 201 vs 200 (the SDK takes either)

    async def get(self, request: Request) -> Response:
        gen = await self._generation(request)
        return gen if isinstance(gen, Response) else reply(200, self._body(gen))

    async def delete(self, request: Request) -> Response:
        gen = await self._generation(request)
        if isinstance(gen, Response):
            return gen
        gen.deleted = True
        del self.generations[gen.id]
        return Response(status_code=204)  # unverified: 204 vs 200

    async def list(self, request: Request) -> Response:
        if (refusal := await self._gate(request)) is not None:
            return refusal
        try:
            limit = int(request.query_params.get("limit", "10"))
            offset = int(request.query_params.get("offset", "0"))
        except ValueError:
            return reply(400, {"detail": "limit and offset must be integers"})
        if not 1 <= limit <= 100 or offset < 0:  # unverified: Luma's bounds
            return reply(400, {"detail": "limit must be 1..100 and offset >= 0"})
        newest = list(self.generations.values())[::-1]  # created order, newest first
        for gen in newest:
            self._advance(gen)
        page = [self._body(gen) for gen in newest[offset : offset + limit]]
        body = {
            "generations": page,
            "count": len(page),
            "limit": limit,
            "offset": offset,
            "has_more": offset + limit < len(newest),
        }
        return reply(200, body)

    async def file(self, request: Request) -> Response:
        name = request.path_params["name"]
        path = self.data_dir / name
        if not re.fullmatch(r"[0-9a-f-]{36}\.(mp4|jpg)", name) or not path.is_file():
            return reply(404, {"detail": "File not found"})
        return FileResponse(path, media_type="video/mp4" if name.endswith("mp4") else "image/jpeg")

    async def _run(self, gen: Generation) -> None:
        """Move the generation along the clock: dreaming (render), then completed or failed."""
        while not gen.deleted and gen.state != "completed" and gen.state != "failed":
            self._advance(gen)
            if gen.state == "dreaming" and not gen.rendered and gen.failure is None:
                await self._render(gen)
                continue
            await asyncio.sleep(TICK)

    async def _render(self, gen: Generation) -> None:
        ratio = gen.request.get("aspect_ratio", "16:9")
        width, height = SIZES.get(ratio, SIZES["16:9"])
        seconds = DURATIONS.get(gen.request.get("duration", "5s"), 5.0)
        spec = RenderSpec(width, height, seconds, self.fps, str(gen.request.get("prompt", "")))
        video = self.data_dir / f"{gen.id}.mp4"
        try:
            await render_once(spec, video)
            await asyncio.to_thread(render_thumbnail, video, self.data_dir / f"{gen.id}.jpg")
        except Exception as error:  # the emulated model crashed
            gen.failure = f"Generation failed due to an internal error: {error}"
        gen.rendered = True

    def _advance(self, gen: Generation) -> None:
        """Bring the generation up to date with the clock, calling back on each change."""
        if gen.deleted or gen.state in ("completed", "failed"):
            return
        now = self.clock()
        if gen.state == "queued" and now >= gen.started:
            self._change(gen, "dreaming")
        if gen.state == "dreaming" and now >= gen.done_at:
            if gen.failure is not None:
                self._change(gen, "failed")
            elif gen.rendered:
                self._change(gen, "completed")

    def _change(self, gen: Generation, state: str) -> None:
        gen.state = state
        if gen.callback_url:
            self.background.spawn(self.callbacks.deliver(gen.callback_url, self._body(gen)))

    def _body(self, gen: Generation) -> Json:
        return generation_body(gen, self.base_url)

    async def _gate(self, request: Request) -> Response | None:
        """The error knobs, then Luma's Bearer check."""
        knobs = self.knobs
        if knobs.chance(knobs.error_rate):
            kind = knobs.rng.choice(knobs.error_kinds)
            if kind == "timeout":
                await asyncio.sleep(HANG)  # the caller's timeout fires long before
            code, body = ERRORS.get(kind, ERRORS["5xx"])
            return reply(
                code, body, {"Retry-After": str(knobs.retry_after)} if code == 429 else None
            )
        scheme, _, token = request.headers.get("authorization", "").partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            return reply(401, {"detail": "Invalid or missing API key"})  # unverified wording
        return None

    async def _generation(self, request: Request) -> Generation | Response:
        if (refusal := await self._gate(request)) is not None:
            return refusal
        gen = self.generations.get(request.path_params["id"])
        if gen is None:
            return reply(404, {"detail": "Generation not found"})  # unverified wording
        self._advance(gen)
        return gen


def create_app(
    knobs: Knobs,
    *,
    data_dir: Path,
    base_url: str,
    clock: Callable[[], float] = time.time,
    webhook_client: httpx.AsyncClient | None = None,
    fps: int = 8,
    callback_retry_delays: Sequence[float] = CALLBACK_RETRY_DELAYS,
) -> Starlette:
    """The emulator as an ASGI app. `base_url` is the origin it is reached at (asset URLs
    are built on it); the API is under `base_url + API_PREFIX`. `app.state.emulator` is the
    LumaEmulator (aclose() it)."""
    data_dir.mkdir(parents=True, exist_ok=True)
    emu = LumaEmulator(knobs, data_dir, base_url, clock, webhook_client, fps, callback_retry_delays)

    api = API_PREFIX
    routes = [
        Route(f"{api}/generations", emu.create, methods=["POST"]),
        Route(f"{api}/generations/video", emu.create, methods=["POST"]),
        Route(f"{api}/generations/video/modify", emu.modify, methods=["POST"]),
        Route(f"{api}/generations", emu.list, methods=["GET"]),
        Route(f"{api}/generations/{{id}}", emu.get, methods=["GET"]),
        Route(f"{api}/generations/{{id}}", emu.delete, methods=["DELETE"]),
        Route("/files/{name}", emu.file, methods=["GET"]),
    ]
    return emulator_app(emu, routes)
