"""Google Veo adapters: the Gemini API (`GeminiVeoProvider`) and Vertex AI (`VertexVeoProvider`).

Both start a long-running `:predictLongRunning` operation and poll it; the upstream id is the
operation name. Veo reports no progress, sends no webhooks, and neither API can cancel a video
operation: `cancel` is a no-op (the job keeps running, and is billed, upstream). What both share
lives in `veo_base` (`_Veo`); `VertexVeoProvider` in `veo_vertex`, re-exported here.

Our request → Veo `instances[0]` / `parameters` (sampleCount is always 1: one job, one video):
  prompt → prompt;  params.seconds → durationSeconds (whole seconds only);
  params.aspect_ratio → aspectRatio, else from params.size "WxH" (landscape "16:9", portrait
  "9:16", square rejected);  params.resolution → resolution, else "1080p" for a size whose short
  side is 1080 (720p is the default);  negative_prompt → negativePrompt;  person_generation →
  personGeneration;  seed → seed and generate_audio → generateAudio on Vertex AI only
  (google-genai refuses both in Gemini API mode, so the Gemini adapter leaves them out);
  inputs.image / inputs.last_frame → image / lastFrame {bytesBase64Encoded, mimeType} from a
  base64 `data` field, or a stored `sha256` through `read_input` (Veo fetches no URLs:
  `takes_image_url` is False, so the dispatcher fetches them and hands them over as uploads).

Errors: timeouts, transport errors, 408/409/425/429/5xx and unparseable answers raise
ProviderUnavailable (`retry_after` from Retry-After or Google's RetryInfo); other 4xx raise
ProviderRejected with Google's message. Veo cannot tell queued from running: `done: false` is
`in_progress` without a percent (raw `running`; the poller estimates one). A done operation
with `error`, or without samples (RAI-filtered), is `failed` (`content_filtered` for
Responsible-AI blocks). `output_url` is Veo's own reference — the files-API URI (useless
without our API key) or a `gs://` URI, None for inline base64 — for the gateway's records
only, never for clients: `download` fetches the bytes (re-reading the
operation, following redirects) and sends the API key only to `base_url`'s origin.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx

from service.providers.base import (
    Plugin,
    ProviderRejected,
    ProviderUnavailable,
    ReadInput,
    base_url,
    credential,
)
from service.providers.http import limited as _limited
from service.providers.http import write_atomically as _write
from service.providers.veo_base import (
    IMAGE_MAGIC,
    OPERATION_NAME,
    RAI_WORDS,
    RETRYABLE,
    Json,
    _decode,
    _once,
    _raise_for_status,
    _Veo,
)
from service.providers.veo_vertex import GcsFetch, VertexVeoProvider
from service.settings import ProviderSettings

__all__ = [
    "IMAGE_MAGIC",
    "OPERATION_NAME",
    "RAI_WORDS",
    "RETRYABLE",
    "GcsFetch",
    "GeminiVeoProvider",
    "Json",
    "VertexVeoProvider",
]


class GeminiVeoProvider(_Veo):
    """Veo through the Gemini API; `api_key` goes only to `base_url`'s origin."""

    name = "veo"

    def __init__(
        self,
        http: httpx.AsyncClient,
        *,
        api_key: str,
        base_url: str = "https://generativelanguage.googleapis.com",
        **options: Any,
    ) -> None:
        super().__init__(http, **options)
        self.api_key, self.base_url = api_key, base_url.rstrip("/")

    def _headers(self) -> dict[str, str]:
        return {"x-goog-api-key": self.api_key} if self.api_key else {}

    def _submit_url(self, model: str) -> str:
        return f"{self.base_url}/v1beta/models/{model}:predictLongRunning"

    async def _operation(self, name: str) -> Json:
        return await self._call("GET", f"{self.base_url}/v1beta/{self._checked(name)}")

    def _outputs(self, operation: Json) -> tuple[list[Json], Json]:
        result = (operation.get("response") or {}).get("generateVideoResponse") or {}
        return [sample["video"] for sample in result.get("generatedSamples") or []], result

    async def _save(self, video: Json, dest: Path) -> Path:
        uri = video.get("uri")
        if isinstance(video.get("encodedVideo"), str):  # google-genai reads this too (unseen)
            return await _write(_once(_decode(video["encodedVideo"])), dest)
        if not isinstance(uri, str):
            raise ProviderUnavailable("Veo's video has no URI", code="upstream_malformed")
        if not self._ours(uri):
            raise ProviderRejected(f"refusing to send the API key to {urlsplit(uri).netloc}")
        try:
            async with asyncio.timeout(self.download_timeout):
                response = await self._follow(uri)
                try:
                    if response.status_code != 200:
                        await response.aread()
                        _raise_for_status(response)
                        raise ProviderUnavailable(
                            f"the Veo download answered {response.status_code}"
                        )
                    return await _write(_limited(response.aiter_bytes(), "Veo"), dest)
                finally:
                    await response.aclose()
        except (TimeoutError, httpx.TimeoutException):
            raise ProviderUnavailable(
                "the Veo download timed out", code="upstream_timeout"
            ) from None
        except httpx.HTTPError as error:
            raise ProviderUnavailable(f"the Veo download failed: {error}") from None

    async def _follow(self, url: str) -> httpx.Response:
        """GET url (streamed) through up to 5 redirects; the key goes only to our origin."""
        for _ in range(6):
            headers = self._headers() if self._ours(url) else {}
            request = self.http.build_request("GET", url, headers=headers, timeout=self.timeout)
            response = await self.http.send(request, stream=True, follow_redirects=False)
            if not response.has_redirect_location:
                return response
            await response.aclose()
            url = str(response.url.join(response.headers["location"]))
        raise ProviderUnavailable("the Veo download redirected too often")

    def _ours(self, url: str) -> bool:
        return urlsplit(url)[:2] == urlsplit(self.base_url)[:2]


def build(
    http: httpx.AsyncClient, config: ProviderSettings, read_input: ReadInput | None
) -> GeminiVeoProvider:
    return GeminiVeoProvider(
        http,
        api_key=credential(config.gemini_api_key),
        read_input=read_input,
        **base_url(config, GeminiVeoProvider.name),
    )


PLUGIN = Plugin(GeminiVeoProvider.name, build)
