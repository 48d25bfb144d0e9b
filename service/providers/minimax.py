"""The MiniMax Hailuo adapter (direct API, `api.minimax.io`).

Upstream ids are MiniMax's `task_id`s. MiniMax answers its own errors with HTTP 200 and a
non-zero `base_resp.status_code`; `base_resp_error` maps them onto our error tree (1000/1001/
1002/1013 retryable; 1004/2049 auth, 1008 balance, 1026/1027 sensitive content, 2013 invalid
params and any code we do not know are permanent). A finished task is a `file_id`: `status`
resolves it through `/v1/files/retrieve` to a signed, expiring `download_url`, which `download`
fetches without our key.

Callbacks are unsigned. MiniMax first posts `{"challenge": …}`: receivers must answer it with
`challenge_response(body)` within 3 s or MiniMax drops the callback. The later pushes
(`{task_id, status, file_id, base_resp}`) can be forged by anyone who knows the URL, so
`parse_webhook` returns only a hint (`extra["hint"]`, no output URL): callers must re-fetch
`status(task_id)` before acting on it.

MiniMax has no cancel endpoint: `cancel` is a documented no-op and the task runs on.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import httpx

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
from service.providers.http import IMAGE_MAGIC as IMAGE_MAGIC
from service.providers.http import parse_json as _loads
from service.settings import ProviderSettings

Json = dict[str, Any]
STATES = {
    "Preparing": "queued",
    "Queueing": "queued",
    "Processing": "in_progress",
    "Success": "completed",
    "Fail": "failed",
}
RETRYABLE = {
    1000: "upstream_error",
    1001: "upstream_timeout",
    1002: "rate_limited",
    1013: "upstream_error",
}
PERMANENT = {
    1004: "upstream_auth",
    2049: "upstream_auth",
    1008: "insufficient_balance",
    1026: "sensitive_input",
    1027: "sensitive_output",
    2013: "invalid_params",
}
RESOLUTIONS = (512, 768, 1080)


class MiniMaxProvider(Adapter):
    name = "minimax"
    calls_back = True

    def __init__(
        self,
        http: httpx.AsyncClient,
        *,
        api_key: str,
        base_url: str = "https://api.minimax.io",
        timeout: float = 30.0,
    ) -> None:
        self.http, self.api_key, self.base_url = http, api_key, base_url.rstrip("/")
        self.timeout = timeout

    async def submit(self, request: DispatchRequest) -> Submission:
        data = await self._api("POST", "/v1/video_generation", json=minimax_input(request))
        task_id = data.get("task_id")
        if not isinstance(task_id, str | int) or isinstance(task_id, bool) or not str(task_id):
            raise ProviderUnavailable("MiniMax's submit answer has no task_id", code="malformed")
        return Submission(upstream_id=str(task_id))

    async def status(self, upstream_id: str) -> UpstreamStatus:
        if not re.fullmatch(r"\w+", upstream_id):
            raise ProviderRejected(f"{upstream_id!r} is not a MiniMax task id", code="invalid_id")
        path = "/v1/query/video_generation"
        data = await self._api("GET", path, params={"task_id": upstream_id}, failed_ok=True)
        raw = data.get("status")
        extra: Json = {"task_id": upstream_id}
        if raw == "Fail":
            return failed_status(data.get("base_resp"), extra)
        if not isinstance(raw, str) or raw not in STATES:
            raise ProviderUnavailable(
                f"MiniMax answered an unknown status {raw!r}", code="malformed"
            )
        if raw != "Success":
            return UpstreamStatus(STATES[raw], raw, extra=extra)
        file_id = data.get("file_id")
        if not isinstance(file_id, str | int) or not str(file_id):
            raise ProviderUnavailable("MiniMax's Success carries no file_id", code="malformed")
        found = await self._api("GET", "/v1/files/retrieve", params={"file_id": str(file_id)})
        file = found.get("file")
        url = file.get("download_url") if isinstance(file, dict) else None
        if not isinstance(url, str) or not url.startswith(("https://", "http://")):
            raise ProviderUnavailable("MiniMax's file carries no download_url", code="malformed")
        sizes = {name: data.get(name) for name in ("video_width", "video_height")}
        extra = {**extra, "file_id": str(file_id), "file": file, **sizes}
        return UpstreamStatus("completed", raw, progress=100, output_url=url, extra=extra)

    named_by_callback = True

    async def callback_names(
        self, request: DispatchRequest, headers: Mapping[str, str], body: bytes
    ) -> str | None:
        """The `task_id` of a status push (unsigned: ask `status` before trusting it)."""
        return str(self.parse_webhook(headers, body).extra["task_id"])

    def parse_webhook(self, headers: Mapping[str, str], body: bytes) -> UpstreamStatus:
        """A status push as a hint (unsigned: re-fetch `status` before trusting it). The
        challenge is not a status: answer it with `challenge_response`."""
        data = _loads(body)
        if not isinstance(data, dict):
            raise ProviderRejected("the MiniMax callback body is malformed", code="malformed")
        if "challenge" in data:
            raise ProviderRejected(
                "a MiniMax callback challenge: answer challenge_response()", code="challenge"
            )
        task_id, raw = data.get("task_id"), data.get("status")
        if not isinstance(task_id, str | int) or not isinstance(raw, str) or raw not in STATES:
            raise ProviderRejected("the MiniMax callback body is malformed", code="malformed")
        extra: Json = {"task_id": str(task_id), "file_id": data.get("file_id"), "hint": True}
        if raw == "Fail":
            return failed_status(data.get("base_resp"), extra)
        return UpstreamStatus(STATES[raw], raw, extra=extra)

    @staticmethod
    def challenge_response(body: bytes) -> dict[str, str] | None:
        """The answer to MiniMax's callback handshake, or None when `body` is no challenge."""
        return challenge_response(body)

    def handshake(self, body: bytes) -> dict[str, str] | None:
        """MiniMax checks a callback URL with a challenge before it posts statuses to it."""
        return challenge_response(body)

    async def cancel(self, upstream_id: str) -> None:
        """MiniMax has no cancel endpoint: a no-op; the task runs on (and is billed)."""

    async def download(self, upstream_id: str, dest: Path) -> Path:
        """Stream the result video to `dest` (atomically). The download URL is a signed link:
        our key is never sent with it."""
        url = shared.finished_output(await self.status(upstream_id), "MiniMax")
        return await shared.stream_to_file(
            self.http,
            url,
            dest,
            deadline=self.timeout,
            who="MiniMax",
            refused=http_error,
            target="the download URL",
        )

    async def _api(self, method: str, path: str, failed_ok: bool = False, **kw: Any) -> Json:
        """One API call: its JSON object, after the HTTP status and `base_resp` checks (with
        `failed_ok`, a Fail status keeps its base_resp for the caller to read)."""
        headers = {"Authorization": f"Bearer {self.api_key}"}
        response = await shared.request(
            self.http,
            method,
            self.base_url + path,
            headers=headers,
            deadline=self.timeout,
            fail=lambda error: unreachable(error, method, path),
            **kw,
        )
        if not response.is_success:
            raise http_error(response)
        data = _loads(response.content)
        resp = data.get("base_resp") if isinstance(data, dict) else None
        code = resp.get("status_code") if isinstance(resp, dict) else None
        if not isinstance(data, dict) or not isinstance(resp, dict) or not isinstance(code, int):
            raise ProviderUnavailable("MiniMax answered with a malformed body", code="malformed")
        if code != 0 and not (failed_ok and data.get("status") == "Fail"):
            raise base_resp_error(resp)
        return data


