"""A faithful local stand-in for Replicate's predictions API (`api.replicate.com/v1`).

Official models are run with `POST /v1/models/{owner}/{name}/predictions`, versions with
`POST /v1/predictions {version}` (`<64 hex>`, `owner/name:<hex>` or `owner/name`); the input
is checked at create (422 with `invalid_fields`, as Replicate's schema check answers). A
prediction is `starting` for the first quarter of `knobs.latency`, then `processing` (a real
MP4 is rendered in a thread; its tqdm-style `logs` move evenly) and ends `succeeded` with the
URL of the MP4 as `output` once the latency has passed on `clock` (or `failed`, by
`fail_rate`). It never reports `aborted`: replicate-python 1.0.7's `wait()` does not stop on
it. `Prefer: wait[=n]` blocks the create call up to `min(n, wait_bound)` real seconds.

Webhooks post the prediction object for the `webhook_events_filter` events (all four when
none is given; unverified), Standard Webhooks-signed with the secret that
`GET /v1/webhooks/default/secret` hands out; `logs` events are throttled to one per 0.5 s and
only the terminal event is retried. Protocol pieces are in `replicate_protocol`, delivery in
`replicate_webhooks`.
"""

from __future__ import annotations

import asyncio
import base64
import json
import re
import secrets
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import httpx
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import FileResponse, Response
from starlette.routing import Route

from service.media.render import RenderSpec
from service.sandbox.emulators.common import BackgroundTasks, emulator_app
from service.sandbox.emulators.fal_protocol import SIZES
from service.sandbox.emulators.knobs import Knobs
from service.sandbox.emulators.renders import render_once
from service.sandbox.emulators.replicate_protocol import (
    ERRORS,
    EVENTS,
    FAILURES,
    MODELS,
    Json,
    Prediction,
    input_problems,
    phase,
    prediction_json,
    problem,
    reply,
    tqdm_logs,
    version_of,
    wait_seconds,
)
from service.sandbox.emulators.replicate_webhooks import RETRY_DELAYS, WebhookSender
from service.webhooks.signing import SecretDeriver

__all__ = ["HANG", "QUEUE_SHARE", "TICK", "ReplicateEmulator", "create_app", "version_of"]

QUEUE_SHARE = 0.25  # share of the latency spent `starting`
TICK = 0.02  # seconds between clock checks of a running prediction
HANG = 120.0  # how long a "timeout" error keeps the caller waiting
LOGS_EVERY = 0.5  # Replicate throttles `logs`/`output` webhooks to one per 500 ms


