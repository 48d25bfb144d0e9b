"""A faithful local stand-in for fal.ai's queue API (`queue.fal.run`), webhooks included.

Like fal, it accepts any JSON input at submit and lets the model judge it when the request
leaves the queue: invalid inputs end as COMPLETED requests whose result is a 422 with
pydantic-style `detail`. Jobs spend the first quarter of `knobs.latency` IN_QUEUE, then run
(a real MP4 is rendered in a thread) and complete once the latency has passed on `clock`.
Status/result/cancel URLs name the owner/app without the endpoint sub-path, as fal's do.
Webhooks are signed with ED25519 the way fal signs them; the keys are at
`/.well-known/jwks.json`. Choices where fal's behaviour is undocumented are marked "unverified".

Input checks, error bodies and the JWKS document are in `fal_protocol`, the jobs and the
emulated model in `fal_jobs`, webhook delivery in `fal_webhooks`; their public names are
importable from here too.
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
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import FileResponse, Response
from starlette.routing import Route

from service.sandbox.emulators.common import BackgroundTasks, emulator_app
from service.sandbox.emulators.fal_jobs import Job, progress_logs, render, result_of
from service.sandbox.emulators.fal_models import family_of
from service.sandbox.emulators.fal_protocol import (
    CANCELED,
    ERRORS,
    FAILURES,
    NAMESPACES,
    SIZES,
    Json,
    app_of,
    describe,
    public_jwks,
    reply,
    validate,
)
from service.sandbox.emulators.fal_webhooks import REORDER_HOLD, RETRY_DELAYS, WebhookSender
from service.sandbox.emulators.knobs import Knobs

__all__ = [
    "CANCELED",
    "ERRORS",
    "FAILURES",
    "HANG",
    "NAMESPACES",
    "QUEUE_SHARE",
    "REORDER_HOLD",
    "RETRY_DELAYS",
    "SIZES",
    "TICK",
    "FalEmulator",
    "Job",
    "Json",
    "create_app",
    "public_jwks",
]

QUEUE_SHARE = 0.25  # share of the latency spent IN_QUEUE
TICK = 0.02  # seconds between clock checks of a running job
HANG = 120.0  # how long a "timeout" error keeps the caller waiting


class FalEmulator:
    """fal's queue API over in-memory jobs; the public methods are the Starlette endpoints."""

    def __init__(
        self,
        knobs: Knobs,
        data_dir: Path,
        base_url: str,
        user_id: str,
        signing_key: Ed25519PrivateKey,
        clock: Callable[[], float],
        webhook_client: httpx.AsyncClient | None,
        fps: int,
        retry_delays: Sequence[float],
    ) -> None:
        self.knobs, self.data_dir, self.base_url = knobs, data_dir, base_url.rstrip("/")
        self.user_id, self.key, self.clock, self.fps = user_id, signing_key, clock, fps
        self.webhooks = WebhookSender(
            knobs, user_id, signing_key, clock, webhook_client, retry_delays
        )
        self.jobs: dict[str, Job] = {}
        self.background = BackgroundTasks()

    async def aclose(self) -> None:
        await self.background.aclose()
        await self.webhooks.aclose()

    async def submit(self, request: Request) -> Response:
        if (refusal := await self._gate(request)) is not None:
            return refusal
        endpoint = request.path_params["endpoint"].strip("/")
        app = app_of(endpoint)
        if app is None:
            return reply(404, {"detail": f"Application '{endpoint}' not found"})
        try:
            data = json.loads(await request.body() or b"{}")
        except ValueError:
            return reply(422, {"detail": "Request body is not valid JSON"})  # unverified
        if not isinstance(data, dict):
            return reply(422, {"detail": "Request body must be a JSON object"})  # unverified
        webhook = request.query_params.get("fal_webhook") or None
        job = self._enqueue(endpoint, app, data, webhook)
        body = {**self._urls(job), "status": "IN_QUEUE", "queue_position": self._position(job)}
        return reply(200, {**body, **({"gateway_request_id": job.id} if webhook else {})})

    def _enqueue(self, endpoint: str, app: str, data: Json, webhook: str | None) -> Job:
        """Queue a job and start running it; the model will refuse it if the input is invalid
        (or, by `fail_rate` chance, fail it)."""
        now, rid, latency = self.clock(), str(uuid.uuid4()), max(0.0, self.knobs.latency)
        problems, start = validate(endpoint, data), now + latency * QUEUE_SHARE
        # the model refuses bad input at once
        done = start if problems else now + self.knobs.finish_after()
        job = self.jobs[rid] = Job(rid, app, data, webhook, now, start, done, problems)
        job.outputs = family.outputs if (family := family_of(endpoint)) else 1
        if not problems and self.knobs.chance(self.knobs.fail_rate):
            job.problem_code, kind, message = self.knobs.rng.choice(FAILURES)
            job.problems = [{"loc": ["body"], "msg": message, "type": kind}]
        self.background.spawn(self._run(job))
        return job

    async def status(self, request: Request) -> Response:
        job = await self._job(request)
        if isinstance(job, Response):
            return job
        logs = request.query_params.get("logs") in ("1", "true")
        body: Json = {**self._urls(job), "logs": None, "metrics": {}}
        if job.outcome is not None:
            code, result = job.outcome
            if code >= 400:  # unverified: fal's exact `error` text for failed requests
                error_type, message = describe(result)
                body.update(error=message, error_type=error_type)
            body.update(status="COMPLETED", logs=[] if logs else None)
            body["metrics"] = {"inference_time": round(job.done_at - job.submitted, 3)}
            return reply(200, body)
        if self.clock() < job.started:
            return reply(202, {**body, "status": "IN_QUEUE", "queue_position": self._position(job)})
        if logs:
            body["logs"] = progress_logs(job, self.clock())
        return reply(202, {**body, "status": "IN_PROGRESS"})

    async def result(self, request: Request) -> Response:
        job = await self._job(request)
        if isinstance(job, Response):
            return job
        if job.outcome is None:  # unverified: fal's code for "not ready" (clients see 400)
            return reply(400, {"detail": "Request is still in progress"})
        code, body = job.outcome
        headers = {"X-Fal-Error-Type": body["error_type"]} if "error_type" in body else {}
        if code >= 400:
            headers["X-Fal-Retryable"] = "false"
        return reply(code, body, headers)

    async def cancel(self, request: Request) -> Response:
        job = await self._job(request, missing={"status": "NOT_FOUND"})
        if isinstance(job, Response):
            return job
        if job.outcome is not None:
            return reply(400, {"status": "ALREADY_COMPLETED"})
        # fal only signals a running app, which may ignore it; the emulated app always stops.
        self._finish(job, CANCELED)
        return reply(202, {"status": "CANCELLATION_REQUESTED"})

    async def file(self, request: Request) -> Response:
        name = request.path_params["name"]
        path = self.data_dir / name
        if not re.fullmatch(r"[0-9a-f-]{36}(-[0-9])?\.mp4", name) or not path.is_file():
            return reply(404, {"detail": "File not found"})
        return FileResponse(path, media_type="video/mp4")

    async def _run(self, job: Job) -> None:
        if not job.problems:
            await render(job, self.data_dir, self.fps)
        while job.outcome is None and self.clock() < job.done_at:  # noqa: ASYNC110 (any clock)
            await asyncio.sleep(TICK)
        self._advance(job)

    def _advance(self, job: Job) -> None:
        """Finish the job if the clock says it is done (called by pollers and by _run)."""
        if job.outcome is not None or self.clock() < job.done_at:
            return
        if (outcome := result_of(job, self.base_url, self.data_dir)) is not None:
            self._finish(job, outcome)

    def _finish(self, job: Job, outcome: tuple[int, Json]) -> None:
        job.outcome = outcome
        if job.webhook:
            self.background.spawn(self.webhooks.deliver(job.id, job.webhook, outcome))

    async def _gate(self, request: Request) -> Response | None:
        """The error knobs, then fal's `Authorization: Key …` check."""
        knobs = self.knobs
        if knobs.chance(knobs.error_rate):
            kind = knobs.rng.choice(knobs.error_kinds)
            if kind == "timeout":
                await asyncio.sleep(HANG)  # the caller's timeout fires long before
            code, body = ERRORS.get(kind, ERRORS["5xx"])
            return reply(
                code, body, {"Retry-After": str(knobs.retry_after)} if code == 429 else None
            )
        scheme, _, key = request.headers.get("authorization", "").partition(" ")
        if scheme != "Key" or not key.strip():
            return reply(401, {"detail": "Authentication is required to access this application."})
        return None

    async def _job(self, request: Request, missing: Json | None = None) -> Job | Response:
        """The job a status/result/cancel URL names, brought up to date with the clock."""
        refusal = await self._gate(request)
        if refusal is not None:
            return refusal
        job = self.jobs.get(request.path_params["request_id"])
        if job is None or job.app != request.path_params["app"]:  # a sub-path here is a 404
            return reply(404, missing or {"detail": "Request not found"})
        self._advance(job)
        return job

    def _urls(self, job: Job) -> Json:
        base = f"{self.base_url}/{job.app}/requests/{job.id}"
        return {
            "request_id": job.id,
            "response_url": base,
            "status_url": f"{base}/status",
            "cancel_url": f"{base}/cancel",
        }

    def _position(self, job: Job) -> int:
        now = self.clock()
        return sum(1 for j in self.jobs.values() if j.submitted < job.submitted and now < j.started)