def minimax_input(request: DispatchRequest) -> Json:
    """Our job parameters as MiniMax's `video_generation` body."""
    params = request.params
    body: Json = {"model": request.upstream_model, "prompt": request.prompt}
    if params.get("seconds") is not None:
        seconds = float(params["seconds"])
        body["duration"] = int(seconds) if seconds.is_integer() else seconds  # 6 | 10
    resolution = _resolution(params.get("resolution")) or _from_size(params.get("size"))
    if resolution:
        body["resolution"] = resolution
    if params.get("prompt_optimizer") is not None:
        body["prompt_optimizer"] = bool(params["prompt_optimizer"])
    for ours, theirs in (
        ("image", "first_frame_image"),
        ("last_frame", "last_frame_image"),
        ("end_image", "last_frame_image"),
    ):
        if request.inputs.get(ours):
            body[theirs] = _image(ours, request.inputs[ours])
    if request.callback_url:
        body["callback_url"] = request.callback_url
    return body


def base_resp_error(resp: Mapping[str, Any]) -> ProviderError:
    """A non-zero `base_resp` as our error (unknown codes are permanent)."""
    code, message = resp.get("status_code"), resp.get("status_msg") or "no message"
    text = f"MiniMax answered base_resp {code}: {message}"
    if isinstance(code, int) and code in RETRYABLE:
        return ProviderUnavailable(text, code=RETRYABLE[code])
    known = PERMANENT.get(code) if isinstance(code, int) else None
    return ProviderRejected(text, code=known or f"minimax_{code}")