class ReplicateEmulator:
    """Replicate's predictions API over in-memory predictions; public methods are endpoints."""

    def __init__(
        self,
        knobs: Knobs,
        data_dir: Path,
        base_url: str,
        secret: str,
        clock: Callable[[], float],
        webhook_client: httpx.AsyncClient | None,
        fps: int,
        retry_delays: Sequence[float],
        wait_bound: float,
    ) -> None:
        self.knobs, self.data_dir, self.base_url = knobs, data_dir, base_url.rstrip("/")
        self.secret, self.clock, self.fps, self.wait_bound = secret, clock, fps, wait_bound
        key = base64.b64decode(secret.removeprefix("whsec_"))
        self.webhooks = WebhookSender(knobs, key, clock, webhook_client, retry_delays)
        self.predictions: dict[str, Prediction] = {}
        self.versions = {version_of(model): model for model in MODELS}
        self.background = BackgroundTasks()

    async def aclose(self) -> None:
        await self.background.aclose()
        await self.webhooks.aclose()

    async def create_for_model(self, request: Request) -> Response:
        if (refusal := await self._gate(request)) is not None:
            return refusal
        model = f"{request.path_params['owner']}/{request.path_params['name']}"
        self.versions.setdefault(version_of(model), model)
        return await self._create(request, model, version_of(model))

    async def create(self, request: Request) -> Response:
        if (refusal := await self._gate(request)) is not None:
            return refusal
        body = await self._json(request)
        version = body.get("version") if isinstance(body, dict) else None
        model, _, hexid = str(version or "").rpartition(":")
        if not model and "/" in hexid:  # `owner/name`: its latest version
            model, hexid = hexid, version_of(hexid)
            self.versions.setdefault(hexid, model)
        known = self.versions.get(hexid)
        if known is None or (model and model != known):
            return problem(
                422,
                "Invalid version or not permitted",
                "The specified version does not exist (or perhaps you don't have "
                "permission to use it?)",
            )
        return await self._create(request, known, hexid)

    async def _create(self, request: Request, model: str, version: str) -> Response:
        body = await self._json(request)
        if not isinstance(body, dict):
            return problem(400, "Invalid request body", "The request body must be a JSON object")
        data, webhook = body.get("input"), body.get("webhook")
        events = body.get("webhook_events_filter")
        if (problems := input_problems(data, model)) or not isinstance(data, dict):
            text = "\n".join(f"- input: {p['description']}" for p in problems)
            return problem(422, "Input validation failed", text, invalid_fields=problems)
        if events is not None and not (
            isinstance(events, list) and all(isinstance(e, str) and e in EVENTS for e in events)
        ):
            return problem(
                422,
                "Invalid webhook_events_filter",
                f"webhook_events_filter must be a subset of {list(EVENTS)}",
            )
        if webhook is not None and not re.match(r"https?://", str(webhook)):
            return problem(422, "Invalid webhook", "webhook must be an HTTP(S) URL")
        now, latency = self.clock(), max(0.0, self.knobs.latency)
        pid = base64.b32encode(secrets.token_bytes(16)).decode().lower().rstrip("=")
        p = self.predictions[pid] = Prediction(
            pid,
            model,
            version,
            data,
            webhook,
            frozenset(EVENTS if events is None else events),
            now,
            now + latency * QUEUE_SHARE,
            now + self.knobs.finish_after(),
        )
        if self.knobs.chance(self.knobs.fail_rate):
            p.error = self.knobs.rng.choice(FAILURES)
        self.background.spawn(self._run(p))
        deadline = time.monotonic() + wait_seconds(request.headers.get("prefer"), self.wait_bound)
        while p.status is None and time.monotonic() < deadline:
            await asyncio.sleep(TICK)
            self._advance(p)
        return reply(201, self._json_of(p))

    async def get(self, request: Request) -> Response:
        p = await self._prediction(request)
        return p if isinstance(p, Response) else reply(200, self._json_of(p))

    async def cancel(self, request: Request) -> Response:
        p = await self._prediction(request)
        if isinstance(p, Response):
            return p
        if p.status is None:  # an ended prediction is answered unchanged
            self._finish(p, "canceled")
        return reply(200, self._json_of(p))

    async def default_secret(self, request: Request) -> Response:
        return (await self._gate(request)) or reply(200, {"key": self.secret})

    async def file(self, request: Request) -> Response:
        name = request.path_params["name"]
        path = self.data_dir / name
        if not re.fullmatch(r"[a-z0-9]{26}\.mp4", name) or not path.is_file():
            return problem(404, "Not found", "The requested file does not exist.")
        return FileResponse(path, media_type="video/mp4")

    async def _run(self, p: Prediction) -> None:
        """Render the video, then follow the clock, announcing what the webhooks filter asks."""
        if p.error is None:
            await self._render(p)
        while p.status is None:
            self._events(p)
            self._advance(p)
            await asyncio.sleep(TICK)

    async def _render(self, p: Prediction) -> None:
        aspect = str(p.input.get("aspect_ratio", "16:9"))
        aspect = {"portrait": "9:16", "landscape": "16:9"}.get(aspect, aspect)  # Sora's words
        width, height = SIZES.get(aspect, SIZES["16:9"])
        seed, seconds = p.input.get("seed"), p.input.get("duration", p.input.get("seconds")) or 5
        spec = RenderSpec(
            width,
            height,
            float(seconds),
            self.fps,
            p.input["prompt"],
            seed if isinstance(seed, int) else None,
        )
        try:
            await render_once(spec, self.data_dir / f"{p.id}.mp4")
            p.rendered = True
        except Exception as error:  # the emulated model crashed
            p.error = f"Prediction failed: {error}"

    def _events(self, p: Prediction) -> None:
        """Post the `start` and (throttled) `logs` webhooks that are due."""
        now = self.clock()
        if not p.webhook or phase(p, now) != "processing":
            return
        if p.announced == "starting":
            p.announced = "processing"
            if "start" in p.events:
                self.background.spawn(self.webhooks.deliver(p.webhook, self._json_of(p), False))
        logs = tqdm_logs(p, now)
        if "logs" in p.events and logs != p.logs_sent and now - p.logs_sent_at >= LOGS_EVERY:
            p.logs_sent, p.logs_sent_at = logs, now
            self.background.spawn(self.webhooks.deliver(p.webhook, self._json_of(p), False))

    def _advance(self, p: Prediction) -> None:
        """End the prediction if the clock says it is done (called by pollers and by _run)."""
        if p.status is None and self.clock() >= p.done_at and (p.rendered or p.error):
            self._events(p)  # a poller may get here first: `start` still goes out before the end
            self._finish(p, "failed" if p.error else "succeeded")

    def _finish(self, p: Prediction, status: str) -> None:
        p.status, p.completed = status, max(self.clock(), p.created)
        if p.webhook and status == "succeeded" and "output" in p.events:
            self.background.spawn(self.webhooks.deliver(p.webhook, self._json_of(p), False))
        if p.webhook and "completed" in p.events:
            self.background.spawn(self.webhooks.deliver(p.webhook, self._json_of(p), True))

    def _json_of(self, p: Prediction) -> Json:
        return prediction_json(p, self.clock(), self.base_url)

    async def _json(self, request: Request) -> Any:
        try:
            return json.loads(await request.body() or b"{}")
        except ValueError:
            return None

    async def _gate(self, request: Request) -> Response | None:
        """The error knobs, then Replicate's `Authorization: Bearer …` check."""
        knobs = self.knobs
        if knobs.chance(knobs.error_rate):
            kind = knobs.rng.choice(knobs.error_kinds)
            if kind == "timeout":
                await asyncio.sleep(HANG)  # the caller's timeout fires long before
            code, title, detail = ERRORS.get(kind, ERRORS["5xx"])
            refusal = problem(code, title, detail)
            if code == 429:
                refusal.headers["Retry-After"] = str(knobs.retry_after)
            return refusal
        scheme, _, token = request.headers.get("authorization", "").partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            return problem(401, "Unauthenticated", "You did not pass a valid authentication token")
        return None

    async def _prediction(self, request: Request) -> Prediction | Response:
        """The prediction a URL names, brought up to date with the clock."""
        if (refusal := await self._gate(request)) is not None:
            return refusal
        p = self.predictions.get(request.path_params["id"])
        if p is None:
            return problem(404, "Not found", "The requested resource could not be found.")
        self._advance(p)
        return p


