"""Pure mappings between our jobs and fal's queue API: endpoint and upstream ids, fal's input
schema, fal's answers and errors → `UpstreamStatus` / `ProviderError`. No I/O;
`service.providers.fal` re-exports the public names.
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
from service.providers.fal_schemas import FalSchema, schema_for
from service.providers.http import parse_json as parse_json

NAMESPACES = ("workflows", "comfy")  # app ids with three segments (fal-client's AppId)
RATIOS = ("16:9", "9:16", "1:1", "4:3", "3:4", "21:9", "9:21")
Json = dict[str, Any]


def app_id(endpoint: str) -> str:
    """`fal-ai/kling-video/v2.5-turbo/pro/text-to-video` → `fal-ai/kling-video`."""
    parts = endpoint.strip("/").split("/")
    size = 3 if parts[0] in NAMESPACES else 2
    if len(parts) < size or not all(parts[:size]):
        raise ProviderRejected(f"{endpoint!r} is not a fal endpoint id", code="invalid_model")
    return "/".join(parts[:size])


def fal_endpoint(request: DispatchRequest) -> str:
    """The endpoint to submit to: the recorded one, or — for a first and a last frame, on a
    family that serves those elsewhere (Veo 3.1) — its first-last-frame endpoint."""
    endpoint = request.upstream_model.strip("/")
    frames = schema_for(endpoint).frames_endpoint
    if frames and _end_frame(request.inputs) and endpoint.endswith("/image-to-video"):
        return endpoint.removesuffix("image-to-video") + frames[0]
    return endpoint


def fal_input(request: DispatchRequest) -> Json:
    """Our job parameters in the input schema of the endpoint's family (`fal_schemas`)."""
    params, body = request.params, Json(prompt=request.prompt)
    endpoint = fal_endpoint(request)
    schema = schema_for(endpoint)
    if params.get("seconds") is not None and schema.duration is not None:
        body["duration"] = schema.duration(round(float(params["seconds"])))
    ratio = params.get("aspect_ratio") or _ratio(params.get("size"))
    if ratio and schema.aspect_ratio:
        body["aspect_ratio"] = ratio
    resolution = params.get("resolution")
    if resolution and schema.resolution:
        renames = schema.resolution if isinstance(schema.resolution, Mapping) else {}
        body["resolution"] = renames.get(resolution, resolution)
    # prompt_optimizer (MiniMax families), loop (Luma) and style (Pixverse) are recorded only
    # for the models whose catalog entry takes them, and those families use these names.
    for name in ("seed", "negative_prompt", "prompt_optimizer", "loop", "style"):
        if params.get(name) is not None:
            body[name] = params[name]
    if schema.audio and params.get("audio") is not None:
        body[schema.audio] = bool(params["audio"])
    if schema.fps and params.get("fps") is not None:
        body["fps"] = int(params["fps"])
    _images(request.inputs, schema, endpoint, body)
    return body


def _images(inputs: Mapping[str, Any], schema: FalSchema, endpoint: str, body: Json) -> None:
    """The first and last frames, under the field names the endpoint's family uses."""
    image, end = inputs.get("image"), _end_frame(inputs)
    if image and end and schema.frames_endpoint and endpoint.endswith(schema.frames_endpoint[0]):
        _, first_field, last_field = schema.frames_endpoint
        body.update({first_field: _image_url(image), last_field: _image_url(end)})
        return
    if image:
        body[schema.image] = _image_url(image)
    if end and schema.end_image is None:
        raise ProviderRejected(
            f"the fal endpoint {endpoint} takes no end frame", code="unsupported_input"
        )
    if end and schema.end_image:
        body[schema.end_image] = _image_url(end)


def _end_frame(inputs: Mapping[str, Any]) -> Any:
    return inputs.get("end_image") or inputs.get("last_frame")


def _image_url(image: Mapping[str, Any]) -> str:
    """An input image as fal fetches it: its URL, or its bytes as a `data:` URI (fal's file
    inputs take both)."""
    if image.get("url"):
        return str(image["url"])
    if image.get("data"):
        data = shared.decode_base64(image["data"], "the input image data is not base64")
        return shared.data_uri(data, shared.image_mime(image, data))
    raise ProviderRejected(
        "fal fetches input images from a URL; uploaded images (sha256) are not supported "
        "by the fal provider yet: pass the image as image_url",
        code="image_upload_unsupported",
    )


def split_upstream_id(upstream_id: str) -> tuple[str, str]:
    """`"<owner>/<app>:<request_id>"` → (owner/app, request id)."""
    app, _, rid = upstream_id.rpartition(":")
    if not app or not re.fullmatch(r"[\w-]+", rid):
        raise ProviderRejected(f"{upstream_id!r} is not a fal upstream id", code="invalid_id")
    return app, rid


def unreachable(error: Exception, method: str, target: str) -> ProviderUnavailable:
    """A call that timed out or never got an answer (a transport error)."""
    return shared.unreachable(error, "fal", method, target)


