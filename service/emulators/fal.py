"""A faithful local stand-in for fal.ai's queue API (`queue.fal.run`), webhooks included.

Like fal, it accepts any JSON input at submit and lets the model judge it when the request
leaves the queue: invalid inputs end as COMPLETED requests whose result is a 422 with
pydantic-style `detail`. Jobs spend the first quarter of `knobs.latency` IN_QUEUE, then run
(a real MP4 is rendered in a thread) and complete once the latency has passed on `clock`.
Status/result/cancel URLs name the owner/app without the endpoint sub-path, as fal's do.
Webhooks are signed with ED25519 the way fal signs them; the keys are at
`/.well-known/jwks.json`. Choices where fal's behaviour is undocumented are marked "unverified".
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import hashlib
import json
import re
import time
import uuid
from collections.abc import AsyncIterator, Callable, Coroutine, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import FileResponse, JSONResponse, Response
from starlette.routing import Route

from service.emulators.knobs import Knobs
from service.render import RenderSpec, render_video

SIZES = {"16:9": (160, 90), "9:16": (90, 160), "1:1": (96, 96), "4:3": (128, 96),
         "3:4": (96, 128), "21:9": (224, 96), "9:21": (96, 224)}  # fmt: skip
NAMESPACES = ("workflows", "comfy")  # these app ids have three segments (fal-client AppId)
QUEUE_SHARE = 0.25  # share of the latency spent IN_QUEUE
TICK = 0.02  # seconds between clock checks of a running job
HANG = 120.0  # how long a "timeout" error keeps the caller waiting
REORDER_HOLD = 1.0  # a held-back webhook goes out after this long if no other one overtakes it
RETRY_DELAYS = (10.0, 30.0, 60.0, 300.0, 600.0, 900.0, 1200.0, 1200.0, 1200.0, 1200.0)  # ~2 h
Json = dict[str, Any]
CANCELED = (499, {"detail": "Request cancelled by the client", "error_type": "client_cancelled"})
ERRORS: dict[str, tuple[int, Json]] = {  # what the `error_kinds` knobs answer
    "4xx": (403, {"detail": "User is locked. Reason: Exhausted balance."}),
    "5xx": (500, {"detail": "Internal server error", "error_type": "internal_error"}),
    "429": (429, {"detail": "Rate limit exceeded, retry later"}),
    "timeout": (504, {"detail": "Request timed out", "error_type": "request_timeout"}),
}
FAILURES = (  # what a job ends with under `fail_rate` (fal's model-error shape)
    (422, "content_policy_violation", "The content was flagged by a content checker."),
    (500, "downstream_service_error", "The video model failed to generate a video."),
)


@dataclass
class Job:
    id: str
    app: str  # owner/app, without the endpoint sub-path
    input: Json
    webhook: str | None
    submitted: float
    started: float  # leaves the queue
    done_at: float
    problems: list[Json]  # why the model rejects it (pydantic-style `detail`), if it does
    problem_code: int = 422
    outcome: tuple[int, Json] | None = None  # the result's HTTP status and body, once finished
    rendered: bool = False


class FalEmulator:
    def __init__(
        self, knobs: Knobs, data_dir: Path, base_url: str, user_id: str,
        signing_key: Ed25519PrivateKey, clock: Callable[[], float],
        webhook_client: httpx.AsyncClient | None, fps: int, retry_delays: Sequence[float],
    ) -> None:  # fmt: skip
        self.knobs, self.data_dir, self.base_url = knobs, data_dir, base_url.rstrip("/")
        self.user_id, self.key, self.clock, self.fps = user_id, signing_key, clock, fps
        self.retry_delays = tuple(retry_delays)
        self.http, self._own_http = webhook_client, webhook_client is None
        self.jobs: dict[str, Job] = {}
        self._tasks: set[asyncio.Task[None]] = set()
        self._parked: tuple[str, bytes, dict[str, str], int] | None = None

    async def aclose(self) -> None:
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        if self._own_http and self.http is not None:
            await self.http.aclose()

    def _spawn(self, coro: Coroutine[Any, Any, None]) -> None:
        task = asyncio.get_running_loop().create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def submit(self, request: Request) -> Response:
        if (refusal := await self._gate(request)) is not None:
            return refusal
        endpoint = request.path_params["endpoint"].strip("/")
        app = _app_of(endpoint)
        if app is None:
            return _json(404, {"detail": f"Application '{endpoint}' not found"})
        try:
            data = json.loads(await request.body() or b"{}")
        except ValueError:
            return _json(422, {"detail": "Request body is not valid JSON"})  # unverified
        if not isinstance(data, dict):
            return _json(422, {"detail": "Request body must be a JSON object"})  # unverified
        now, rid, latency = self.clock(), str(uuid.uuid4()), max(0.0, self.knobs.latency)
        problems, start = _validate(endpoint, data), now + latency * QUEUE_SHARE
        webhook = request.query_params.get("fal_webhook") or None
        done = start if problems else now + latency  # the model refuses bad input at once
        job = self.jobs[rid] = Job(rid, app, data, webhook, now, start, done, problems)
        if not problems and self.knobs.chance(self.knobs.fail_rate):
            job.problem_code, kind, message = self.knobs.rng.choice(FAILURES)
            job.problems = [{"loc": ["body"], "msg": message, "type": kind}]
        self._spawn(self._run(job))
        body = {**self._urls(job), "status": "IN_QUEUE", "queue_position": self._position(job)}
        return _json(200, {**body, **({"gateway_request_id": rid} if webhook else {})})

    async def status(self, request: Request) -> Response:
        job = await self._job(request)
        if isinstance(job, Response):
            return job
        logs = request.query_params.get("logs") in ("1", "true")
        body: Json = {**self._urls(job), "logs": None, "metrics": {}}
        if job.outcome is not None:
            code, result = job.outcome
            if code >= 400:  # unverified: fal's exact `error` text for failed requests
                error_type, message = _describe(result)
                body.update(error=message, error_type=error_type)
            body.update(status="COMPLETED", logs=[] if logs else None)
            body["metrics"] = {"inference_time": round(job.done_at - job.submitted, 3)}
            return _json(200, body)
        if self.clock() < job.started:
            return _json(202, {**body, "status": "IN_QUEUE", "queue_position": self._position(job)})
        if logs:
            span = max(job.done_at - job.submitted, 1e-9)
            percent = min(99, int(100 * (self.clock() - job.submitted) / span))
            stamp = datetime.fromtimestamp(self.clock(), UTC).isoformat()
            message = f"Generating video: {percent}%"
            body["logs"] = [{"message": message, "level": "INFO", "source": "user",
                             "timestamp": stamp}]  # fmt: skip
        return _json(202, {**body, "status": "IN_PROGRESS"})

    async def result(self, request: Request) -> Response:
        job = await self._job(request)
        if isinstance(job, Response):
            return job
        if job.outcome is None:  # unverified: fal's code for "not ready" (clients see 400)
            return _json(400, {"detail": "Request is still in progress"})
        code, body = job.outcome
        headers = {"X-Fal-Error-Type": body["error_type"]} if "error_type" in body else {}
        if code >= 400:
            headers["X-Fal-Retryable"] = "false"
        return _json(code, body, headers)

    async def cancel(self, request: Request) -> Response:
        job = await self._job(request, missing={"status": "NOT_FOUND"})
        if isinstance(job, Response):
            return job
        if job.outcome is not None:
            return _json(400, {"status": "ALREADY_COMPLETED"})
        # fal only signals a running app, which may ignore it; the emulated app always stops.
        self._finish(job, CANCELED)
        return _json(202, {"status": "CANCELLATION_REQUESTED"})

    async def file(self, request: Request) -> Response:
        name = request.path_params["name"]
        path = self.data_dir / name
        if not re.fullmatch(r"[0-9a-f-]{36}\.mp4", name) or not path.is_file():
            return _json(404, {"detail": "File not found"})
        return FileResponse(path, media_type="video/mp4")

    async def _run(self, job: Job) -> None:
        if not job.problems:
            ratio = job.input.get("aspect_ratio")
            width, height = SIZES.get(ratio if isinstance(ratio, str) else "", SIZES["16:9"])
            seconds = _seconds(job.input.get("duration"))
            seed = job.input.get("seed")
            spec = RenderSpec(width, height, seconds, self.fps, str(job.input["prompt"]), seed)
            try:
                await asyncio.to_thread(render_video, spec, self.data_dir / f"{job.id}.mp4")
                job.rendered = True
            except Exception as error:  # the emulated model crashed: a 500 model error
                job.problem_code = 500
                job.problems = [{"loc": ["body"], "msg": f"render failed: {error}",
                                 "type": "internal_server_error"}]  # fmt: skip
        while job.outcome is None and self.clock() < job.done_at:  # noqa: ASYNC110 (any clock)
            await asyncio.sleep(TICK)
        self._advance(job)

    def _advance(self, job: Job) -> None:
        """Finish the job if the clock says it is done (called by pollers and by _run)."""
        if job.outcome is not None or self.clock() < job.done_at:
            return
        if job.problems:
            self._finish(job, (job.problem_code, {"detail": job.problems}))
        elif job.rendered:
            video = self.data_dir / f"{job.id}.mp4"
            file = {"url": f"{self.base_url}/files/{job.id}.mp4", "content_type": "video/mp4",
                    "file_name": "output.mp4", "file_size": video.stat().st_size}  # fmt: skip
            seed = job.input.get("seed")
            self._finish(job, (200, {"video": file, "seed": seed if seed is not None else 42}))

    def _finish(self, job: Job, outcome: tuple[int, Json]) -> None:
        job.outcome = outcome
        if job.webhook:
            self._spawn(self._deliver(job, job.webhook, outcome))

    async def _deliver(self, job: Job, url: str, outcome: tuple[int, Json]) -> None:
        code, payload = outcome
        body: Json = {"request_id": job.id, "gateway_request_id": job.id}
        if code < 400:
            body.update(status="OK", payload=payload)
        else:
            body.update(status="ERROR", error=f"Invalid status code: {code}", payload=payload)
        raw, knobs = json.dumps(body).encode(), self.knobs
        if knobs.chance(knobs.webhook_loss):
            return
        copies = 2 if knobs.chance(knobs.webhook_duplicate) else 1
        if knobs.webhook_delay > 0:
            await asyncio.sleep(knobs.webhook_delay)
        delivery = (url, raw, self._sign(job.id, raw), copies)
        if self._parked is None and knobs.chance(knobs.webhook_reorder):
            self._parked = delivery  # held back until the next delivery overtakes it
            await asyncio.sleep(REORDER_HOLD)
            if self._parked is delivery:  # nothing overtook it in time
                self._parked = None
                await self._post(*delivery)
            return
        await self._post(*delivery)
        parked, self._parked = self._parked, None
        if parked is not None:
            await self._post(*parked)

    async def _post(self, url: str, body: bytes, headers: dict[str, str], copies: int) -> None:
        self.http = self.http or httpx.AsyncClient()
        for delay in (0.0, *self.retry_delays):  # fal retries 10 times over ~2 h, freshly signed
            if delay:
                await asyncio.sleep(delay)
                headers = self._sign(headers["X-Fal-Webhook-Request-Id"], body)
            with contextlib.suppress(httpx.HTTPError):
                answers = [await self.http.post(url, content=body, headers=headers, timeout=15)
                           for _ in range(copies)]  # fmt: skip
                if any(answer.is_success for answer in answers):
                    return

    def _sign(self, request_id: str, body: bytes) -> dict[str, str]:
        stamp = str(int(self.clock()))
        digest = hashlib.sha256(body).hexdigest()
        message = "\n".join((request_id, self.user_id, stamp, digest)).encode()
        return {"Content-Type": "application/json", "X-Fal-Webhook-Request-Id": request_id,
                "X-Fal-Webhook-User-Id": self.user_id, "X-Fal-Webhook-Timestamp": stamp,
                "X-Fal-Webhook-Signature": self.key.sign(message).hex()}  # fmt: skip

    async def _gate(self, request: Request) -> Response | None:
        """The error knobs, then fal's `Authorization: Key …` check."""
        knobs = self.knobs
        if knobs.chance(knobs.error_rate):
            kind = knobs.rng.choice(knobs.error_kinds)
            if kind == "timeout":
                await asyncio.sleep(HANG)  # the caller's timeout fires long before
            code, body = ERRORS.get(kind, ERRORS["5xx"])
            return _json(
                code, body, {"Retry-After": str(knobs.retry_after)} if code == 429 else None
            )
        scheme, _, key = request.headers.get("authorization", "").partition(" ")
        if scheme != "Key" or not key.strip():
            return _json(401, {"detail": "Authentication is required to access this application."})
        return None

    async def _job(self, request: Request, missing: Json | None = None) -> Job | Response:
        """The job a status/result/cancel URL names, brought up to date with the clock."""
        refusal = await self._gate(request)
        if refusal is not None:
            return refusal
        job = self.jobs.get(request.path_params["request_id"])
        if job is None or job.app != request.path_params["app"]:  # a sub-path here is a 404
            return _json(404, missing or {"detail": "Request not found"})
        self._advance(job)
        return job

    def _urls(self, job: Job) -> Json:
        base = f"{self.base_url}/{job.app}/requests/{job.id}"
        return {"request_id": job.id, "response_url": base, "status_url": f"{base}/status",
                "cancel_url": f"{base}/cancel"}  # fmt: skip

    def _position(self, job: Job) -> int:
        now = self.clock()
        return sum(1 for j in self.jobs.values() if j.submitted < job.submitted and now < j.started)


