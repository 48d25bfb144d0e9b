"""A faithful local stand-in for OpenAI's Sora videos API (`api.openai.com/v1/videos`).

`POST /v1/videos` takes JSON or multipart (the official SDK always sends multipart; an image
`input_reference` is a file part, or in JSON `{image_url: "data:…"}` — the emulator fetches no
remote URLs). The reference image must match the requested `size`, as OpenAI requires. A video
is `queued` for the first quarter of `knobs.latency`, then `in_progress` (a real MP4 renders in
a thread at 1/8 of the size; `progress` moves evenly) and ends `completed` once the latency has
passed on `clock` (or `failed`, by `fail_rate`). `GET /v1/videos/{id}` sends
`openai-poll-after-ms`. `DELETE` deletes the video (a running one stops; unverified upstream).
`/content?variant=video|thumbnail` serves the MP4 / a JPEG (no `spritesheet`, no remix).

Webhooks are per project: one fixed `webhook_url` at app creation gets `video.completed` /
`video.failed` events (`{id: "evt_…", object: "event", created_at, type, data: {id}}`),
Standard Webhooks-signed with the `whsec_` secret; delivery, retries and the webhook knobs are
`replicate_webhooks.WebhookSender`'s (OpenAI's retry schedule is not emulated).
"""

from __future__ import annotations

import asyncio
import base64
import json
import secrets
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import httpx
from starlette.applications import Starlette
from starlette.datastructures import UploadFile
from starlette.requests import Request
from starlette.responses import FileResponse, JSONResponse, Response
from starlette.routing import Route

from service.media.render import ImageUnreadable, RenderSpec, decode_image, render_thumbnail
from service.sandbox.emulators.common import BackgroundTasks, emulator_app
from service.sandbox.emulators.knobs import Knobs
from service.sandbox.emulators.renders import render_once
from service.sandbox.emulators.replicate_webhooks import RETRY_DELAYS, WebhookSender
from service.sandbox.emulators.sora_protocol import (
    ERRORS,
    FAILURES,
    MODELS,
    SCALE,
    Json,
    Video,
    create_problem,
    data_url_bytes,
    dimensions,
    error,
    video_json,
)
from service.webhooks.signing import SecretDeriver

__all__ = ["HANG", "QUEUE_SHARE", "SoraEmulator", "create_app"]

QUEUE_SHARE = 0.25  # share of the latency spent `queued`
TICK = 0.02  # seconds between clock checks of a running video
HANG = 120.0  # how long a "timeout" error keeps the caller waiting