def http_error(response: httpx.Response) -> ProviderError:
    """A failed fal call: 408/409/429/5xx are retryable, other 4xx permanent."""
    code, message = fal_error(parse_json(response.content))
    status = response.status_code
    text = f"fal answered HTTP {status}: {message or response.text[:200] or response.reason_phrase}"
    if status in (408, 409, 429) or status >= 500:
        retry_after = shared.retry_after(response.headers.get("retry-after"))
        fallback = "rate_limited" if status == 429 else "upstream_error"
        return ProviderUnavailable(text, code=code or fallback, retry_after=retry_after)
    return ProviderRejected(text, code=code or f"upstream_{status}")


def fal_error(body: Any) -> tuple[str | None, str | None]:
    """(type, message) of fal's error bodies: `{detail: str, error_type}` (request errors) or
    `{detail: [{loc, msg, type}, …]}` (model errors)."""
    if not isinstance(body, dict):
        return None, None
    detail = body.get("detail")
    if isinstance(detail, list):
        items = [item for item in detail if isinstance(item, dict)]
        if items:
            return items[0].get("type"), "; ".join(str(item.get("msg")) for item in items)
    error_type = body.get("error_type")
    return (error_type if isinstance(error_type, str) else None), (str(detail) if detail else None)


def completed_status(payload: Any, raw: str, extra: Json) -> UpstreamStatus:
    """A finished request, from its result (`{video: {url, …}, seed}`, or `{videos: [...]}`
    from a model that makes several: Midjourney's four)."""
    urls = video_urls(payload)
    first = payload.get("video") or payload["videos"][0]
    extra = {**extra, "video": first, "videos": urls, "seed": payload.get("seed")}
    return UpstreamStatus(
        "completed", raw, progress=100, output_url=urls[0], extra=extra, outputs=len(urls)
    )


def failed_status(
    code: str | None, message: str, raw: str, http: int | None, extra: Json
) -> UpstreamStatus:
    """A failed (or, for fal's `client_cancelled` / HTTP 499, canceled) request."""
    state = "canceled" if code == "client_cancelled" or http == 499 else "failed"
    code = code or (f"upstream_{http}" if http else "upstream_error")
    return UpstreamStatus(state, raw, error_code=code, error_message=message, extra=extra)


def webhook_status(body: bytes, rid: str) -> UpstreamStatus:
    """A verified fal webhook (`{request_id, status: OK | ERROR, payload, error}`) for request
    `rid`, mapped."""
    data = parse_json(body)
    if not isinstance(data, dict) or data.get("request_id") != rid:
        raise ProviderRejected("the fal webhook body is malformed", code="malformed")
    extra = {"request_id": rid, "gateway_request_id": data.get("gateway_request_id")}
    if data.get("status") == "OK":
        return completed_status(data.get("payload"), "OK", extra)  # no payload → poll instead
    code, message = fal_error(data.get("payload"))
    text = message or data.get("error") or data.get("payload_error") or "fal reported an error"
    return failed_status(code, str(text), "ERROR", None, extra)


def video_url(payload: Any, index: int = 0) -> str:
    """The URL of the (`index`th) video in a fal result."""
    urls = video_urls(payload)
    if index >= len(urls):
        raise ProviderRejected(f"the fal result has {len(urls)} video(s), not {index + 1}")
    return urls[index]


def video_urls(payload: Any) -> list[str]:
    """The URLs of every video in a fal result: `video`, or each of `videos`."""
    data = payload if isinstance(payload, dict) else {}
    many = data.get("videos")
    files: list[Any] = many if isinstance(many, list) else [data.get("video")]
    urls = [f.get("url") if isinstance(f, dict) else None for f in files]
    if not urls or not all(
        isinstance(u, str) and u.startswith(("https://", "http://")) for u in urls
    ):
        raise ProviderUnavailable("fal's result carries no video URL", code="malformed")
    return [str(u) for u in urls]


def log_progress(logs: Any) -> int | None:
    """fal has no progress field; many apps log percentages ("… 40%"): use the latest."""
    for entry in reversed(logs if isinstance(logs, list) else []):
        found = re.search(
            r"(\d{1,3})\s*%", str(entry.get("message")) if isinstance(entry, dict) else ""
        )
        if found:
            return min(99, int(found.group(1)))
    return None


def _ratio(size: Any) -> str | None:
    """The fal aspect ratio nearest to a `WxH` size."""
    found = re.fullmatch(r"(\d+)x(\d+)", str(size or ""))
    if not found or not int(found.group(1)) or not int(found.group(2)):
        return None
    want = math.log(int(found.group(1)) / int(found.group(2)))
    return min(
        RATIOS, key=lambda r: abs(math.log(int(r.split(":")[0]) / int(r.split(":")[1])) - want)
    )


def json_object(response: httpx.Response) -> Json:
    """The JSON object a fal answer must carry."""
    return shared.json_object(response, "fal")
