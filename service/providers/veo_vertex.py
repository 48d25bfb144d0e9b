"""Veo on Vertex AI (`VertexVeoProvider`); `service.providers.veo` documents the mapping."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import httpx

from service.providers.base import (
    DispatchRequest,
    Plugin,
    ProviderRejected,
    ProviderUnavailable,
    ReadInput,
    base_url,
    credential,
)
from service.providers.http import write_atomically as _write
from service.providers.veo_base import Json, _decode, _once, _Veo
from service.settings import ProviderSettings

GcsFetch = Callable[[str, Path], Awaitable[Path]]


class VertexVeoProvider(_Veo):
    """Veo on Vertex AI. `token_or_key` is an OAuth access token (or a callable returning a
    fresh one) sent as Bearer, or an API key (express mode: `express=True`, or a key starting
    "AIza") sent as `x-goog-api-key`. Videos come inline (base64), or as `gs://` URIs when
    `storage_uri` is set, which only an injected `gcs_fetch(uri, dest)` can download."""

    name = "vertex-veo"
    vertex = True

    def __init__(
        self,
        http: httpx.AsyncClient,
        *,
        project: str,
        location: str,
        token_or_key: str | Callable[[], str],
        base_url: str | None = None,
        express: bool | None = None,
        storage_uri: str | None = None,
        gcs_fetch: GcsFetch | None = None,
        **options: Any,
    ) -> None:
        super().__init__(http, **options)
        host = "aiplatform" if location == "global" else f"{location}-aiplatform"
        self.base_url = (base_url or f"https://{host}.googleapis.com").rstrip("/")
        self.project, self.location, self.credential = project, location, token_or_key
        if express is None:
            express = isinstance(token_or_key, str) and token_or_key.startswith("AIza")
        self.express, self.storage_uri, self.gcs_fetch = express, storage_uri, gcs_fetch

    def _headers(self) -> dict[str, str]:
        credential = self.credential() if callable(self.credential) else self.credential
        if not credential:
            return {}
        if self.express:
            return {"x-goog-api-key": credential}
        return {"Authorization": f"Bearer {credential}"}

    def _submit_url(self, model: str) -> str:
        scope = f"projects/{self.project}/locations/{self.location}"
        return f"{self.base_url}/v1/{scope}/publishers/google/models/{model}:predictLongRunning"

    def _params(self, request: DispatchRequest) -> Json:
        params = super()._params(request)
        if self.storage_uri:
            params["storageUri"] = self.storage_uri
        return params

    async def _operation(self, name: str) -> Json:
        resource = self._checked(name).rpartition("/operations/")[0]  # as google-genai does
        url = f"{self.base_url}/v1/{resource}:fetchPredictOperation"
        return await self._call("POST", url, {"operationName": name})

    def _outputs(self, operation: Json) -> tuple[list[Json], Json]:
        result = operation.get("response") or {}
        return list(result.get("videos") or []), result

    async def _save(self, video: Json, dest: Path) -> Path:
        if isinstance(video.get("bytesBase64Encoded"), str):
            return await _write(_once(_decode(video["bytesBase64Encoded"])), dest)
        if not isinstance(video.get("gcsUri"), str):
            raise ProviderUnavailable(
                "Veo's video has neither bytes nor a URI", code="upstream_malformed"
            )
        if self.gcs_fetch is None:
            raise ProviderRejected("gs:// outputs need GCS credentials", code="gcs_output")
        return await self.gcs_fetch(video["gcsUri"], dest)


def build(
    http: httpx.AsyncClient, config: ProviderSettings, read_input: ReadInput | None
) -> VertexVeoProvider:
    # An API key means Vertex AI express mode (`x-goog-api-key`), not an OAuth token.
    return VertexVeoProvider(
        http,
        project=credential(config.vertex_project),
        location=config.vertex_location,
        token_or_key=credential(config.vertex_api_key),
        express=True,
        read_input=read_input,
        **base_url(config, VertexVeoProvider.name),
    )


PLUGIN = Plugin(VertexVeoProvider.name, build)
