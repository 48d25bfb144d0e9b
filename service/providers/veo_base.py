"""What the Veo adapters share: `_Veo` (submit, status, download, request mapping, HTTP
calls) and the helpers for Google's errors, image sniffing and atomic video writes.

`service.providers.veo` documents the mapping; `GeminiVeoProvider` (there) and
`VertexVeoProvider` (`veo_vertex`) fill in each API's URLs, auth and response shapes.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import re
from abc import ABC, abstractmethod
from collections.abc import AsyncIterator, Callable, Mapping
from pathlib import Path
from typing import Any

import httpx

from service.providers import http as shared
from service.providers.base import (
    Adapter,
    DispatchRequest,
    ProviderRejected,
    ProviderUnavailable,
    Submission,
    UpstreamStatus,
)
from service.providers.http import IMAGE_MAGIC as IMAGE_MAGIC
from service.providers.http import number as _number

Json = dict[str, Any]
RETRYABLE = frozenset({408, 409, 425, 429})
OPERATION_NAME = re.compile(r"^[\w.\-]+(/[\w.\-]+)*/operations/[\w.\-]+$")
RAI_WORDS = ("responsible ai", "safety", "usage guidelines", "sensitive")


class _Veo(Adapter, ABC):
    name = "veo"
    vertex = False

    def __init__(
        self,
        http: httpx.AsyncClient,
        *,
        timeout: float = 30.0,
        download_timeout: float = 600.0,
        read_input: Callable[[str], bytes] | None = None,
    ) -> None:
        self.http, self.timeout, self.download_timeout = http, timeout, download_timeout
        self.read_input = read_input

    @abstractmethod
    def _headers(self) -> dict[str, str]: ...
    @abstractmethod
    def _submit_url(self, model: str) -> str: ...
    @abstractmethod
    async def _operation(self, name: str) -> Json: ...
    @abstractmethod
    def _outputs(self, operation: Json) -> tuple[list[Json], Json]:
        """A done operation's videos, and the object that carries its RAI-filter counts."""

    @abstractmethod
    async def _save(self, video: Json, dest: Path) -> Path: ...

    async def submit(self, request: DispatchRequest) -> Submission:
        body = {"instances": [await self._instance(request)], "parameters": self._params(request)}
        answer = await self._call("POST", self._submit_url(request.upstream_model), body)
        if not OPERATION_NAME.match(answer["name"]):
            raise ProviderUnavailable(f"Veo answered a strange operation name: {answer!r:.200}")
        return Submission(upstream_id=answer["name"])

    async def status(self, upstream_id: str) -> UpstreamStatus:
        operation = await self._operation(upstream_id)
        if not operation.get("done"):
            return UpstreamStatus("in_progress", "running")
        if operation.get("error") is not None:
            error = operation["error"] if isinstance(operation["error"], dict) else {}
            message = str(error.get("message") or "Veo reported an error")
            code = "content_filtered" if _is_rai(message) else "generation_failed"
            extra = {"google_code": error.get("code")}
            return UpstreamStatus("failed", "done", None, None, code, message, extra)
        videos, result = self._parse(operation)
        if videos:
            url = videos[0].get("uri") or videos[0].get("gcsUri")
            extra = {"samples": len(videos)}
            return UpstreamStatus("completed", "done", output_url=url, extra=extra)
        count, reasons = result.get("raiMediaFilteredCount"), result.get("raiMediaFilteredReasons")
        if count or reasons:
            message = "; ".join(map(str, reasons or [])) or "blocked by Veo's safety filters"
            extra = {"rai_media_filtered_count": count}
            return UpstreamStatus("failed", "done", None, None, "content_filtered", message, extra)
        return UpstreamStatus("failed", "done", None, None, "no_output", "Veo made no video")

    def parse_webhook(self, headers: Mapping[str, str], body: bytes) -> UpstreamStatus:
        raise ProviderRejected("Veo sends no webhooks")

    def takes_image_url(self, url: str) -> bool:
        return False  # images go inline (`bytesBase64Encoded`); the dispatcher fetches URLs

    async def cancel(self, upstream_id: str) -> None:
        """Neither the Gemini API nor Vertex AI can cancel a Veo operation: nothing to do."""
        return None

    async def download(self, upstream_id: str, dest: Path) -> Path:
        operation = await self._operation(upstream_id)
        if not operation.get("done"):
            raise ProviderUnavailable("the Veo operation has not finished yet", code="not_ready")
        videos, _ = self._parse(operation)
        if not videos:
            raise ProviderRejected("the Veo operation has no video", code="no_output")
        return await self._save(videos[0], dest)

    def _parse(self, operation: Json) -> tuple[list[Json], Json]:
        try:
            videos, result = self._outputs(operation)
            if all(isinstance(video, dict) for video in videos) and isinstance(result, dict):
                return videos, result
        except (AttributeError, KeyError, TypeError):
            pass
        raise ProviderUnavailable(
            f"Veo answered a malformed operation: {operation!r:.300}", code="upstream_malformed"
        )

    def _params(self, request: DispatchRequest) -> Json:
        params, out = request.params, Json(sampleCount=1)
        if params.get("seconds") not in (None, ""):
            seconds = _number(params["seconds"])
            if seconds is None or not seconds.is_integer():
                raise ProviderRejected(
                    f"Veo takes whole seconds, not {params['seconds']!r}", code="invalid_request"
                )
            out["durationSeconds"] = int(seconds)
        aspect, resolution = _from_size(params.get("size"))
        if params.get("aspect_ratio") or aspect:
            out["aspectRatio"] = params.get("aspect_ratio") or aspect
        veo2 = request.upstream_model.startswith("veo-2")  # renders 720p, takes no resolution
        if (params.get("resolution") or resolution) and not veo2:
            out["resolution"] = params.get("resolution") or resolution
        names = {"negative_prompt": "negativePrompt", "person_generation": "personGeneration"}
        if self.vertex:
            names |= {"seed": "seed", "generate_audio": "generateAudio"}
            if request.upstream_model.startswith("veo-3"):  # Veo 3 makes sound unless told
                names |= {"audio": "generateAudio"}
        for ours, theirs in names.items():
            if params.get(ours) is not None:
                out[theirs] = int(params[ours]) if ours == "seed" else params[ours]
        return out

    async def _instance(self, request: DispatchRequest) -> Json:
        instance: Json = {"prompt": request.prompt}
        for ours, theirs in (
            ("image", "image"),
            ("last_frame", "lastFrame"),
            ("end_image", "lastFrame"),
        ):
            if request.inputs.get(ours):
                instance[theirs] = await self._image(ours, request.inputs[ours])
        return instance

    async def _image(self, name: str, image: Mapping[str, Any]) -> Json:
        data = await shared.image_bytes(
            image,
            self.read_input,
            not_base64=f"inputs.{name}.data is not base64",
            missing=f"Veo needs inputs.{name} as bytes (a base64 `data` field or a stored "
            "`sha256`)",
        )
        mime = shared.image_mime(image, data)
        return {"bytesBase64Encoded": base64.b64encode(data).decode(), "mimeType": mime}

    async def _call(self, method: str, url: str, body: Json | None = None) -> Json:
        response = await shared.request(
            self.http,
            method,
            url,
            json=body,
            headers=self._headers(),
            deadline=self.timeout,
            fail=shared.lost("Veo"),
        )
        _raise_for_status(response)
        answer = shared.json_answer(response, "Veo")
        if isinstance(answer.get("name"), str):
            return answer  # a google.longrunning.Operation always has its name
        raise ProviderUnavailable(
            f"Veo answered malformed JSON: {response.text[:200]!r}", code="upstream_malformed"
        )

    def _checked(self, name: str) -> str:
        if not OPERATION_NAME.match(name) or ".." in name:
            raise ProviderRejected(f"not a Veo operation name: {name!r}", code="not_found")
        return name