def create_app(
    knobs: Knobs,
    *,
    data_dir: Path,
    base_url: str = "https://api.replicate.com",
    webhook_secret: str | None = None,
    clock: Callable[[], float] = time.time,
    webhook_client: httpx.AsyncClient | None = None,
    fps: int = 12,
    webhook_retry_delays: Sequence[float] = RETRY_DELAYS,
    wait_bound: float = 60.0,
) -> Starlette:
    """The emulator as an ASGI app (`base_url` is the host: routes live under `/v1`);
    `app.state.emulator` is the ReplicateEmulator (aclose() it)."""
    data_dir.mkdir(parents=True, exist_ok=True)
    secret = webhook_secret or SecretDeriver(secrets.token_hex(16)).secret("replicate", 0)
    emu = ReplicateEmulator(
        knobs,
        data_dir,
        base_url,
        secret,
        clock,
        webhook_client,
        fps,
        webhook_retry_delays,
        wait_bound,
    )

    routes = [
        Route("/v1/models/{owner}/{name}/predictions", emu.create_for_model, methods=["POST"]),
        Route("/v1/predictions", emu.create, methods=["POST"]),
        Route("/v1/predictions/{id}", emu.get, methods=["GET"]),
        Route("/v1/predictions/{id}/cancel", emu.cancel, methods=["POST"]),
        Route("/v1/webhooks/default/secret", emu.default_secret, methods=["GET"]),
        Route("/files/{name}", emu.file, methods=["GET"]),
    ]
    return emulator_app(emu, routes)
