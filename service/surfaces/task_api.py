"""The video-generation task API over vidgate: `POST /v1/video/generations` submits a task,
`GET /v1/video/generations/{task_id}` polls it until `status` is `completed` and `url` is set.

Requests are translated into vidgate's canonical create fields and go through the core's
`CreateVideo` like every other surface. Where the document is thin:

- The task object: `task_id` (the vidgate video id, so `GET /v1/videos/{id}` shows the same
  job), `status` (`queued`, `processing`, `completed`, `failed`; a canceled job is `failed`
  with error code `canceled`), `model` (vidgate's id for it), `progress` (0-100),
  `created_at`, `completed_at` (Unix seconds), `metadata` (duration, fps, width, height and
  seed it is made with), and once completed `url` and `format` (`mp4`); once failed
  `error: {code, message}`. `url` is usable without a key (a player or a CDN fetches it): a
  signed link to vidgate's stored copy (`/v1/video/files/<token>.mp4`,
  `service.surfaces.output_files`), valid for 3 days by default (`VIDGATE_OUTPUT_LINK_TTL_S`;
  poll the task again for a fresh one); a tampered or expired link is a 403.
- `Idempotency-Key` (a header, as on `/v1/videos`): a retried submit with the same key and
  body answers with the same task; the same key with another body is a 409
  `idempotency_key_reused`.
- Errors are OpenAI's shape, `{"error": {"message", "type", "param", "code"}}`, naming this
  API's fields (`duration`, `image`, `width/height`, `metadata.negative_prompt` …).
- `width` × `height` is used as is when the model renders that frame; otherwise it selects
  the model's frame with the same aspect ratio (±1 %) at the smallest resolution at least as
  large (1280×720 on a 1080p-only model → 1920×1080); no such aspect ratio is a 400. Zero
  `duration`, `width`, `height` or `fps` count as omitted (Go clients send zeros).
- `image` may be an http(s) URL, a data: URI, or bare base64 of a PNG, JPEG, WebP or GIF.
- `n` must be 1, `response_format` `url`; `user` (at most 256 characters) is recorded
  for audit as the job's `params.user` and never sent upstream.
- `metadata` takes `negative_prompt`, `aspect_ratio`, `resolution`, `audio` and `style`
  (checked against the model like vidgate's own fields: `style` is for the models that list
  `styles`, e.g. Pixverse's anime or clay) and `quality_level`, the model's quality tier by
  its vendor's name (Kling: `std` is 720p, `pro` 1080p; it selects the resolution). A key the
  model does not take, or any other key, is a 400 naming it: nothing is silently dropped.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import functools
import re
from collections.abc import Awaitable, Callable, Mapping
from datetime import datetime
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from events.apikey import VIDEOS_READ, VIDEOS_WRITE
from events.ids import parse_video_id, video_id
from events.job import CANCELED, COMPLETED, FAILED, IN_PROGRESS, QUEUED, Job
from service.catalog import ASPECT_RATIOS, RESOLUTIONS, Catalog, ModelSpec
from service.runtime import Runtime
from service.surfaces.body import read_fields
from service.surfaces.errors import ApiError, invalid, not_found
from service.surfaces.facade import field_only
from service.surfaces.idempotency import NAMES as KEY_NAMES
from service.surfaces.idempotency import idempotency_key
from service.surfaces.output_files import file_routes, output_url
from service.videos.commands import CreateVideo, create_video
from service.videos.errors import FIRST_FRAME, Refused
from service.videos.shape import as_int

SURFACE = "task_api"
FIELDS = (
    "model",
    "prompt",
    "image",
    "duration",
    "width",
    "height",
    "fps",
    "seed",
    "n",
    "response_format",
    "user",
    "metadata",
)
METADATA = ("negative_prompt", "aspect_ratio", "resolution", "audio", "style", "quality_level")
STATUSES = {
    QUEUED: "queued",
    IN_PROGRESS: "processing",
    COMPLETED: "completed",
    FAILED: "failed",
    CANCELED: "failed",
}
# vidgate's parameter names in errors → this API's.
RENAMED = {
    "seconds": "duration",
    "image_url": "image",
    "input_reference": "image",
    "size": "width/height",
    **{name: f"metadata.{name}" for name in METADATA},
    **KEY_NAMES,
}
IN_OUR_WORDS = field_only(RENAMED, {FIRST_FRAME: "image"})
ASPECT_TOLERANCE = 0.01
MAX_PIXELS = 16_384  # per side; beyond any model's frame (and any float a ratio needs)
IMAGE_TYPES = {
    b"\x89PNG": "image/png",
    b"\xff\xd8\xff": "image/jpeg",
    b"GIF8": "image/gif",
    b"RIFF": "image/webp",
}
BARE_BASE64 = re.compile(r"[A-Za-z0-9+/\s]{16,}={0,2}\s*")
URL_OR_DATA = re.compile(r"(?i)(https?://|data:)")
FILES = "/v1/video/files"  # where the signed video links point

Endpoint = Callable[[Request], Awaitable[Response]]


def task_errors(endpoint: Endpoint) -> Endpoint:
    """Every refusal of this surface, in its (OpenAI's) shape: the one place they are mapped.

    The shape is vidgate's own, so a store outage is left to the app-wide 503 handler."""

    @functools.wraps(endpoint)
    async def answer(request: Request) -> Response:
        try:
            return await endpoint(request)
        except Refused as error:
            refusal = IN_OUR_WORDS(error)
            return JSONResponse(refusal.body(), refusal.status, headers=refusal.headers)
        except ApiError as error:
            return JSONResponse(error.body(), error.status, headers=error.headers)

    return answer


def _runtime(request: Request) -> Runtime:
    rt: Runtime = request.app.state.runtime
    return rt


@task_errors
async def create_task(request: Request) -> Response:
    rt = _runtime(request)
    principal = await rt.authenticator.authenticate(request)
    principal.require(VIDEOS_WRITE)
    key = idempotency_key(request)
    fields = canonical_fields(await read_fields(request, rt.settings.max_body_bytes), rt.catalog)
    command = CreateVideo(
        principal.tenant,
        fields,
        idempotency_key=key,
        surface=SURFACE,
        **principal.as_submitter(),
    )
    job, _ = await run_in_threadpool(create_video, rt, command)
    return JSONResponse(task_object(job, rt, str(request.base_url)))


@task_errors
async def retrieve_task(request: Request) -> Response:
    rt = _runtime(request)
    principal = await rt.authenticator.authenticate(request)
    principal.require(VIDEOS_READ)
    task_id = request.path_params["task_id"]
    job_id = parse_video_id(task_id)
    job = None if job_id is None else await run_in_threadpool(rt.gateway.find_job, job_id)
    if job is None or job.tenant != principal.tenant or job.deleted:
        raise not_found(f"no task with id {task_id!r}", param="task_id")
    return JSONResponse(task_object(job, rt, str(request.base_url)))


def canonical_fields(body: Mapping[str, Any], catalog: Catalog) -> dict[str, Any]:
    """This API's request as vidgate's create fields, or an ApiError naming the bad field."""
    unknown = sorted(set(body) - set(FIELDS))
    if unknown:
        raise invalid(
            unknown[0],
            f"unknown parameter {unknown[0]!r}; the parameters are {', '.join(FIELDS)}",
            "unknown_parameter",
        )
    _check_unused(body)
    model, image = body.get("model"), _image(body.get("image"))
    if model is None or model == "":
        raise invalid(
            "model",
            "model is required, e.g. kling-v2-5-turbo or veo_3_1",
            "missing_required_parameter",
        )
    spec = _spec(catalog, model, image is not None)
    fields = {
        "model": model,
        "prompt": body.get("prompt"),
        "image_url": image,
        "seconds": _given(body.get("duration")),
        "fps": _hint_fps(body, spec),
        "seed": _hint_seed(body, spec),
        "user": body.get("user"),
        **_metadata(body.get("metadata"), spec),
    }
    dimensions = _dimensions(body)
    if dimensions:
        fields["size"] = frame(spec, *dimensions, resolution=fields.get("resolution"))
    return fields


# This API treats `fps` and `seed` as hints a model may not take (its own example sends both
# to Kling, which renders 24 fps and takes no seed): checked, then dropped where the model
# has no such choice. vidgate's own API refuses them instead.
def _hint_fps(body: Mapping[str, Any], spec: ModelSpec | None) -> Any:
    fps = _given(body.get("fps"))
    if fps is None or spec is None:
        return fps
    return fps if as_int("fps", fps) in spec.fps else None


def _hint_seed(body: Mapping[str, Any], spec: ModelSpec | None) -> Any:
    seed = body.get("seed")
    if seed is None or spec is None:
        return seed
    as_int("seed", seed)
    return seed if spec.seed else None


def _check_unused(body: Mapping[str, Any]) -> None:
    """`n` and `response_format` change nothing here, but only their valid values pass."""
    n = body.get("n")
    if n is not None and as_int("n", n) != 1:
        raise invalid(
            "n", f"only n=1 is supported (one task makes one video); got {n!r}", "unsupported_value"
        )
    response_format = body.get("response_format")
    if response_format not in (None, "", "url"):
        raise invalid(
            "response_format",
            f"response_format must be url; got {response_format!r}",
            "unsupported_value",
        )


def _given(value: Any) -> Any:
    """None for a zero (what Go clients send for a number they leave unset)."""
    return None if not isinstance(value, bool) and value == 0 else value


def _metadata(value: Any, spec: ModelSpec | None) -> dict[str, Any]:
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise invalid("metadata", "metadata must be an object")
    for key in value:
        if key not in METADATA:
            raise invalid(
                f"metadata.{key}",
                f"metadata.{key} is not supported; metadata takes {', '.join(METADATA)}",
                "unsupported_parameter",
            )
    fields = dict(value)
    level = fields.pop("quality_level", None)
    if level is not None and level != "" and spec is not None:
        resolution = quality_resolution(spec, level)
        if fields.get("resolution") not in (None, "", resolution):
            raise invalid(
                "metadata.quality_level",
                f"quality_level {level} is {resolution}, "
                f"but metadata.resolution asks {fields['resolution']}",
            )
        fields["resolution"] = resolution
    return fields


def quality_resolution(spec: ModelSpec, level: Any) -> str:
    """The resolution that selects quality tier `level` of the model, or a 400."""
    offered = spec.offered_quality_levels()
    if not offered:
        raise invalid(
            "metadata.quality_level",
            f"{spec.id} has no quality levels; choose its resolution (metadata.resolution) instead",
            "unsupported_parameter",
        )
    if not isinstance(level, str) or level not in offered:
        tiers = ", ".join(f"{name} ({res})" for name, res in offered.items())
        raise invalid(
            "metadata.quality_level",
            f"metadata.quality_level must be one of {tiers} for {spec.id}; got {level!r}",
        )
    return offered[level]


def _image(value: Any) -> Any:
    """A bare base64 image as a data: URI; a URL or data: URI as given (`CreateVideo` checks
    those)."""
    if not isinstance(value, str) or value == "" or URL_OR_DATA.match(value):
        return value
    compact = "".join(value.split())
    kind = None
    if BARE_BASE64.fullmatch(value):
        with contextlib.suppress(binascii.Error, ValueError):
            head = base64.b64decode(compact[:16])
            kind = next((t for magic, t in IMAGE_TYPES.items() if head.startswith(magic)), None)
    if kind is None:
        raise invalid(
            "image",
            "image must be an http(s) URL, a data: URI, or base64 of a PNG, "
            "JPEG, WebP or GIF image",
            "invalid_image",
        )
    return f"data:{kind};base64,{compact}"


def _dimensions(body: Mapping[str, Any]) -> tuple[int, int] | None:
    width, height = _pixels(body, "width"), _pixels(body, "height")
    if width is None and height is None:
        return None
    if width is None or height is None:
        missing = "width" if width is None else "height"
        raise invalid(
            missing, "give width and height together (or neither)", "missing_required_parameter"
        )
    return width, height


def _pixels(body: Mapping[str, Any], name: str) -> int | None:
    value = _given(body.get(name))
    if value is None or value == "":
        return None
    number = as_int(name, value)
    if not 0 < number <= MAX_PIXELS:
        raise invalid(name, f"{name} must be a number of pixels from 1 to {MAX_PIXELS}")
    return number


def _spec(catalog: Catalog, model: Any, has_image: bool) -> ModelSpec | None:
    """The model a request will use (an image switches a text-only one to its twin)."""
    spec = catalog.resolve(model) if isinstance(model, str) else None
    if spec is not None and has_image and not spec.takes_image:
        return catalog.twin_of(spec) or spec
    return spec


def frame(model: ModelSpec | None, width: int, height: int, resolution: str | None = None) -> str:
    """The `size` for width × height: itself if the model renders it (or any size), else the
    model's frame of the same aspect ratio at `resolution` if one is asked for (and offered),
    else at the smallest resolution at least as large."""
    asked = f"{width}x{height}"
    if model is None or model.free_size:
        return asked
    rendered = model.frame_sizes().get(asked)  # (resolution, aspect ratio) if it renders it
    if rendered and (resolution not in model.resolutions or rendered[0] == resolution):
        return asked
    aspect = next(
        (
            name
            for name in model.aspect_ratios
            if abs(width * ASPECT_RATIOS[name][1] / (height * ASPECT_RATIOS[name][0]) - 1)
            <= ASPECT_TOLERANCE
        ),
        None,
    )
    if aspect is None:
        raise invalid(
            "width/height",
            f"width/height {asked} has no aspect ratio {model.id} "
            f"renders; allowed sizes: {', '.join(model.frame_sizes())}",
        )
    if resolution not in model.resolutions:
        by_size = sorted(model.resolutions, key=RESOLUTIONS.__getitem__)
        resolution = next((r for r in by_size if RESOLUTIONS[r] >= min(width, height)), by_size[-1])
    frame_width, frame_height = model.size_for(resolution, aspect)
    return f"{frame_width}x{frame_height}"


def task_object(job: Job, rt: Runtime, base_url: str) -> dict[str, Any]:
    """A job as this API shows a task."""
    task: dict[str, Any] = {
        "task_id": video_id(job.id),
        "status": STATUSES[job.status],
        "model": job.model,
        "progress": job.progress,
        "created_at": _epoch(job.created_on),
        "completed_at": _epoch(job.finished_at),
        "metadata": _made_with(job.params),
    }
    if job.status == COMPLETED:
        task["url"] = output_url(rt, base_url.rstrip("/"), FILES, job.id)
        task["format"] = "mp4"
    elif job.status == CANCELED:
        task["error"] = {"code": "canceled", "message": "the video was canceled"}
    elif job.status == FAILED:
        task["error"] = dict(job.error or {"code": "failed", "message": "the video failed"})
    return task


def _made_with(params: Mapping[str, Any]) -> dict[str, Any]:
    width, _, height = str(params.get("size", "")).partition("x")
    seconds = str(params.get("seconds", ""))
    return {
        "duration": float(seconds) if seconds.isdigit() else None,
        "fps": params.get("fps"),
        "width": int(width) if width.isdigit() else None,
        "height": int(height) if height.isdigit() else None,
        "seed": params.get("seed"),
    }


def _epoch(moment: datetime | None) -> int | None:
    return int(moment.timestamp()) if moment is not None else None


routes = [
    Route("/v1/video/generations", create_task, methods=["POST"]),
    Route("/v1/video/generations/{task_id}", retrieve_task, methods=["GET"]),
    *file_routes(FILES, task_errors),
]