def _raise_for_status(response: httpx.Response) -> None:
    status = response.status_code
    if 200 <= status < 300:
        return
    error: Any = {}
    with contextlib.suppress(ValueError, AttributeError):
        error = response.json().get("error")
    error = error if isinstance(error, dict) else {}
    details = [d for d in error.get("details") or [] if isinstance(d, dict)]
    text = str(error.get("message") or response.text[:200] or response.reason_phrase)
    message = f"Veo answered HTTP {status}: {text}"
    if status >= 500 or status in RETRYABLE:
        code = "rate_limited" if status == 429 else "provider_unavailable"
        raise ProviderUnavailable(message, code=code, retry_after=_retry_after(response, details))
    if status in (401, 403) or any(d.get("reason") == "API_KEY_INVALID" for d in details):
        raise ProviderRejected(message, code="upstream_auth")
    raise ProviderRejected(message, code="not_found" if status == 404 else "invalid_request")


def _retry_after(response: httpx.Response, details: list[Json]) -> float | None:
    """Retry-After in seconds, else Google's RetryInfo `retryDelay` ("37s")."""
    delays = [response.headers.get("retry-after")]
    delays += [str(d.get("retryDelay", "")).removesuffix("s") for d in details]
    return next((n for n in map(shared.retry_seconds, delays) if n is not None), None)


def _from_size(size: Any) -> tuple[str | None, str | None]:
    if not size:
        return None, None
    try:
        width, height = (int(side) for side in str(size).lower().split("x"))
    except ValueError:
        raise ProviderRejected(
            f"size must be WIDTHxHEIGHT, not {size!r}", code="invalid_request"
        ) from None
    if width == height:
        raise ProviderRejected(
            "Veo renders 16:9 or 9:16, not square videos", code="invalid_request"
        )
    return ("16:9" if width > height else "9:16"), ("1080p" if min(width, height) == 1080 else None)


def _is_rai(message: str) -> bool:
    return any(word in message.lower() for word in RAI_WORDS)


def _decode(data: str) -> bytes:
    try:
        return base64.b64decode(data, validate=True)
    except binascii.Error:
        raise ProviderUnavailable(
            "Veo's inline video is not base64", code="upstream_malformed"
        ) from None


async def _once(data: bytes) -> AsyncIterator[bytes]:
    yield data