class SoraEmulator:
    """OpenAI's videos API over in-memory videos; public methods are endpoints."""

    def __init__(
        self,
        knobs: Knobs,
        data_dir: Path,
        webhook_url: str | None,
        secret: str,
        clock: Callable[[], float],
        webhook_client: httpx.AsyncClient | None,
        fps: int,
        retry_delays: Sequence[float],
        poll_after_ms: int,
    ) -> None:
        self.knobs, self.data_dir, self.webhook_url = knobs, data_dir, webhook_url
        self.secret, self.clock, self.fps, self.poll_after_ms = secret, clock, fps, poll_after_ms
        key = base64.b64decode(secret.removeprefix("whsec_"))
        self.webhooks = WebhookSender(knobs, key, clock, webhook_client, retry_delays)
        self.videos: dict[str, Video] = {}
        self.background = BackgroundTasks()

    async def aclose(self) -> None:
        await self.background.aclose()
        await self.webhooks.aclose()

    async def create(self, request: Request) -> Response:
        if (refusal := await self._gate(request)) is not None:
            return refusal
        fields = await self._fields(request)
        if isinstance(fields, Response):
            return fields
        if (found := create_problem(fields)) is not None:
            return error(400, found[1], param=found[0], code="invalid_value")
        size = str(fields.get("size", "720x1280"))
        image = await self._image(fields.get("input_reference"), size)
        if isinstance(image, Response):
            return image
        now, latency = self.clock(), max(0.0, self.knobs.latency)
        video = Video(
            f"video_{secrets.token_hex(24)}",
            MODELS[str(fields.get("model", "sora-2"))],
            str(fields["prompt"]),
            str(fields.get("seconds", "4")),
            size,
            image,
            now,
            now + latency * QUEUE_SHARE,
            now + self.knobs.finish_after(),
        )
        self.videos[video.id] = video
        if self.knobs.chance(self.knobs.fail_rate):
            video.error = self.knobs.rng.choice(FAILURES)
        self.background.spawn(self._run(video))
        return JSONResponse(video_json(video, now))

    async def get(self, request: Request) -> Response:
        video = await self._video(request)
        if isinstance(video, Response):
            return video
        answer = JSONResponse(video_json(video, self.clock()))
        if video.status is None:
            answer.headers["openai-poll-after-ms"] = str(self.poll_after_ms)
        return answer

    async def list(self, request: Request) -> Response:
        if (refusal := await self._gate(request)) is not None:
            return refusal
        query = request.query_params
        try:
            limit = max(1, min(100, int(query.get("limit", "20"))))
        except ValueError:
            return error(400, "Invalid value for 'limit'.", param="limit", code="invalid_value")
        videos = [v for v in self.videos.values() if not v.deleted]  # oldest first
        for video in videos:
            self._advance(video)
        if query.get("order", "desc") == "desc":
            videos.reverse()
        ids = [v.id for v in videos]
        after = query.get("after")
        start = ids.index(after) + 1 if after in ids else 0
        page, now = videos[start : start + limit], self.clock()
        return JSONResponse(
            {
                "object": "list",
                "data": [video_json(v, now) for v in page],
                "first_id": page[0].id if page else None,
                "last_id": page[-1].id if page else None,
                "has_more": start + limit < len(videos),
            }
        )

    async def delete(self, request: Request) -> Response:
        video = await self._video(request)
        if isinstance(video, Response):
            return video
        video.deleted = True
        for suffix in ("mp4", "jpg"):
            (self.data_dir / f"{video.id}.{suffix}").unlink(missing_ok=True)
        return JSONResponse({"id": video.id, "object": "video.deleted", "deleted": True})

    async def content(self, request: Request) -> Response:
        video = await self._video(request)
        if isinstance(video, Response):
            return video
        variant = request.query_params.get("variant", "video")
        if variant not in ("video", "thumbnail"):
            return error(400, f"The variant '{variant}' is not available.", param="variant")
        if video.status != "completed":
            return error(
                404,
                f"Video '{video.id}' has no content yet: it is "
                f"{video_json(video, self.clock())['status']}.",
            )
        mp4 = self.data_dir / f"{video.id}.mp4"
        if variant == "video":
            return FileResponse(mp4, media_type="video/mp4")
        jpeg = self.data_dir / f"{video.id}.jpg"
        if not jpeg.is_file():
            await asyncio.to_thread(render_thumbnail, mp4, jpeg)
        return FileResponse(jpeg, media_type="image/jpeg")

    async def _run(self, video: Video) -> None:
        """Render the video, then follow the clock until it ends (or is deleted)."""
        if video.error is None:
            await self._render(video)
        while video.status is None and not video.deleted:
            self._advance(video)
            await asyncio.sleep(TICK)

    async def _render(self, video: Video) -> None:
        width, height = (side // SCALE for side in dimensions(video.size))
        spec = RenderSpec(
            width, height, float(video.seconds), self.fps, video.prompt, image=video.image
        )
        try:
            await render_once(spec, self.data_dir / f"{video.id}.mp4")
            video.rendered = True
        except Exception as crash:  # the emulated model crashed
            video.error = ("video_generation_failed", f"Video generation failed: {crash}")

    def _advance(self, video: Video) -> None:
        """End the video if the clock says it is done (called by pollers and by _run)."""
        ready = video.rendered or video.error is not None
        if video.status is None and not video.deleted and self.clock() >= video.done_at and ready:
            video.status = "failed" if video.error else "completed"
            video.completed = max(self.clock(), video.created)
            if self.webhook_url:
                event = {
                    "id": f"evt_{secrets.token_hex(24)}",
                    "object": "event",
                    "created_at": int(self.clock()),
                    "type": f"video.{video.status}",
                    "data": {"id": video.id},
                }
                self.background.spawn(self.webhooks.deliver(self.webhook_url, event, True))

    async def _fields(self, request: Request) -> Json | Response:
        """The create fields, from JSON or multipart form data."""
        kind = request.headers.get("content-type", "")
        if kind.startswith("multipart/form-data"):
            form = await request.form()
            return {name: value for name, value in form.items()}
        try:
            body = json.loads(await request.body() or b"{}")
        except ValueError:
            body = None
        if not isinstance(body, dict):
            return error(400, "We could not parse the JSON body of your request.")
        return body

    async def _image(self, reference: Any, size: str) -> bytes | Response | None:
        """The reference image's bytes, checked to decode and to match `size`."""
        if reference is None or reference == "":
            return None
        if isinstance(reference, UploadFile):
            data: bytes | None = await reference.read()
        elif isinstance(reference, dict) and isinstance(reference.get("image_url"), str):
            data = data_url_bytes(reference["image_url"])
            if data is None:
                return error(
                    400,
                    "The emulator takes input_reference.image_url as a base64 data URL only.",
                    param="input_reference",
                )
        else:
            return error(400, "Invalid input_reference.", param="input_reference")
        try:
            width, height = decode_image(data or b"").size
        except (ImageUnreadable, ValueError):
            return error(
                400,
                "The input_reference image could not be read.",
                param="input_reference",
                code="invalid_image",
            )
        if (width, height) != dimensions(size):
            return error(
                400,
                f"Inpaint image must match the requested width and height "
                f"({size}); got {width}x{height}.",
                param="input_reference",
                code="invalid_value",
            )
        return data

    async def _gate(self, request: Request) -> Response | None:
        """The error knobs, then OpenAI's `Authorization: Bearer …` check."""
        knobs = self.knobs
        if knobs.chance(knobs.error_rate):
            kind = knobs.rng.choice(knobs.error_kinds)
            if kind == "timeout":
                await asyncio.sleep(HANG)  # the caller's timeout fires long before
            status, kind_name, code, message = ERRORS.get(kind, ERRORS["5xx"])
            refusal = error(status, message, kind_name, code=code)
            if status == 429:
                refusal.headers["retry-after"] = str(knobs.retry_after)
            return refusal
        scheme, _, token = request.headers.get("authorization", "").partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            return error(
                401,
                "You didn't provide an API key. You need to provide your API key "
                "in an Authorization header using Bearer auth.",
            )
        return None

    async def _video(self, request: Request) -> Video | Response:
        """The (undeleted) video a URL names, brought up to date with the clock."""
        if (refusal := await self._gate(request)) is not None:
            return refusal
        video_id = request.path_params["id"]
        video = self.videos.get(video_id)
        if video is None or video.deleted:
            return error(404, f"Video with id '{video_id}' not found.", param="video_id")
        self._advance(video)
        return video


def create_app(
    knobs: Knobs,
    *,
    data_dir: Path,
    webhook_url: str | None = None,
    webhook_secret: str | None = None,
    clock: Callable[[], float] = time.time,
    webhook_client: httpx.AsyncClient | None = None,
    fps: int = 8,
    webhook_retry_delays: Sequence[float] = RETRY_DELAYS,
    poll_after_ms: int = 2000,
) -> Starlette:
    """The emulator as an ASGI app (routes under `/v1`); `webhook_url` is the project's one
    webhook endpoint; `app.state.emulator` is the SoraEmulator (aclose() it)."""
    data_dir.mkdir(parents=True, exist_ok=True)
    secret = webhook_secret or SecretDeriver(secrets.token_hex(16)).secret("sora", 0)
    emu = SoraEmulator(
        knobs,
        data_dir,
        webhook_url,
        secret,
        clock,
        webhook_client,
        fps,
        webhook_retry_delays,
        poll_after_ms,
    )

    routes = [
        Route("/v1/videos", emu.create, methods=["POST"]),
        Route("/v1/videos", emu.list, methods=["GET"]),
        Route("/v1/videos/{id}", emu.get, methods=["GET"]),
        Route("/v1/videos/{id}", emu.delete, methods=["DELETE"]),
        Route("/v1/videos/{id}/content", emu.content, methods=["GET"]),
    ]
    return emulator_app(emu, routes)
