"""Runway adapter: the tasks API (`https://api.dev.runwayml.com/v1`, X-Runway-Version 2024-11-06).

A job is one task: `POST /image_to_video` when the request has an image, else
`POST /text_to_video`; the upstream id is the task id (a UUID). Runway sends no webhooks: the
gateway polls `GET /tasks/{id}`, and `parse_webhook` refuses. `cancel` is `DELETE /tasks/{id}`
(a task already gone, 404, counts as cancelled). `download` re-reads the task (output URLs
expire within 24-48 h) and fetches the first output without the API key (presigned URLs).

Our request → Runway body:
  upstream_model → model;  prompt → promptText (left out when empty);  params.seconds →
  duration (whole seconds);  params.ratio ("1280:720") → ratio, else params.size "WxH" →
  "W:H", else params.aspect_ratio "16:9"/"9:16" → "1280:720"/"720:1280" (default "1280:720");
  params.seed → seed;  inputs.image → promptImage: its `url` when https on a domain name (what
  Runway fetches; the dispatcher fetches any other URL first), else a data URI built from a
  base64 `data` field or a stored `sha256` read through `read_input`.

Status: PENDING and THROTTLED → queued; RUNNING → in_progress with progress 0-1 as a percent;
SUCCEEDED → completed (`output_url` = output[0]); FAILED → failed (`content_filtered` for
failure codes naming SAFETY/MODERATION, else `generation_failed`; failureCode kept in extra);
CANCELLED → canceled. Errors: timeouts, transport errors, 408/409/425/429/5xx and malformed
answers raise ProviderUnavailable (`retry_after` from Retry-After); 401/403 → ProviderRejected
`upstream_auth`, 404 → `not_found`, other 4xx → `invalid_request`, with Runway's message.
"""

from __future__ import annotations

import contextlib
import ipaddress
import uuid
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx

from service.providers import http as shared
from service.providers.base import (
    Adapter,
    DispatchRequest,
    Plugin,
    ProviderRejected,
    ProviderUnavailable,
    ReadInput,
    Submission,
    UpstreamStatus,
    base_url,
    credential,
)
from service.providers.http import number as _number
from service.settings import ProviderSettings

Json = dict[str, Any]
RETRYABLE = frozenset({408, 409, 425, 429})
STATES = {
    "PENDING": "queued",
    "THROTTLED": "queued",
    "RUNNING": "in_progress",
    "SUCCEEDED": "completed",
    "FAILED": "failed",
    "CANCELLED": "canceled",
}
SAFETY_WORDS = ("SAFETY", "MODERATION")
ASPECTS = {"16:9": "1280:720", "9:16": "720:1280"}


