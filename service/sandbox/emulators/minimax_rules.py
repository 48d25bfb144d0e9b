"""MiniMax's video API as the MiniMax emulator speaks it: the per-model input rules of
`POST /v1/video_generation`, `base_resp` error answers and output sizes. Stateless;
`service.sandbox.emulators.minimax` re-exports the public names.

Rules follow MiniMax's public docs as mirrored by ComfyUI, Runware and the vidgate research
notes (§2.4); the ones marked "unverified" are our best reading, not checked at the source.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from starlette.responses import JSONResponse, Response

Json = dict[str, Any]
PROMPT_LIMIT = 2000
OK = {"status_code": 0, "status_msg": "success"}
NOMINAL = {
    "512P": (912, 512),
    "720P": (1280, 720),
    "768P": (1366, 768),  # 512P: unverified
    "1080P": (1920, 1080),
}
# what the `error_kinds` knobs answer: (HTTP status, base_resp code, message). MiniMax answers
# its own errors with HTTP 200 and a non-zero base_resp; "http429"/"http5xx" stand for the edge
# in front of it (unverified: how often it answers with a real HTTP error).
ERRORS: dict[str, tuple[int, int, str]] = {
    "4xx": (200, 1008, "insufficient balance"),
    "5xx": (200, 1000, "unknown error"),
    "429": (200, 1002, "rate limit exceeded(RPM)"),
    "auth": (
        200,
        1004,
        "login fail: Please carry the API secret key in the 'Authorization' "
        "field of the request header",
    ),
    "http429": (429, 1002, "Too Many Requests"),
    "http5xx": (502, 1000, "Bad Gateway"),
}
FAILURES = (  # what a task ends with under `fail_rate` (the query's base_resp; unverified)
    (1027, "output video sensitive"),
    (1000, "video generation failed"),
)


@dataclass(frozen=True)
class Model:
    text_to_video: bool  # may run without first_frame_image
    image_to_video: bool
    durations: dict[str, tuple[int, ...]]  # resolution → allowed durations
    default_resolution: str
    last_frame: bool = False  # takes last_frame_image
    image_only: tuple[str, ...] = ()  # resolutions only offered with a first frame


HAILUO: dict[str, tuple[int, ...]] = {"768P": (6, 10), "1080P": (6,)}  # 1080P only for 6 s
V01: dict[str, tuple[int, ...]] = {"720P": (6,)}
MODELS = {
    "MiniMax-Hailuo-2.3": Model(True, True, HAILUO, "768P"),
    "MiniMax-Hailuo-2.3-Fast": Model(False, True, HAILUO, "768P"),
    "MiniMax-Hailuo-02": Model(
        True, True, {"512P": (6, 10), **HAILUO}, "768P", last_frame=True, image_only=("512P",)
    ),
    "T2V-01-Director": Model(True, False, V01, "720P"),
    "T2V-01": Model(True, False, V01, "720P"),
    "I2V-01-Director": Model(False, True, V01, "720P"),
    "I2V-01-live": Model(False, True, V01, "720P"),
    "I2V-01": Model(False, True, V01, "720P"),
}


def base_resp(code: int, message: str) -> Json:
    return {"status_code": code, "status_msg": message}


def reply(body: Json, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    return JSONResponse(body, status_code=status, headers=headers)


def refusal(code: int, message: str, **fields: Any) -> Response:
    """MiniMax's error answer: HTTP 200 with a non-zero base_resp."""
    return reply({**fields, "base_resp": base_resp(code, message)})


def settle(data: Json) -> Json | str:
    """`data` with MiniMax's defaults filled in, or why it is invalid (a 2013 message)."""
    name = data.get("model")
    model = MODELS.get(name) if isinstance(name, str) else None
    if model is None:
        return f"invalid params, unknown model {data.get('model')!r}"
    prompt, first, last = (
        data.get("prompt"),
        data.get("first_frame_image"),
        data.get("last_frame_image"),
    )
    resolution = data.get("resolution", model.default_resolution)
    duration = data.get("duration", 6)
    problems = (
        (prompt is not None and not isinstance(prompt, str), "prompt must be a string"),
        (
            isinstance(prompt, str) and len(prompt) > PROMPT_LIMIT,
            f"prompt exceeds {PROMPT_LIMIT} characters",
        ),
        (not prompt and not first, "prompt is required"),
        (first is not None and not _image(first), "first_frame_image must be a URL or data URI"),
        (last is not None and not _image(last), "last_frame_image must be a URL or data URI"),
        (first is None and not model.text_to_video, f"{name} requires first_frame_image"),
        (first is not None and not model.image_to_video, f"{name} takes no first_frame_image"),
        (last is not None and not model.last_frame, f"{name} takes no last_frame_image"),
        (last is not None and first is None, "last_frame_image needs first_frame_image"),
        (resolution not in model.durations, f"resolution {resolution!r} is not supported"),
        (resolution in model.image_only and first is None, f"{resolution} needs first_frame_image"),
        (
            not isinstance(duration, int)
            or isinstance(duration, bool)
            or duration not in model.durations.get(resolution, ()),
            f"duration {duration!r} is not supported at {resolution}",
        ),
        (not isinstance(data.get("prompt_optimizer", True), bool), "prompt_optimizer: a bool"),
        (not isinstance(data.get("callback_url", ""), str), "callback_url must be a string"),
    )
    for failed, message in problems:
        if failed:
            return f"invalid params, {message}"
    return {**data, "resolution": resolution, "duration": duration}


def render_size(resolution: str) -> tuple[int, int]:
    """The tiny size the emulator renders a resolution at (1/16 of nominal, even)."""
    width, height = NOMINAL.get(resolution, NOMINAL["768P"])
    return max(16, round(width / 32) * 2), max(16, round(height / 32) * 2)


def _image(value: Any) -> bool:
    return isinstance(value, str) and value.startswith(("https://", "http://", "data:image/"))
