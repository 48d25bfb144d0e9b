"""The OpenAI Sora videos adapter (`api.openai.com/v1/videos`): sora-2, sora-2-pro.

Upstream ids are video ids. `params.seconds` maps to the nearest of "4"/"8"/"12"; `params.size`
is sent as is when the model takes it, else the 720p size of its orientation (or of
`aspect_ratio`). `inputs.image` bytes (`data`, base64) go up as the multipart `input_reference`
file, cover-cropped to the size (OpenAI requires the image to match it); an image *URL* is
refused: the gateway would have to fetch a tenant URL itself, which belongs behind the SSRF
guard before dispatch, not in the adapter.

`cancel` is `DELETE /videos/{id}`: it *deletes* the video (OpenAI has no cancel). This adapter
remembers the ids it deleted and reports them canceled; another process sees a 404 (unknown).

Webhooks are per project (one URL, set in OpenAI's dashboard, not per job) and
Standard Webhooks-signed with the project's `whsec_` secret. The body only names the video, so
`parse_webhook` returns a verified *hint* (`extra["video_id"]`): callers fetch `status()`.
"""

from __future__ import annotations

import base64
import binascii
import io
import re
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import httpx
from PIL import ImageOps

from service.media.render import ImageUnreadable, decode_image
from service.providers import http as shared
from service.providers.base import (
    Adapter,
    DispatchRequest,
    Plugin,
    ProviderError,
    ProviderRejected,
    ProviderUnavailable,
    ReadInput,
    Submission,
    UpstreamStatus,
    WebhookKind,
    base_url,
    credential,
)
from service.providers.http import WEBHOOK_TOLERANCE, verify_standard_webhook
from service.providers.http import parse_json as _json
from service.settings import ProviderSettings

__all__ = ["SECONDS", "TOLERANCE", "SoraProvider", "sora_fields"]

Json = dict[str, Any]
STATES = {
    "queued": "queued",
    "in_progress": "in_progress",
    "completed": "completed",
    "failed": "failed",
}
SECONDS = (4, 8, 12)
SIZES = {
    "sora-2": ("720x1280", "1280x720"),
    "sora-2-pro": ("720x1280", "1280x720", "1024x1792", "1792x1024"),
}
EVENTS = {"video.completed": "completed", "video.failed": "failed"}
TOLERANCE = WEBHOOK_TOLERANCE  # seconds a webhook timestamp may be off, either way
DELETED_MEMORY = 10_000  # how many deleted ids the adapter remembers as canceled


