"""The Kling adapter (official API, `api-singapore.klingai.com`).

Auth is a fresh JWT per request (HS256 via PyJWT: `iss` = access key, `exp` = now + 30 min,
`nbf` = now - 5 s, signed with the secret key). Upstream ids are `"{kind}:{task_id}"`, kind
being `text2video` or `image2video` (Kling queries each under its own path).

Idempotency: `external_task_id` is the job id (hex) — stricter than an attempt id: every
attempt of a job is one Kling task. Kling refuses a second task with the same one, so a submit
retried after a lost answer gets that refusal (1201 naming `external_task_id`); the adapter
then looks the task up by its external id and returns it (`dedupes`). `find` asks for the task
by that id (the query path takes a task id or an external one; 1203 when there is none).

Errors come as `{code ≠ 0, message}` with an HTTP status; `kling_error` maps the business code
(1302/1303 rate limits and 5000-5002 retryable; 1000-1004 auth, 1100-1103 account/balance,
1200-1203 params, 1300/1301/1304 policy permanent; unknown codes by HTTP status).

Callbacks are unsigned (Kling documents no signature): `parse_webhook` returns a hint only
(`extra["hint"]`, no output URL, the job's hex id as `extra["external_task_id"]`); re-fetch
`status` before acting on it. Kling has no cancel endpoint: `cancel` is a documented no-op.
"""

from __future__ import annotations

import base64
import re
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import httpx
import jwt

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
    base_url,
    credential,
)
from service.providers.http import parse_json as _loads
from service.settings import ProviderSettings

Json = dict[str, Any]
STATES = {
    "submitted": "queued",
    "processing": "in_progress",
    "succeed": "completed",
    "failed": "failed",
}
PROGRESS = {"submitted": 0, "processing": 50, "succeed": 100}  # synthesized, Kling has none
RETRYABLE = {
    1302: "rate_limited",
    1303: "rate_limited",
    5000: "upstream_error",
    5001: "upstream_unavailable",
    5002: "upstream_timeout",
}
PERMANENT = {
    **dict.fromkeys((1000, 1001, 1002, 1003, 1004), "upstream_auth"),
    1100: "account_error",
    1101: "insufficient_balance",
    1102: "insufficient_balance",
    1103: "forbidden",
    1200: "invalid_params",
    1201: "invalid_params",
    1202: "not_found",
    1203: "not_found",
    1300: "policy_violation",
    1301: "sensitive_content",
    1304: "ip_not_allowed",
}
RATIOS = {"16:9": 16 / 9, "9:16": 9 / 16, "1:1": 1.0}
GENERATION_MODES = ("text-to-video", "image-to-video", "video-to-video")
TOKEN_LIFETIME = 1800