def create_app(
    knobs: Knobs,
    *,
    data_dir: Path,
    base_url: str,
    user_id: str = "emulated-user",
    signing_key: Ed25519PrivateKey | None = None,
    clock: Callable[[], float] = time.time,
    webhook_client: httpx.AsyncClient | None = None,
    fps: int = 12,
    webhook_retry_delays: Sequence[float] = RETRY_DELAYS,
) -> Starlette:
    """The emulator as an ASGI app; `app.state.emulator` is the FalEmulator (aclose() it)."""
    data_dir.mkdir(parents=True, exist_ok=True)
    key = signing_key or Ed25519PrivateKey.generate()
    emu = FalEmulator(
        knobs, data_dir, base_url, user_id, key, clock, webhook_client, fps, webhook_retry_delays
    )

    async def jwks(request: Request) -> Response:
        return reply(200, public_jwks(emu.key))

    requests = "/{app:path}/requests/{request_id}"
    routes = [
        Route("/.well-known/jwks.json", jwks, methods=["GET"]),
        Route("/files/{name}", emu.file, methods=["GET"]),
        Route(requests + "/status", emu.status, methods=["GET"]),
        Route(requests + "/cancel", emu.cancel, methods=["PUT"]),
        Route(requests, emu.result, methods=["GET"]),
        Route("/{endpoint:path}", emu.submit, methods=["POST"]),
    ]
    return emulator_app(emu, routes)