class SoraProvider(Adapter):
    name = "sora"
    webhook = WebhookKind.SIGNED

    def __init__(
        self,
        http: httpx.AsyncClient,
        *,
        api_key: str,
        base_url: str = "https://api.openai.com/v1",
        webhook_secret: str | None = None,
        clock: Callable[[], float] = time.time,
        timeout: float = 30.0,
    ) -> None:
        self.http, self.api_key, self.base_url = http, api_key, base_url.rstrip("/")
        self.webhook_secret, self.clock, self.timeout = webhook_secret, clock, timeout
        self._deleted: dict[str, None] = {}  # insertion-ordered set, oldest first

    @property
    def calls_back(self) -> bool:
        """OpenAI's webhooks are per project and need the secret; without it, poll only."""
        return bool(self.webhook_secret)

    def takes_image_url(self, url: str) -> bool:
        return False  # an image goes up as a file (`input_reference`): the dispatcher fetches

    async def submit(self, request: DispatchRequest) -> Submission:
        fields = sora_fields(request)
        image = request.inputs.get("image")
        if image:
            upload = {
                "input_reference": ("reference.png", _image_png(image, fields["size"]), "image/png")
            }
            response = await self._send("POST", "/videos", data=fields, files=upload)
        else:
            response = await self._send("POST", "/videos", json=fields)
        video_id = _object(response).get("id")
        if not isinstance(video_id, str) or not video_id:
            raise ProviderUnavailable("OpenAI's video has no id", code="malformed")
        return Submission(upstream_id=video_id)

    async def status(self, upstream_id: str) -> UpstreamStatus:
        path = f"/videos/{_checked(upstream_id)}"
        try:
            return video_status(_object(await self._send("GET", path)), self.base_url)
        except ProviderRejected as refused:
            if refused.code == "not_found" and upstream_id in self._deleted:
                return UpstreamStatus(
                    "canceled",
                    "deleted",
                    error_code="canceled",
                    error_message="the video was deleted (canceled)",
                )
            raise

    async def cancel(self, upstream_id: str) -> None:
        """Delete the video (OpenAI's only way to stop one): its content is gone too."""
        await self._send("DELETE", f"/videos/{_checked(upstream_id)}")
        self._deleted[upstream_id] = None
        while len(self._deleted) > DELETED_MEMORY:
            del self._deleted[next(iter(self._deleted))]

    async def download(self, upstream_id: str, dest: Path) -> Path:
        """Stream the MP4 (`/content`, with our key) to `dest` (atomically)."""
        url = f"{self.base_url}/videos/{_checked(upstream_id)}/content"
        headers = {"Authorization": f"Bearer {self.api_key}", "Accept": "application/binary"}
        return await shared.stream_to_file(
            self.http,
            url,
            dest,
            deadline=self.timeout,
            who="OpenAI",
            refused=http_error,
            params={"variant": "video"},
            headers=headers,
        )

    def parse_webhook(self, headers: Mapping[str, str], body: bytes) -> UpstreamStatus:
        """Verify a project webhook; its state is a hint (`extra["video_id"]`: fetch status)."""
        if self.webhook_secret is None:
            raise ProviderUnavailable(
                "the OpenAI webhook secret is not configured", code="webhook_secret_missing"
            )
        lower = {name.lower(): value for name, value in headers.items()}
        verify(lower, body, self.webhook_secret, self.clock())
        event = _json(body)
        data = event.get("data") if isinstance(event, dict) else None
        kind = event.get("type") if isinstance(event, dict) else None
        video_id = data.get("id") if isinstance(data, dict) else None
        if kind not in EVENTS or not isinstance(video_id, str):
            raise ProviderRejected(f"not a video event ({kind!r})", code="unsupported_event")
        extra = {"video_id": video_id, "event_id": event.get("id"), "event_type": kind}
        if EVENTS[kind] == "failed":
            message = "OpenAI reported video.failed"
            return UpstreamStatus(
                "failed", "failed", error_code="video_failed", error_message=message, extra=extra
            )
        return UpstreamStatus("completed", "completed", progress=100, extra=extra)

    async def _send(self, method: str, path: str, **kw: Any) -> httpx.Response:
        """One API call (`path` under base_url), raising OpenAI's error unless it succeeds."""
        headers = {"Authorization": f"Bearer {self.api_key}"}
        response = await shared.request(
            self.http,
            method,
            self.base_url + path,
            headers=headers,
            deadline=self.timeout,
            fail=lambda error: _unreachable(error, method, path),
            **kw,
        )
        if not response.is_success:
            raise http_error(response)
        return response


def sora_fields(request: DispatchRequest) -> dict[str, str]:
    """Our job parameters as `POST /videos` fields (all strings, as the API takes them)."""
    model = request.upstream_model.strip()
    if model not in SIZES:
        raise ProviderRejected(f"{model!r} is not a Sora model", code="invalid_model")
    params, fields = request.params, {"model": model, "prompt": request.prompt}
    if params.get("seconds") is not None:
        try:
            wanted = float(params["seconds"])
        except (TypeError, ValueError):
            raise ProviderRejected("params.seconds is not a number", code="invalid_input") from None
        fields["seconds"] = str(min(SECONDS, key=lambda s: (abs(s - wanted), -s)))
    size = str(params.get("size") or "")
    if size not in SIZES[model]:
        found = re.fullmatch(r"(\d+)[x:](\d+)", size or str(params.get("aspect_ratio") or ""))
        portrait = found is None or int(found.group(1)) < int(found.group(2))
        size = "720x1280" if portrait else "1280x720"
    fields["size"] = size
    return fields