class KlingProvider(Adapter):
    name = "kling"
    calls_back = True
    finds = True
    dedupes = True

    def __init__(
        self,
        http: httpx.AsyncClient,
        *,
        access_key: str,
        secret_key: str,
        base_url: str = "https://api-singapore.klingai.com",
        timeout: float = 30.0,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.http, self.base_url, self.timeout = http, base_url.rstrip("/"), timeout
        self.access_key, self.secret_key, self.clock = access_key, secret_key, clock

    def token(self) -> str:
        """A fresh API token: HS256 JWT, valid from 5 s ago for 30 minutes."""
        now = int(self.clock())
        claims = {"iss": self.access_key, "exp": now + TOKEN_LIFETIME, "nbf": now - 5}
        return jwt.encode(claims, self.secret_key, algorithm="HS256")

    async def submit(self, request: DispatchRequest) -> Submission:
        body = kling_input(request)
        kind = _kind(body)
        try:
            data = await self._api("POST", f"/v1/videos/{kind}", json=body)
        except ProviderRejected as error:
            if error.code != "invalid_params" or "external_task_id" not in str(error):
                raise
            data = await self._api("GET", f"/v1/videos/{kind}/{body['external_task_id']}")
        return _submission(kind, data)

    async def find(self, request: DispatchRequest) -> Submission | None:
        """The task an earlier submit of this job created, by its `external_task_id`."""
        body = kling_input(request)
        kind = _kind(body)
        try:
            data = await self._api("GET", f"/v1/videos/{kind}/{body['external_task_id']}")
        except ProviderRejected as error:
            if error.code == "not_found":
                return None
            raise
        return _submission(kind, data)

    async def status(self, upstream_id: str) -> UpstreamStatus:
        found = re.fullmatch(r"(text2video|image2video):(\w+)", upstream_id)
        if not found:
            raise ProviderRejected(f"{upstream_id!r} is not a Kling task id", code="invalid_id")
        data = await self._api("GET", f"/v1/videos/{found.group(1)}/{found.group(2)}")
        status = task_status(data, hint=False)
        if status.state == "completed" and not status.output_url:
            raise ProviderUnavailable("Kling's succeed carries no video url", code="malformed")
        return status

    def parse_webhook(self, headers: Mapping[str, str], body: bytes) -> UpstreamStatus:
        """A callback (the task object, unsigned) as a hint: re-fetch `status` to trust it."""
        data = _loads(body)
        if not isinstance(data, dict) or not isinstance(data.get("task_id"), str):
            raise ProviderRejected("the Kling callback body is malformed", code="malformed")
        try:
            return task_status(data, hint=True)
        except ProviderUnavailable as error:
            raise ProviderRejected(str(error), code="malformed") from None

    async def cancel(self, upstream_id: str) -> None:
        """Kling has no cancel endpoint: a no-op; the task runs on (and is billed)."""

    async def download(self, upstream_id: str, dest: Path) -> Path:
        """Stream the result video to `dest` (atomically). Kling's video URLs are public CDN
        links: no token is sent with them."""
        url = shared.finished_output(await self.status(upstream_id), "Kling")
        return await shared.stream_to_file(
            self.http,
            url,
            dest,
            deadline=self.timeout,
            who="Kling",
            refused=lambda response: kling_error(response, None, ""),
            target="the video URL",
        )

    async def _api(self, method: str, path: str, **kw: Any) -> Json:
        """One API call: its `data` object, after the HTTP status and `code` checks."""
        headers = {"Authorization": f"Bearer {self.token()}"}
        response = await shared.request(
            self.http,
            method,
            self.base_url + path,
            headers=headers,
            deadline=self.timeout,
            fail=lambda error: unreachable(error, method, path),
            **kw,
        )
        body = _loads(response.content)
        code = body.get("code") if isinstance(body, dict) else None
        if not isinstance(code, int) or isinstance(code, bool):
            if not response.is_success:
                raise kling_error(response, None, "")
            raise ProviderUnavailable("Kling answered with a malformed body", code="malformed")
        if code != 0 or not response.is_success:
            assert isinstance(body, dict)
            raise kling_error(response, code, str(body.get("message") or "no message"))
        data = body.get("data")
        if not isinstance(data, dict):
            raise ProviderUnavailable("Kling's answer carries no data object", code="malformed")
        return data


def _kind(body: Json) -> str:
    """The endpoint (and query path) a body goes to: Kling keeps each kind's tasks apart."""
    return "image2video" if "image" in body or "image_tail" in body else "text2video"


def _submission(kind: str, data: Json) -> Submission:
    task_id = data.get("task_id")
    if not isinstance(task_id, str) or not re.fullmatch(r"\w+", task_id):
        raise ProviderUnavailable("Kling's answer has no task_id", code="malformed")
    return Submission(upstream_id=f"{kind}:{task_id}")


def task_status(data: Json, *, hint: bool) -> UpstreamStatus:
    """A Kling task object (query `data` or callback body) as our status."""
    raw = data.get("task_status")
    if not isinstance(raw, str) or raw not in STATES:
        raise ProviderUnavailable(
            f"Kling answered an unknown task_status {raw!r}", code="malformed"
        )
    info = data.get("task_info")
    external = info.get("external_task_id") if isinstance(info, dict) else None
    extra: Json = {"task_id": data.get("task_id"), "external_task_id": external}
    if hint:
        extra["hint"] = True
    if raw == "failed":
        message = str(data.get("task_status_msg") or "Kling reported that the task failed")
        return UpstreamStatus(
            "failed", raw, error_code="generation_failed", error_message=message, extra=extra
        )
    url = None
    if raw == "succeed" and not hint:
        result = data.get("task_result")
        videos = result.get("videos") if isinstance(result, dict) else None
        video = videos[0] if isinstance(videos, list) and videos else None
        url = video.get("url") if isinstance(video, dict) else None
        if not isinstance(url, str) or not url.startswith(("https://", "http://")):
            url = None
        extra["video"] = video
    return UpstreamStatus(STATES[raw], raw, progress=PROGRESS.get(raw), output_url=url, extra=extra)


def kling_input(request: DispatchRequest) -> Json:
    """Our job parameters as Kling's text2video / image2video body."""
    params = request.params
    body: Json = {"model_name": request.upstream_model, "prompt": request.prompt}
    if params.get("negative_prompt"):
        body["negative_prompt"] = str(params["negative_prompt"])
    if params.get("cfg_scale") is not None:
        body["cfg_scale"] = float(params["cfg_scale"])
    mode = params.get("mode")
    if mode in GENERATION_MODES:  # the gateway's record of t2v/i2v, not Kling's std/pro
        mode = None
    mode = mode or ("pro" if "1080" in str(params.get("resolution", "")) else None)
    if mode:
        body["mode"] = str(mode)
    ratio = params.get("aspect_ratio") or _ratio(params.get("size"))
    if ratio:
        body["aspect_ratio"] = str(ratio)
    if params.get("seconds") is not None:
        body["duration"] = f"{float(params['seconds']):g}"  # "5" | "10"
    sound = params.get("sound", params.get("audio"))
    if sound is not None and sound is not False:  # off is Kling's default: leave it unsaid
        body["sound"] = sound if sound in ("on", "off") else ("on" if sound else "off")
    for ours, theirs in (
        ("image", "image"),
        ("last_frame", "image_tail"),
        ("end_image", "image_tail"),
    ):
        if request.inputs.get(ours):
            body[theirs] = _image(ours, request.inputs[ours])
    if request.callback_url:
        body["callback_url"] = request.callback_url
    body["external_task_id"] = request.job_id.hex
    return body


def kling_error(response: httpx.Response, code: int | None, message: str) -> ProviderError:
    """A refusal: Kling's business `code` decides; without one, the HTTP status does
    (408/409/429/5xx retryable). Retry-After is honoured when sent."""
    status = response.status_code
    text = f"Kling answered HTTP {status} code {code}: {message or response.text[:200]}"
    retry_after = response.headers.get("retry-after", "")
    seconds = float(retry_after) if re.fullmatch(r"\d+(\.\d+)?", retry_after) else None
    if code is not None and code in RETRYABLE:
        return ProviderUnavailable(text, code=RETRYABLE[code], retry_after=seconds)
    if code is not None and code in PERMANENT:
        return ProviderRejected(text, code=PERMANENT[code])
    if status in (408, 409, 429) or status >= 500 or (code or 0) >= 5000:
        name = "rate_limited" if status == 429 else "upstream_error"
        return ProviderUnavailable(text, code=name, retry_after=seconds)
    return ProviderRejected(text, code=f"kling_{code}" if code else f"upstream_{status}")


def unreachable(error: Exception, method: str, target: str) -> ProviderUnavailable:
    return shared.unreachable(error, "Kling", method, target)


def _image(name: str, image: Mapping[str, Any]) -> str:
    """An input image as Kling takes it: its URL, or bare base64 (no `data:` prefix)."""
    if image.get("url"):
        return str(image["url"])
    if not image.get("data"):
        raise ProviderRejected(
            f"Kling needs inputs.{name} as a URL or bytes (a base64 `data` field)",
            code="image_upload_unsupported",
        )
    data = shared.decode_base64(image["data"], f"inputs.{name}.data is not base64")
    return base64.b64encode(data).decode()


def _ratio(size: Any) -> str | None:
    """The Kling aspect ratio nearest to a `WxH` size."""
    found = re.fullmatch(r"(\d+)x(\d+)", str(size or ""))
    if not found or not int(found.group(2)):
        return None
    aspect = int(found.group(1)) / int(found.group(2))
    return min(RATIOS, key=lambda name: abs(RATIOS[name] - aspect))


def build(
    http: httpx.AsyncClient, config: ProviderSettings, read_input: ReadInput | None
) -> KlingProvider:
    return KlingProvider(
        http,
        access_key=credential(config.kling_access_key),
        secret_key=credential(config.kling_secret_key),
        **base_url(config, KlingProvider.name),
    )


PLUGIN = Plugin(KlingProvider.name, build)
