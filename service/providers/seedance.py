"""Seedance adapter: Ark content generation tasks (BytePlus ModelArk or Volcengine Ark, `/api/v3`).

A job is one task: `POST /contents/generations/tasks`; the upstream id is the task id
("cgt-…"). The gateway polls `GET /contents/generations/tasks/{id}`. `cancel` reads the task
first: a queued task is cancelled and a finished one deleted (both `DELETE …/{id}`), a running
one cannot be stopped (ProviderRejected `not_cancellable`), a gone or cancelled one is done.
`download` re-reads the task (`video_url` lives 24 h) and fetches it without the API key.

Our request → Ark body:
  upstream_model → model;  prompt → the text item;  params.seconds → duration (whole seconds);
  params.resolution ("720p") → resolution;  params.aspect_ratio / params.ratio → ratio;
  params.seed → seed;  params.camera_fixed → camera_fixed;  inputs.image → an image_url item
  (role first_frame) and inputs.last_frame → one with role last_frame: an http(s) `url`, or a
  base64 data URI from `data` / a stored `sha256` read through `read_input`. With
  `text_flags=True` the parameters go as `--flag value` in the text instead (older models).

Status: queued → queued, running → in_progress, succeeded → completed (`content.video_url`),
failed → failed (`content_filtered` for codes naming SensitiveContent, else
`generation_failed`), cancelled → canceled, expired → failed (`expired`). Errors: timeouts,
transport errors, 408/409/425/429/5xx and malformed answers → ProviderUnavailable; 401/403 →
`upstream_auth`, 404 → `not_found`, other 4xx → `invalid_request`. Callbacks (`callback_url`)
are unsigned and their body undocumented: `parse_webhook` reads one as a task object and
returns an unverified *hint* (`extra["verified"]` False) to re-fetch on.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

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
    "queued": "queued",
    "running": "in_progress",
    "succeeded": "completed",
    "failed": "failed",
    "cancelled": "canceled",
    "expired": "failed",
}
AUDIO_MODELS = ("seedance-1-5", "seedance-2-0")  # model-id stems that generate sound
FLAG_NAMES = {
    "resolution": "resolution",
    "ratio": "ratio",
    "duration": "duration",
    "seed": "seed",
    "camera_fixed": "camerafixed",
}


class SeedanceProvider(Adapter):
    name = "seedance"

    def __init__(
        self,
        http: httpx.AsyncClient,
        *,
        api_key: str,
        base_url: str = "https://ark.ap-southeast.bytepluses.com/api/v3",
        timeout: float = 30.0,
        download_timeout: float = 600.0,
        text_flags: bool = False,
        read_input: Callable[[str], bytes] | None = None,
    ) -> None:
        self.http, self.api_key, self.base_url = http, api_key, base_url.rstrip("/")
        self.timeout, self.download_timeout = timeout, download_timeout
        self.text_flags, self.read_input = text_flags, read_input

    @property
    def tasks_url(self) -> str:
        return f"{self.base_url}/contents/generations/tasks"

    async def submit(self, request: DispatchRequest) -> Submission:
        answer = await self._call("POST", self.tasks_url, await self._body(request))
        if not isinstance(answer.get("id"), str) or not answer["id"]:
            raise ProviderUnavailable(
                f"Ark answered no task id: {answer!r:.200}", code="upstream_malformed"
            )
        return Submission(upstream_id=answer["id"])

    async def status(self, upstream_id: str) -> UpstreamStatus:
        task = await self._call("GET", f"{self.tasks_url}/{_checked(upstream_id)}")
        return task_status(task)

    def parse_webhook(self, headers: Mapping[str, str], body: bytes) -> UpstreamStatus:
        """An Ark callback (unsigned; assumed the task object) as a hint to re-fetch on."""
        try:
            task = json.loads(body)
            status = task_status(task)
        except (ValueError, ProviderUnavailable):
            raise ProviderRejected("the Ark callback body is malformed", code="malformed") from None
        extra = {**status.extra, "verified": False, "upstream_id": task["id"]}
        return UpstreamStatus(
            status.state,
            status.raw_status,
            status.progress,
            status.output_url,
            status.error_code,
            status.error_message,
            extra,
        )

    async def cancel(self, upstream_id: str) -> None:
        try:
            status = await self.status(upstream_id)
            if status.raw_status == "cancelled":
                return
            if status.raw_status == "running":
                raise ProviderRejected("Ark cannot stop a running task", code="not_cancellable")
            await self._call("DELETE", f"{self.tasks_url}/{_checked(upstream_id)}")
        except ProviderRejected as error:
            if error.code == "invalid_request":  # it started running in between
                raise ProviderRejected(str(error), code="not_cancellable") from None
            if error.code != "not_found":
                raise

    async def download(self, upstream_id: str, dest: Path) -> Path:
        url = shared.finished_output(await self.status(upstream_id), "Ark")
        return await shared.fetch_to_file(
            self.http,
            url,
            dest,
            deadline=self.timeout,
            total=self.download_timeout,
            who="Ark",
            item="video",
        )

    async def _body(self, request: DispatchRequest) -> Json:
        fields = _parameters(request.params)
        text = request.prompt
        if self.text_flags:
            flags = " ".join(f"--{FLAG_NAMES[key]} {_flag(value)}" for key, value in fields.items())
            text, fields = f"{text} {flags}".strip(), {}
        content: list[Json] = [{"type": "text", "text": text}] if text else []
        frames = (
            ("image", "first_frame"),
            ("last_frame", "last_frame"),
            ("end_image", "last_frame"),
        )
        for key, role in frames:
            if request.inputs.get(key):
                url = await self._image(request.inputs[key])
                content.append({"type": "image_url", "image_url": {"url": url}, "role": role})
        body: Json = {"model": request.upstream_model, "content": content, **fields}
        if request.params.get("audio") is not None and _makes_sound(request.upstream_model):
            body["generate_audio"] = bool(request.params["audio"])
        if request.callback_url:
            body["callback_url"] = request.callback_url
        return body

    async def _image(self, image: Mapping[str, Any]) -> str:
        if isinstance(image.get("url"), str) and image["url"].startswith(("https://", "http://")):
            return str(image["url"])
        data = await shared.image_bytes(
            image,
            self.read_input,
            not_base64="the image data is not base64",
            missing="Ark needs an image as an http(s) `url` or base64 `data`",
        )
        mime = shared.image_mime(image, data)
        return shared.data_uri(data, mime)

    async def _call(self, method: str, url: str, body: Json | None = None) -> Json:
        headers = {"Authorization": f"Bearer {self.api_key}"}
        response = await shared.request(
            self.http,
            method,
            url,
            json=body,
            headers=headers,
            deadline=self.timeout,
            fail=shared.lost("Ark"),
        )
        _raise_for_status(response)
        if method == "DELETE":
            return {}
        return shared.json_answer(response, "Ark")


def task_status(task: Any) -> UpstreamStatus:
    """An Ark task object mapped to our states (ProviderUnavailable when malformed)."""
    if not isinstance(task, dict) or task.get("status") not in STATES:
        raise ProviderUnavailable(
            f"Ark answered a malformed task: {task!r:.300}", code="upstream_malformed"
        )
    raw = str(task["status"])
    extra = {
        key: task[key]
        for key in ("usage", "seed", "resolution", "ratio", "duration")
        if key in task
    }
    if raw == "succeeded":
        content = task.get("content")
        url = content.get("video_url") if isinstance(content, dict) else None
        if not isinstance(url, str) or not url:
            return UpstreamStatus("failed", raw, None, None, "no_output", "Ark made no video")
        return UpstreamStatus("completed", raw, output_url=url, extra=extra)
    if raw == "expired":
        return UpstreamStatus("failed", raw, None, None, "expired", "the Ark task expired")
    if raw == "failed":
        found = task.get("error")
        error: Json = found if isinstance(found, dict) else {}
        upstream_code = str(error.get("code") or "")
        code = "content_filtered" if "Sensitive" in upstream_code else "generation_failed"
        message = str(error.get("message") or "Ark reported a failure")
        return UpstreamStatus(
            "failed", raw, None, None, code, message, {"failure_code": upstream_code or None}
        )
    return UpstreamStatus(STATES[raw], raw)


def _parameters(params: Mapping[str, Any]) -> Json:
    fields: Json = {}
    if params.get("resolution"):
        fields["resolution"] = str(params["resolution"])
    ratio = params.get("ratio") or params.get("aspect_ratio")
    if ratio:
        fields["ratio"] = str(ratio)
    if params.get("seconds") not in (None, ""):
        seconds = _number(params["seconds"])
        if seconds is None or not seconds.is_integer():
            raise ProviderRejected(
                f"Ark takes whole seconds, not {params['seconds']!r}", code="invalid_request"
            )
        fields["duration"] = int(seconds)
    if params.get("seed") is not None:
        fields["seed"] = int(params["seed"])
    if params.get("camera_fixed") is not None:
        fields["camera_fixed"] = bool(params["camera_fixed"])
    return fields


def _makes_sound(model: str) -> bool:
    """Whether the Ark model takes `generate_audio` (Seedance 1.5 Pro and 2.0 do)."""
    return any(version in model for version in AUDIO_MODELS)


def _flag(value: Any) -> str:
    return str(value).lower() if isinstance(value, bool) else str(value)


def _raise_for_status(response: httpx.Response) -> None:
    status = response.status_code
    if 200 <= status < 300:
        return
    error: Any = None
    with contextlib.suppress(ValueError, AttributeError):
        error = response.json().get("error")
    if isinstance(error, dict):
        error = f"{error.get('code')}: {error.get('message')}"
    message = f"Ark answered HTTP {status}: {error or response.text[:200] or status}"
    if status >= 500 or status in RETRYABLE:
        code = "rate_limited" if status == 429 else "provider_unavailable"
        retry_after = shared.retry_seconds(response.headers.get("retry-after"))
        raise ProviderUnavailable(message, code=code, retry_after=retry_after)
    if status in (401, 403):
        raise ProviderRejected(message, code="upstream_auth")
    raise ProviderRejected(message, code="not_found" if status == 404 else "invalid_request")


def _checked(upstream_id: str) -> str:
    if not upstream_id.startswith("cgt-") or not upstream_id[4:].replace("-", "").isalnum():
        raise ProviderRejected(f"not an Ark task id: {upstream_id!r}", code="not_found")
    return upstream_id


def build(
    http: httpx.AsyncClient, config: ProviderSettings, read_input: ReadInput | None
) -> SeedanceProvider:
    return SeedanceProvider(
        http,
        api_key=credential(config.ark_api_key),
        read_input=read_input,
        **base_url(config, SeedanceProvider.name),
    )


PLUGIN = Plugin(SeedanceProvider.name, build)