def failed_status(resp: Any, extra: Json) -> UpstreamStatus:
    """A Fail, with its base_resp as the reason when it carries one."""
    code = resp.get("status_code") if isinstance(resp, dict) else None
    message = resp.get("status_msg") if isinstance(resp, dict) and code else None
    error_code = "generation_failed"
    if isinstance(code, int) and code:
        error_code = PERMANENT.get(code) or RETRYABLE.get(code) or f"minimax_{code}"
    text = str(message or "MiniMax reported that the task failed")
    extra = {**extra, "base_resp": resp}
    return UpstreamStatus("failed", "Fail", error_code=error_code, error_message=text, extra=extra)


def challenge_response(body: bytes) -> dict[str, str] | None:
    """`{"challenge": same}` for MiniMax's callback handshake, or None for other bodies."""
    data = _loads(body)
    challenge = data.get("challenge") if isinstance(data, dict) else None
    return {"challenge": challenge} if isinstance(challenge, str) else None


def http_error(response: httpx.Response) -> ProviderError:
    """A non-2xx answer (MiniMax's edge, not MiniMax): 408/409/429/5xx retryable."""
    status = response.status_code
    text = f"MiniMax answered HTTP {status}: {response.text[:200] or response.reason_phrase}"
    retry_after = response.headers.get("retry-after", "")
    seconds = float(retry_after) if re.fullmatch(r"\d+(\.\d+)?", retry_after) else None
    retry = shared.retryable(status, text, seconds)
    if retry is not None:
        return retry
    return ProviderRejected(text, code=f"upstream_{status}")


def unreachable(error: Exception, method: str, target: str) -> ProviderUnavailable:
    return shared.unreachable(error, "MiniMax", method, target)


def _image(name: str, image: Mapping[str, Any]) -> str:
    """An input image as MiniMax takes it: its URL, or its bytes as a data URI."""
    if image.get("url"):
        return str(image["url"])
    if not image.get("data"):
        raise ProviderRejected(
            f"MiniMax needs inputs.{name} as a URL or bytes (a base64 `data` field)",
            code="image_upload_unsupported",
        )
    data = shared.decode_base64(image["data"], f"inputs.{name}.data is not base64")
    return shared.data_uri(data, image.get("content_type") or shared.sniff(data))


def _resolution(value: Any) -> str | None:
    """`"768p"`, `"1080P"`, `768` → MiniMax's `"768P"` form."""
    found = re.fullmatch(r"(\d{3,4})[pP]?", str(value or "").strip())
    return f"{found.group(1)}P" if found else None


def _from_size(size: Any) -> str | None:
    """The MiniMax resolution nearest to a `WxH` size's short side (MiniMax picks the
    orientation itself: 16:9, or the first frame's)."""
    found = re.fullmatch(r"(\d+)x(\d+)", str(size or ""))
    if not found:
        return None
    short = min(int(found.group(1)), int(found.group(2)))
    return f"{min(RESOLUTIONS, key=lambda r: abs(r - short))}P"


def build(
    http: httpx.AsyncClient, config: ProviderSettings, read_input: ReadInput | None
) -> MiniMaxProvider:
    key = credential(config.minimax_api_key)
    return MiniMaxProvider(http, api_key=key, **base_url(config, MiniMaxProvider.name))


PLUGIN = Plugin(MiniMaxProvider.name, build)