def public_jwks(*keys: Ed25519PrivateKey) -> Json:
    """The JWKS document (OKP/Ed25519 JWKs) that publishes these signing keys."""
    found = []
    for key in keys:
        raw = key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
        x = base64.urlsafe_b64encode(raw).rstrip(b"=").decode()
        kid = hashlib.sha256(raw).hexdigest()[:16]
        found.append(
            {"kty": "OKP", "crv": "Ed25519", "x": x, "kid": kid, "use": "sig", "alg": "EdDSA"}
        )
    return {"keys": found}


def _app_of(endpoint: str) -> str | None:
    parts = endpoint.split("/")
    size = 3 if parts[0] in NAMESPACES else 2
    return "/".join(parts[:size]) if len(parts) >= size and all(parts[:size]) else None


def _validate(endpoint: str, data: Json) -> list[Json]:
    """What a fal video model's pydantic input schema would say about `data`."""
    prompt, url, seed = data.get("prompt"), data.get("image_url"), data.get("seed")
    i2v = "image-to-video" in endpoint or endpoint.endswith("/i2v")
    checks = (
        ("prompt", "missing", "Field required", prompt is None),
        ("prompt", "string_type", "Input should be a valid string", not isinstance(prompt, str)),
        ("prompt", "string_too_long", "String should have at most 2500 characters",
         isinstance(prompt, str) and len(prompt) > 2500),
        ("image_url", "missing", "Field required", i2v and url is None),
        ("image_url", "url_parsing", "Input should be a valid URL",
         i2v and not str(url).startswith(("http://", "https://", "data:"))),
        ("duration", "literal_error", "Input should be a duration of 1 to 20 seconds",
         "duration" in data and _seconds(data["duration"], 0.0) == 0.0),
        ("aspect_ratio", "literal_error", f"Input should be one of {', '.join(SIZES)}",
         data.get("aspect_ratio", "auto") not in (*SIZES, "auto")),
        ("seed", "int_type", "Input should be a valid integer",
         seed is not None and (not isinstance(seed, int) or isinstance(seed, bool))),
        ("negative_prompt", "string_type", "Input should be a valid string",
         not isinstance(data.get("negative_prompt", ""), str)),
    )  # fmt: skip
    problems: list[Json] = []
    for field, kind, msg, failed in checks:
        if failed and not any(p["loc"][1] == field for p in problems):  # one per field
            problems.append(
                {"loc": ["body", field], "msg": msg, "type": kind, "input": data.get(field)}
            )
    return problems


