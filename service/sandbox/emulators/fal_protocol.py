"""fal's queue protocol as the fal emulator speaks it: app ids, the input checks of fal's video
models, error bodies and the JWKS document. Stateless; `service.sandbox.emulators.fal`
re-exports the public names.
"""

from __future__ import annotations

import base64
import hashlib
import re
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from starlette.responses import JSONResponse, Response

from service.sandbox.emulators.fal_models import Family, family_of

SIZES = {
    "16:9": (160, 90),
    "9:16": (90, 160),
    "1:1": (96, 96),
    "4:3": (128, 96),
    "3:4": (96, 128),
    "3:2": (144, 96),
    "2:3": (96, 144),
    "21:9": (224, 96),
    "9:21": (96, 224),
}
NAMESPACES = ("workflows", "comfy")  # these app ids have three segments (fal-client AppId)
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


def app_of(endpoint: str) -> str | None:
    """The owner/app an endpoint id belongs to (`fal-ai/kling-video/v2.1/…` → `fal-ai/kling-video`),
    or None when it names no app."""
    parts = endpoint.split("/")
    size = 3 if parts[0] in NAMESPACES else 2
    return "/".join(parts[:size]) if len(parts) >= size and all(parts[:size]) else None


def validate(endpoint: str, data: Json) -> list[Json]:
    """What a fal video model's pydantic input schema would say about `data`."""
    problems: list[Json] = []
    for field, kind, msg, failed in _checks(endpoint, data):
        if failed and not any(p["loc"][1] == field for p in problems):  # one per field
            problems.append(
                {"loc": ["body", field], "msg": msg, "type": kind, "input": data.get(field)}
            )
    return problems


def _checks(endpoint: str, data: Json) -> tuple[tuple[str, str, str, bool], ...]:
    """(field, error type, message, failed?) for each rule of the input schema, in order."""
    prompt, seed = data.get("prompt"), data.get("seed")
    family = family_of(endpoint) or Family()
    image_field = family.image
    url = data.get(image_field)
    i2v = "image-to-video" in endpoint or "frame-to-video" in endpoint or endpoint.endswith("/i2v")
    return (
        ("prompt", "missing", "Field required", prompt is None),
        ("prompt", "string_type", "Input should be a valid string", not isinstance(prompt, str)),
        (
            "prompt",
            "string_too_long",
            "String should have at most 2500 characters",
            isinstance(prompt, str) and len(prompt) > 2500,
        ),
        (image_field, "missing", "Field required", i2v and url is None),
        (
            image_field,
            "url_parsing",
            "Input should be a valid URL",
            (i2v or url is not None) and not _is_url(url),
        ),
        *_family_checks(family, data),
        (
            "aspect_ratio",
            "literal_error",
            f"Input should be one of {', '.join(SIZES)}",
            data.get("aspect_ratio", "auto") not in (*SIZES, "auto"),
        ),
        (
            "seed",
            "int_type",
            "Input should be a valid integer",
            seed is not None and (not isinstance(seed, int) or isinstance(seed, bool)),
        ),
        (
            "negative_prompt",
            "string_type",
            "Input should be a valid string",
            not isinstance(data.get("negative_prompt", ""), str),
        ),
    )


def _family_checks(family: Family, data: Json) -> tuple[tuple[str, str, str, bool], ...]:
    """The duration, resolution and last-frame rules of the endpoint's family."""
    duration, resolution = data.get("duration"), data.get("resolution")
    if family.durations is None:
        wrong_duration = "duration" in data and duration_seconds(duration, 0.0) == 0.0
        allowed = "a duration of 1 to 20 seconds"
    else:
        wrong_duration = "duration" in data and (
            isinstance(duration, bool) or duration not in family.durations
        )
        allowed = ", ".join(map(repr, family.durations))
    end = family.end_image
    return (
        ("duration", "literal_error", f"Input should be {allowed}", wrong_duration),
        (
            "resolution",
            "literal_error",
            f"Input should be one of {', '.join(family.resolutions or ())}",
            "resolution" in data and resolution not in (family.resolutions or ()),
        ),
        (
            end or "end_image_url",
            "url_parsing",
            "Input should be a valid URL",
            end is not None and end in data and not _is_url(data[end]),
        ),
        (
            "style",
            "literal_error",
            f"Input should be one of {', '.join(family.styles or ())}",
            family.styles is not None and "style" in data and data["style"] not in family.styles,
        ),
    )


def _is_url(value: Any) -> bool:
    return str(value).startswith(("http://", "https://", "data:"))


def duration_seconds(value: object, default: float = 5.0) -> float:
    """A `duration` input of 1 to 20 whole seconds (`5`, `"10"`, `"8s"`); else `default`."""
    if value is None:
        return default
    text = str(value).strip().removesuffix("s")
    return float(text) if re.fullmatch(r"\d{1,2}", text) and 1 <= int(text) <= 20 else default


def describe(body: Json) -> tuple[str | None, str]:
    """(error_type, message) that a failed request's status shows, from its result body."""
    detail = body.get("detail")
    if isinstance(detail, list) and detail and isinstance(detail[0], dict):
        return detail[0].get("type"), str(detail[0].get("msg"))
    return body.get("error_type"), str(detail)


def reply(code: int, body: Json, headers: dict[str, str] | None = None) -> Response:
    """A JSON answer with this status code (and headers)."""
    return JSONResponse(body, status_code=code, headers=headers)
