"""Protocol pieces of the OpenAI Sora videos emulator: the create-field rules, the video
object, OpenAI's error shape and the `error_kinds` answers. No I/O.

Ground truth is openai-python 3.57 (`types/video.py`, `video_create_params.py`); wordings of
error messages and failure reasons are not verified against the live API.
"""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass, field
from typing import Any

from starlette.responses import JSONResponse

Json = dict[str, Any]
MODELS = {
    "sora-2": "sora-2",
    "sora-2-pro": "sora-2-pro",
    "sora-2-2025-10-06": "sora-2",
    "sora-2-pro-2025-10-06": "sora-2-pro",
    "sora-2-2025-12-08": "sora-2",
}
SECONDS = ("4", "8", "12")
SIZES = ("720x1280", "1280x720", "1024x1792", "1792x1024")
PRO_SIZES = frozenset({"1024x1792", "1792x1024"})
SCALE = 8  # the emulator renders at 1/8 of the size asked for (an 1280x720 job → 160x90)
EXPIRY = 3600  # seconds the assets stay downloadable (unverified)
ERRORS: dict[str, tuple[int, str, str | None, str]] = {  # what the `error_kinds` knobs answer
    "4xx": (
        400,
        "invalid_request_error",
        "billing_hard_limit_reached",
        "Billing hard limit has been reached.",
    ),
    "5xx": (500, "server_error", None, "The server had an error while processing your request."),
    "429": (429, "requests", "rate_limit_exceeded", "Rate limit reached for videos."),
    "timeout": (504, "server_error", None, "Gateway timeout."),
}
FAILURES = (  # (code, message) under `fail_rate` (unverified wording)
    ("moderation_blocked", "Your request was blocked by our moderation system."),
    ("video_generation_failed", "Video generation failed. Please try again."),
)


@dataclass
class Video:
    """One video job; `status` is None until it ends (the clock says queued/in_progress)."""

    id: str
    model: str
    prompt: str
    seconds: str
    size: str
    image: bytes | None
    created: float
    started: float  # when it leaves `queued`
    done_at: float
    status: str | None = None  # completed | failed, once ended
    completed: float | None = None
    error: tuple[str, str] | None = None
    rendered: bool = False
    deleted: bool = False
    extra: Json = field(default_factory=dict)


def error(
    status: int,
    message: str,
    kind: str = "invalid_request_error",
    param: str | None = None,
    code: str | None = None,
) -> JSONResponse:
    """OpenAI's error body: `{"error": {message, type, param, code}}`."""
    body = {"error": {"message": message, "type": kind, "param": param, "code": code}}
    return JSONResponse(body, status_code=status)


def create_problem(fields: Json) -> tuple[str, str] | None:
    """The first invalid create field as (param, message), or None."""
    prompt = fields.get("prompt")
    if not isinstance(prompt, str) or not prompt.strip():
        return "prompt", "Missing required parameter: 'prompt'."
    model = fields.get("model", "sora-2")
    if model not in MODELS:
        return (
            "model",
            f"Invalid value: '{model}'. Supported values are: 'sora-2' and 'sora-2-pro'.",
        )
    seconds = fields.get("seconds", "4")
    if seconds not in SECONDS:
        return "seconds", f"Invalid value: '{seconds}'. Supported values are: '4', '8', and '12'."
    size = fields.get("size", "720x1280")
    if size not in SIZES:
        return "size", f"Invalid value: '{size}'. Supported values are: {', '.join(SIZES)}."
    if size in PRO_SIZES and MODELS[str(model)] != "sora-2-pro":
        return "size", f"The size '{size}' is only supported by sora-2-pro."
    return None


def data_url_bytes(url: str) -> bytes | None:
    """The bytes of a base64 `data:` URL (None when it is not one)."""
    head, comma, payload = url.partition(",")
    if not comma or not head.startswith("data:") or not head.endswith(";base64"):
        return None
    try:
        return base64.b64decode(payload, validate=True)
    except (binascii.Error, ValueError):
        return None


def dimensions(size: str) -> tuple[int, int]:
    width, _, height = size.partition("x")
    return int(width), int(height)


def phase(video: Video, now: float) -> str:
    if video.status is not None:
        return video.status
    return "queued" if now < video.started else "in_progress"


def progress(video: Video, now: float) -> int:
    """0 while queued, then moving evenly to 99; 100 once completed."""
    if video.status == "completed":
        return 100
    if video.status is not None or now < video.started:
        return 0
    share = (now - video.started) / max(video.done_at - video.started, 1e-9)
    return max(0, min(99, int(share * 100)))


def video_json(video: Video, now: float) -> Json:
    """The video object as `GET /v1/videos/{id}` answers it."""
    completed = round(video.completed) if video.completed is not None else None
    failed = video.error if video.status == "failed" else None
    err = {"code": failed[0], "message": failed[1]} if failed else None
    return {
        "id": video.id,
        "object": "video",
        "model": video.model,
        "status": phase(video, now),
        "progress": progress(video, now),
        "created_at": round(video.created),
        "completed_at": completed,
        "expires_at": completed + EXPIRY if completed and video.status == "completed" else None,
        "prompt": video.prompt,
        "seconds": video.seconds,
        "size": video.size,
        "error": err,
        "remixed_from_video_id": None,
    }