def _seconds(value: object, default: float = 5.0) -> float:
    if value is None:
        return default
    text = str(value).strip().removesuffix("s")
    return float(text) if re.fullmatch(r"\d{1,2}", text) and 1 <= int(text) <= 20 else default


def _describe(body: Json) -> tuple[str | None, str]:
    detail = body.get("detail")
    if isinstance(detail, list) and detail and isinstance(detail[0], dict):
        return detail[0].get("type"), str(detail[0].get("msg"))
    return body.get("error_type"), str(detail)


def _json(code: int, body: Json, headers: dict[str, str] | None = None) -> Response:
    return JSONResponse(body, status_code=code, headers=headers)


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
        return _json(200, public_jwks(emu.key))

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        yield
        await emu.aclose()

    requests = "/{app:path}/requests/{request_id}"
    routes = [
        Route("/.well-known/jwks.json", jwks, methods=["GET"]),
        Route("/files/{name}", emu.file, methods=["GET"]),
        Route(requests + "/status", emu.status, methods=["GET"]),
        Route(requests + "/cancel", emu.cancel, methods=["PUT"]),
        Route(requests, emu.result, methods=["GET"]),
        Route("/{endpoint:path}", emu.submit, methods=["POST"]),
    ]
    app = Starlette(routes=routes, lifespan=lifespan)
    app.state.emulator = emu
    return app