def video_status(data: Json, base_url: str) -> UpstreamStatus:
    """A video object mapped to our states (`raw_status` keeps OpenAI's)."""
    raw = data.get("status")
    state = STATES.get(raw) if isinstance(raw, str) else None
    if state is None or not isinstance(raw, str) or not isinstance(data.get("id"), str):
        raise ProviderUnavailable(f"OpenAI answered an unknown video ({raw!r})", code="malformed")
    keys = ("model", "seconds", "size", "created_at", "completed_at", "expires_at")
    extra = {"video_id": data["id"], **{key: data.get(key) for key in keys}}
    progress = data.get("progress") if isinstance(data.get("progress"), int) else None
    if state == "completed":
        return UpstreamStatus(
            state,
            raw,
            progress=100,
            extra=extra,
            output_url=f"{base_url}/videos/{data['id']}/content",
        )
    if state == "failed":
        err = data.get("error")
        err = err if isinstance(err, dict) else {}
        code = str(err.get("code") or "video_failed")
        message = str(err.get("message") or code)
        return UpstreamStatus(
            state, raw, progress=progress, error_code=code, error_message=message, extra=extra
        )
    return UpstreamStatus(state, raw, progress=progress, extra=extra)


def verify(headers: Mapping[str, str], body: bytes, secret: str, now: float) -> None:
    """Check the OpenAI webhook's Standard Webhooks signature."""
    verify_standard_webhook(headers, body, secret, now, "OpenAI")


def http_error(response: httpx.Response) -> ProviderError:
    """A failed call (`{"error": {message, type, code}}`): 408/409/429/5xx retryable."""
    body, status = _json(response.content), response.status_code
    err = body.get("error") if isinstance(body, dict) else None
    text = err.get("message") if isinstance(err, dict) else None
    message = f"OpenAI answered HTTP {status}: {text or response.text[:200] or status}"
    retry = shared.retryable(status, message, _retry_after(response))
    if retry is not None:
        return retry
    known = {401: "unauthorized", 403: "forbidden", 404: "not_found"}
    return ProviderRejected(message, code=known.get(status, f"upstream_{status}"))


def _image_png(image: Mapping[str, Any], size: str) -> bytes:
    """`inputs.image` bytes, cover-cropped to `size`, as PNG."""
    if not image.get("data"):
        raise ProviderRejected(
            "Sora takes input images as bytes (a base64 `data` field)",
            code="image_url_unsupported",
        )
    try:
        picture = decode_image(base64.b64decode(str(image["data"]), validate=True))
    except (binascii.Error, ImageUnreadable, ValueError):
        raise ProviderRejected(
            "inputs.image is not a readable image", code="invalid_input"
        ) from None
    width, _, height = size.partition("x")
    out = io.BytesIO()
    ImageOps.fit(picture, (int(width), int(height))).save(out, format="PNG")
    return out.getvalue()


def _retry_after(response: httpx.Response) -> float | None:
    for name, scale in (("retry-after-ms", 1000.0), ("retry-after", 1.0)):
        try:
            return max(0.0, float(response.headers[name]) / scale)
        except (KeyError, ValueError):
            continue
    return None


def _object(response: httpx.Response) -> Json:
    return shared.json_object(response, "OpenAI")


def _checked(upstream_id: str) -> str:
    if not re.fullmatch(r"[\w-]{1,128}", upstream_id):
        raise ProviderRejected(f"{upstream_id!r} is not a video id", code="invalid_id")
    return upstream_id


def _unreachable(error: Exception, method: str, target: str) -> ProviderUnavailable:
    return shared.unreachable(error, "OpenAI", method, target)


def build(
    http: httpx.AsyncClient, config: ProviderSettings, read_input: ReadInput | None
) -> SoraProvider:
    return SoraProvider(
        http,
        api_key=credential(config.openai_api_key),
        webhook_secret=config.openai_webhook_secret,
        **base_url(config, SoraProvider.name),
    )


# OpenAI posts every project webhook to one URL (`/hooks/sora`), naming the video.
PLUGIN = Plugin(SoraProvider.name, build, one_url_hooks="OpenAI video")
