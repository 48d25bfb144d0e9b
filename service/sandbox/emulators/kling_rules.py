"""Kling's official video API as the Kling emulator speaks it: the JWT check, the input rules of
`POST /v1/videos/{text2video|image2video}`, the `{code, message, request_id}` envelope and its
error table. Stateless; `service.sandbox.emulators.kling` re-exports the public names.

Sources: Kling's public API docs as mirrored in third-party repositories (the error table with
its HTTP statuses, the text2video/image2video bodies, the callback protocol) and the vidgate
research notes (§2.5). Marked "unverified" where the docs say nothing and this is our guess.
"""

from __future__ import annotations

import uuid
from typing import Any

import jwt
from starlette.responses import JSONResponse, Response

Json = dict[str, Any]
PROMPT_LIMIT = 2500
KINDS = ("text2video", "image2video")
MODES, RATIOS, DURATIONS = ("std", "pro"), ("16:9", "9:16", "1:1"), ("5", "10")
T2V_MODELS = (
    "kling-v1",
    "kling-v1-6",
    "kling-v2-master",
    "kling-v2-1-master",
    "kling-v2-5-turbo",
    "kling-v2-6",
    "kling-v3",
)
# kling-v1-5 and kling-v2-1 are image-to-video only (unverified beyond the mirrored docs)
I2V_MODELS = (*T2V_MODELS, "kling-v1-5", "kling-v2-1")
SOUND_MODELS = ("kling-v2-6", "kling-v3")  # `sound` is "V2.6 and later" only
# Kling 3 renders 3 to 15 seconds (public client code; the docs mirrored here predate it)
MODEL_DURATIONS = {"kling-v3": tuple(str(s) for s in range(3, 16))}
# Kling's business codes and the HTTP status each comes with (the docs' error table)
HTTP_STATUS = {
    1000: 401,
    1001: 401,
    1002: 401,
    1003: 401,
    1004: 401,
    1100: 429,
    1101: 429,
    1102: 429,
    1103: 403,
    1200: 400,
    1201: 400,
    1202: 404,
    1203: 404,
    1300: 400,
    1301: 400,
    1302: 429,
    1303: 429,
    1304: 429,
    5000: 500,
    5001: 503,
    5002: 504,
}
# what the `error_kinds` knobs answer: (business code, message). Whether Kling sends a
# Retry-After header with 1302 is unverified: the emulator does (the contract needs one).
ERRORS: dict[str, tuple[int, str]] = {
    "4xx": (1102, "resource pack exhausted or expired"),  # HTTP 429, yet permanent
    "5xx": (5000, "internal server error"),
    "429": (1302, "request too fast, exceeds the platform rate limit"),
    "auth": (1000, "authentication failed"),
    "policy": (1301, "the input failed the content security policy"),
    "busy": (5001, "service temporarily unavailable"),
}
FAILURES = (  # a task's `task_status_msg` under `fail_rate` (wording unverified)
    "Failure to pass the risk control system",
    "video generation failed, internal error",
)


def envelope(data: Any, code: int = 0, message: str = "SUCCEED") -> Json:
    return {"code": code, "message": message, "request_id": str(uuid.uuid4()), "data": data}


def reply(data: Any) -> Response:
    return JSONResponse(envelope(data))


def refusal(code: int, message: str, headers: dict[str, str] | None = None) -> Response:
    """Kling's error answer: the business code's HTTP status, `code` ≠ 0, `data` null."""
    return JSONResponse(envelope(None, code, message), HTTP_STATUS.get(code, 400), headers)