class RunwayProvider(Adapter):
    name = "runway"

    def __init__(
        self,
        http: httpx.AsyncClient,
        *,
        api_key: str,
        base_url: str = "https://api.dev.runwayml.com/v1",
        version: str = "2024-11-06",
        timeout: float = 30.0,
        download_timeout: float = 600.0,
        read_input: Callable[[str], bytes] | None = None,
    ) -> None:
        self.http, self.api_key, self.base_url = http, api_key, base_url.rstrip("/")
        self.version, self.timeout, self.download_timeout = version, timeout, download_timeout
        self.read_input = read_input

    async def submit(self, request: DispatchRequest) -> Submission:
        body = await self._body(request)
        endpoint = "image_to_video" if "promptImage" in body else "text_to_video"
        answer = await self._call("POST", f"{self.base_url}/{endpoint}", body)
        if not isinstance(answer.get("id"), str) or not answer["id"]:
            raise ProviderUnavailable(
                f"Runway answered no task id: {answer!r:.200}", code="upstream_malformed"
            )
        return Submission(upstream_id=answer["id"])

    async def status(self, upstream_id: str) -> UpstreamStatus:
        task = await self._task(upstream_id)
        raw = task["status"]
        state = STATES[raw]
        if raw == "RUNNING":
            progress = _number(task.get("progress"))
            percent = None if progress is None else max(0, min(100, round(progress * 100)))
            return UpstreamStatus(state, raw, progress=percent)
        if raw == "SUCCEEDED":
            outputs = task.get("output")
            if not isinstance(outputs, list) or not outputs or not isinstance(outputs[0], str):
                return UpstreamStatus(
                    "failed", raw, None, None, "no_output", "Runway made no video"
                )
            extra = {"outputs": len(outputs), "cost": task.get("cost")}
            return UpstreamStatus(state, raw, output_url=outputs[0], extra=extra)
        if raw == "FAILED":
            failure_code = str(task.get("failureCode") or "")
            message = str(task.get("failure") or "Runway reported a failure")
            safety = any(word in failure_code.upper() for word in SAFETY_WORDS)
            code = "content_filtered" if safety else "generation_failed"
            return UpstreamStatus(
                state, raw, None, None, code, message, {"failure_code": failure_code or None}
            )
        return UpstreamStatus(state, raw)

    def parse_webhook(self, headers: Mapping[str, str], body: bytes) -> UpstreamStatus:
        raise ProviderRejected("Runway sends no webhooks")

    def takes_image_url(self, url: str) -> bool:
        # Runway fetches only https URLs on a domain name: the dispatcher fetches the others.
        parts = urlsplit(url)
        return parts.scheme == "https" and not _is_ip(parts.hostname or "")

    async def cancel(self, upstream_id: str) -> None:
        try:
            await self._call("DELETE", f"{self.base_url}/tasks/{_checked(upstream_id)}")
        except ProviderRejected as error:
            if error.code != "not_found":
                raise

    async def download(self, upstream_id: str, dest: Path) -> Path:
        url = shared.finished_output(await self.status(upstream_id), "Runway")
        return await shared.fetch_to_file(
            self.http,
            url,
            dest,
            deadline=self.timeout,
            total=self.download_timeout,
            who="Runway",
            item="output",
        )

    async def _task(self, upstream_id: str) -> Json:
        task = await self._call("GET", f"{self.base_url}/tasks/{_checked(upstream_id)}")
        if task.get("status") not in STATES:
            raise ProviderUnavailable(
                f"Runway answered a malformed task: {task!r:.300}", code="upstream_malformed"
            )
        return task

    async def _body(self, request: DispatchRequest) -> Json:
        params = request.params
        body: Json = {"model": request.upstream_model, "ratio": _ratio(params)}
        if request.prompt:
            body["promptText"] = request.prompt
        if params.get("seconds") not in (None, ""):
            seconds = _number(params["seconds"])
            if seconds is None or not seconds.is_integer():
                raise ProviderRejected(
                    f"Runway takes whole seconds, not {params['seconds']!r}", code="invalid_request"
                )
            body["duration"] = int(seconds)
        if params.get("seed") is not None:
            body["seed"] = int(params["seed"])
        if request.inputs.get("image"):
            body["promptImage"] = await self._image(request.inputs["image"])
        return body

    async def _image(self, image: Mapping[str, Any]) -> str:
        if isinstance(image.get("url"), str) and self.takes_image_url(image["url"]):
            return str(image["url"])
        data = await shared.image_bytes(
            image,
            self.read_input,
            not_base64="inputs.image.data is not base64",
            missing="Runway needs inputs.image as an https `url` or base64 `data`",
        )
        mime = shared.image_mime(image, data)
        return shared.data_uri(data, mime)

    async def _call(self, method: str, url: str, body: Json | None = None) -> Json:
        headers = {"Authorization": f"Bearer {self.api_key}", "X-Runway-Version": self.version}
        response = await shared.request(
            self.http,
            method,
            url,
            json=body,
            headers=headers,
            deadline=self.timeout,
            fail=shared.lost("Runway"),
        )
        _raise_for_status(response)
        if method == "DELETE":
            return {}
        return shared.json_answer(response, "Runway")


def _raise_for_status(response: httpx.Response) -> None:
    status = response.status_code
    if 200 <= status < 300:
        return
    error: Any = None
    with contextlib.suppress(ValueError, AttributeError):
        error = response.json().get("error")
    text = str(error or response.text[:200] or response.reason_phrase)
    message = f"Runway answered HTTP {status}: {text}"
    if status >= 500 or status in RETRYABLE:
        code = "rate_limited" if status == 429 else "provider_unavailable"
        retry_after = shared.retry_seconds(response.headers.get("retry-after"))
        raise ProviderUnavailable(message, code=code, retry_after=retry_after)
    if status in (401, 403):
        raise ProviderRejected(message, code="upstream_auth")
    raise ProviderRejected(message, code="not_found" if status == 404 else "invalid_request")


def _is_ip(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True


def _checked(upstream_id: str) -> str:
    try:
        return str(uuid.UUID(upstream_id))
    except ValueError:
        raise ProviderRejected(f"not a Runway task id: {upstream_id!r}", code="not_found") from None


def _ratio(params: Mapping[str, Any]) -> str:
    if params.get("ratio"):
        return str(params["ratio"])
    if params.get("size"):
        try:
            width, height = (int(side) for side in str(params["size"]).lower().split("x"))
        except ValueError:
            raise ProviderRejected(
                f"size must be WIDTHxHEIGHT, not {params['size']!r}", code="invalid_request"
            ) from None
        return f"{width}:{height}"
    aspect = params.get("aspect_ratio")
    if aspect and aspect not in ASPECTS:
        raise ProviderRejected(
            f"Runway takes aspect_ratio 16:9 or 9:16, not {aspect!r}", code="invalid_request"
        )
    return ASPECTS[aspect] if aspect else ASPECTS["16:9"]


def build(
    http: httpx.AsyncClient, config: ProviderSettings, read_input: ReadInput | None
) -> RunwayProvider:
    return RunwayProvider(
        http,
        api_key=credential(config.runway_api_key),
        read_input=read_input,
        **base_url(config, RunwayProvider.name),
    )


PLUGIN = Plugin(RunwayProvider.name, build)
