"""Pure mappings between our jobs and Replicate's predictions API: upstream models, the input
schema Replicate's video models share, prediction objects and errors → `UpstreamStatus` /
`ProviderError`, and Standard Webhooks verification. No I/O.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from typing import Any

import httpx

from service.providers import http as shared
from service.providers.base import (
    DispatchRequest,
    ProviderError,
    ProviderRejected,
    ProviderUnavailable,
    UpstreamStatus,
)
from service.providers.fal_mapping import RATIOS, Json
from service.providers.http import WEBHOOK_TOLERANCE, parse_json, verify_standard_webhook
from service.providers.replicate_schemas import schema_for

STATES = {
    "starting": "queued",
    "processing": "in_progress",
    "succeeded": "completed",
    "failed": "failed",
    "canceled": "canceled",
    "aborted": "failed",
}
TOLERANCE = WEBHOOK_TOLERANCE  # seconds a webhook timestamp may be off, either way


def target(upstream_model: str) -> tuple[str, str | None]:
    """`owner/name` or `owner/name:version` → (owner/name, version or None)."""
    model, colon, version = upstream_model.strip().partition(":")
    if not re.fullmatch(r"[\w.-]+/[\w.-]+", model) or (colon and not version.isalnum()):
        raise ProviderRejected(
            f"{upstream_model!r} is not a Replicate model (owner/name[:version])",
            code="invalid_model",
        )
    return model, version or None


def replicate_input(request: DispatchRequest) -> Json:
    """Our job parameters in the input schema of the model's family (`replicate_schemas`)."""
    params, body = request.params, Json(prompt=request.prompt)
    schema = schema_for(target(request.upstream_model)[0])
    if params.get("seconds") is not None and schema.duration:
        body[schema.duration] = round(float(params["seconds"]))
    ratio = params.get("aspect_ratio") or _ratio(params.get("size"))
    if ratio and schema.aspect_ratio:
        body["aspect_ratio"] = _renamed(schema.aspect_ratio, ratio)
    if params.get("resolution") and schema.resolution:
        body["resolution"] = _renamed(schema.resolution, params["resolution"])
    # prompt_optimizer (MiniMax families) and loop (Luma) are recorded only for the models
    # whose catalog entry takes them, and those families take them under these names.
    for name in ("seed", "negative_prompt", "prompt_optimizer", "loop"):
        if params.get(name) is not None:
            body[name] = params[name]
    if schema.audio and params.get("audio") is not None:
        body[schema.audio] = bool(params["audio"])
    if schema.fps and params.get("fps") is not None:
        body["fps"] = int(params["fps"])
    image, end = request.inputs.get("image"), request.inputs.get("end_image")
    if image:
        body[schema.image] = _image_url(image)
    if end and not schema.end_image:
        raise ProviderRejected(
            f"the Replicate model {request.upstream_model} takes no end frame",
            code="unsupported_input",
        )
    if end and schema.end_image:
        body[schema.end_image] = _image_url(end)
    return body


def _renamed(names: Mapping[str, str] | bool, value: str) -> str:
    return names.get(value, value) if isinstance(names, Mapping) else value


def _image_url(image: Mapping[str, Any]) -> str:
    """An input image as Replicate takes a file: its URL, or its bytes as a `data:` URI."""
    if image.get("url"):
        return str(image["url"])
    if image.get("data"):
        data = shared.decode_base64(image["data"], "the input image data is not base64")
        return shared.data_uri(data, shared.image_mime(image, data))
    raise ProviderRejected(
        "Replicate fetches input images from a URL; uploaded images (sha256) are not "
        "supported by the replicate provider yet: pass the image as image_url",
        code="image_upload_unsupported",
    )


def prediction_status(data: Any) -> UpstreamStatus:
    """A prediction object mapped to our states (`raw_status` keeps Replicate's)."""
    if not isinstance(data, dict) or not isinstance(data.get("id"), str):
        raise ProviderUnavailable(
            "Replicate answered with a malformed prediction", code="malformed"
        )
    raw = data.get("status")
    state = STATES.get(raw) if isinstance(raw, str) else None
    if state is None or not isinstance(raw, str):
        raise ProviderUnavailable(f"Replicate answered an unknown status {raw!r}", code="malformed")
    keys = ("model", "version", "metrics", "created_at", "completed_at")
    extra = {"prediction_id": data["id"], **{key: data.get(key) for key in keys}}
    if state == "completed":
        url = output_url(data.get("output"))
        return UpstreamStatus(state, raw, progress=100, output_url=url, extra=extra)
    if state in ("failed", "canceled"):
        message = data.get("error") or ("canceled" if state == "canceled" else f"prediction {raw}")
        code = "prediction_canceled" if state == "canceled" else f"prediction_{raw}"
        return UpstreamStatus(state, raw, error_code=code, error_message=str(message), extra=extra)
    progress = log_progress(data.get("logs")) if state == "in_progress" else None
    return UpstreamStatus(state, raw, progress=progress, extra=extra)


def output_url(output: Any) -> str:
    """The video URL in a prediction's `output` (a URL, a list of them, or `{video: URL}`)."""
    if isinstance(output, list) and output:
        output = output[-1]
    if isinstance(output, dict):
        output = output.get("video") or output.get("url")
    if not isinstance(output, str) or not output.startswith(("https://", "http://")):
        raise ProviderUnavailable("Replicate's prediction carries no output URL", code="malformed")
    return output


def log_progress(logs: Any) -> int | None:
    """Replicate has no progress field; models log tqdm bars (` 40%|████  | 20/50`): the
    latest percentage, capped at 99 until the prediction succeeds."""
    found = re.findall(r"(\d{1,3})%\|", logs if isinstance(logs, str) else "")
    return min(99, int(found[-1])) if found else None


def verify(headers: Mapping[str, str], body: bytes, secret: str, now: float) -> None:
    """Check the Replicate webhook's Standard Webhooks signature."""
    verify_standard_webhook(headers, body, secret, now, "Replicate")


def unreachable(error: Exception, method: str, target: str) -> ProviderUnavailable:
    """A call that timed out or never got an answer (a transport error)."""
    return shared.unreachable(error, "Replicate", method, target)


def http_error(response: httpx.Response) -> ProviderError:
    """A failed call (`{title, detail, status}`): 408/409/429/5xx retryable, other 4xx not."""
    body, status = parse_json(response.content), response.status_code
    detail = body.get("detail") if isinstance(body, dict) else None
    title = body.get("title") if isinstance(body, dict) else None
    text = detail or title or response.text[:200] or response.reason_phrase
    message = f"Replicate answered HTTP {status}: {text}"
    retry = shared.retryable(
        status, message, shared.retry_after(response.headers.get("retry-after"))
    )
    if retry is not None:
        return retry
    known = {401: "unauthorized", 402: "insufficient_credit", 404: "not_found"}
    return ProviderRejected(message, code=known.get(status, f"upstream_{status}"))


def json_object(response: httpx.Response) -> Json:
    """The JSON object a Replicate answer must carry."""
    return shared.json_object(response, "Replicate")


def _ratio(size: Any) -> str | None:
    """The aspect ratio nearest to a `WxH` size."""
    found = re.fullmatch(r"(\d+)x(\d+)", str(size or ""))
    if not found or not int(found.group(1)) or not int(found.group(2)):
        return None
    want = math.log(int(found.group(1)) / int(found.group(2)))

    def distance(ratio: str) -> float:
        width, height = ratio.split(":")
        return abs(math.log(int(width) / int(height)) - want)

    return min(RATIOS, key=distance)