def check_token(header: str, keys: tuple[str, str] | None, now: float) -> tuple[int, str] | None:
    """The refusal for an `Authorization` header, or None when its JWT is good at `now`.

    1001 empty, 1002 not a JWT, 1000 unknown access key or bad signature, 1003 not yet valid
    (`nbf`), 1004 expired (`exp`). Which code Kling gives a bad signature is unverified.
    With `keys` None any well-formed HS256 JWT with `iss`/`exp` passes, unverified."""
    scheme, _, token = header.partition(" ")
    if not header.strip():
        return 1001, "Authorization is empty"
    try:
        if scheme != "Bearer" or jwt.get_unverified_header(token).get("alg") != "HS256":
            return 1002, "Authorization is invalid"
        claims = jwt.decode(token, options={"verify_signature": False})
    except jwt.PyJWTError:
        return 1002, "Authorization is invalid"
    if not isinstance(claims.get("iss"), str) or not isinstance(claims.get("exp"), int | float):
        return 1002, "Authorization is invalid"
    if keys is not None:
        if claims["iss"] != keys[0]:
            return 1000, "Authentication failed: unknown access key"
        try:
            jwt.decode(
                token,
                keys[1],
                algorithms=["HS256"],
                options={"verify_exp": False, "verify_nbf": False},
            )
        except jwt.PyJWTError:
            return 1000, "Authentication failed: signature is invalid"
    nbf = claims.get("nbf")
    if isinstance(nbf, int | float) and now < nbf:
        return 1003, "Authorization is not yet valid"
    if now >= claims["exp"]:
        return 1004, "Authorization has expired"
    return None


def settle(kind: str, data: Json) -> Json | str:
    """`data` with Kling's defaults filled in, or why it is invalid (a 1201 message)."""
    name = data.get("model_name", "kling-v1")
    models = T2V_MODELS if kind == "text2video" else I2V_MODELS
    prompt, negative = data.get("prompt"), data.get("negative_prompt", "")
    image, tail = data.get("image"), data.get("image_tail")
    mode, ratio = data.get("mode", "std"), data.get("aspect_ratio", "16:9")
    duration, cfg, sound = data.get("duration", "5"), data.get("cfg_scale", 0.5), data.get("sound")
    problems = (
        (name not in models, f"model_name {name!r} is not supported by {kind}"),
        (kind == "text2video" and not (isinstance(prompt, str) and prompt), "prompt is required"),
        (prompt is not None and not isinstance(prompt, str), "prompt must be a string"),
        (
            isinstance(prompt, str) and len(prompt) > PROMPT_LIMIT,
            f"prompt exceeds {PROMPT_LIMIT} characters",
        ),
        (not isinstance(negative, str) or len(negative) > PROMPT_LIMIT, "negative_prompt invalid"),
        (kind == "image2video" and not image and not tail, "image or image_tail is required"),
        (kind == "text2video" and (image or tail), "text2video takes no image"),
        (image is not None and not _image(image), "image must be a URL or bare base64"),
        (tail is not None and not _image(tail), "image_tail must be a URL or bare base64"),
        (mode not in MODES, f"mode {mode!r} is not one of std, pro"),
        (ratio not in RATIOS, f"aspect_ratio {ratio!r} is not supported"),
        (
            duration not in MODEL_DURATIONS.get(name, DURATIONS),
            f"duration {duration!r} is not one of "
            f"{', '.join(MODEL_DURATIONS.get(name, DURATIONS))}",
        ),
        (
            isinstance(cfg, bool) or not isinstance(cfg, int | float) or not 0 <= cfg <= 1,
            "cfg_scale must be within [0, 1]",
        ),
        (
            sound is not None and (sound not in ("on", "off") or name not in SOUND_MODELS),
            f"sound is not supported by {name}",
        ),
        (not isinstance(data.get("callback_url", ""), str), "callback_url must be a string"),
        (not isinstance(data.get("external_task_id", ""), str), "external_task_id: a string"),
    )
    for failed, message in problems:
        if failed:
            return f"invalid params: {message}"
    return {**data, "model_name": name, "mode": mode, "aspect_ratio": ratio, "duration": duration}


def render_size(mode: str, ratio: str) -> tuple[int, int]:
    """The tiny size the emulator renders at (1/20 of nominal 720p/1080p, even sides)."""
    long_side = 96 if mode == "pro" else 64
    short_side = long_side * 9 // 16 // 2 * 2
    return {"16:9": (long_side, short_side), "9:16": (short_side, long_side)}.get(
        ratio, (short_side, short_side)
    )


def _image(value: Any) -> bool:
    """A URL or bare base64 (Kling's docs: no `data:` prefix)."""
    return isinstance(value, str) and bool(value) and not value.startswith("data:")
