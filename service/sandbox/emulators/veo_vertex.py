"""The Veo emulator's Vertex AI endpoint, mixed into `VeoEmulator`.

Vertex AI (`Authorization: Bearer`, or an API key in express mode), version v1 or v1beta1:
  POST /{v}/projects/{p}/locations/{l}/publishers/google/models/{model}:predictLongRunning
  POST /{v}/projects/{p}/locations/{l}/publishers/google/models/{model}:fetchPredictOperation
  and both without `projects/{p}/locations/{l}/` (express mode: what google-genai sends for
  `Client(vertexai=True, api_key=…)`). Without `parameters.storageUri` the video comes inline
  as base64; with it, as a `gs://` URI (nothing is written to any bucket).
"""

from __future__ import annotations

import asyncio
import base64
import uuid
from abc import ABC, abstractmethod
from pathlib import Path
from typing import TYPE_CHECKING

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from service.sandbox.emulators.veo_rules import (
    Json,
    VeoRequest,
    _body,
    _invalid,
    _not_found,
    _split,
    parse_request,
)

if TYPE_CHECKING:
    from service.sandbox.emulators.veo import _Operation

VERTEX_TYPE = "type.googleapis.com/cloud.ai.large_models.vision.GenerateVideoResponse"
VERTEX_VERSIONS = ("v1", "v1beta1")


class VertexEndpoint(ABC):
    """The Vertex AI calls; `VeoEmulator` supplies the operations, auth, views and renders."""

    operations: dict[str, _Operation]

    @abstractmethod
    def _auth(self, request: Request, *, vertex: bool) -> None: ...
    @abstractmethod
    def _start(self, name: str, api: str, request: VeoRequest) -> Response: ...
    @abstractmethod
    async def _view(self, operation: _Operation) -> Json: ...
    @abstractmethod
    async def _render(self, operation: _Operation) -> Path: ...

    async def vertex(self, request: Request) -> Response:
        params = request.path_params
        if params["version"] not in VERTEX_VERSIONS:
            _not_found()
        self._auth(request, vertex=True)
        model, action = _split(params["target"])
        scope = ""
        if "project" in params:
            scope = f"projects/{params['project']}/locations/{params['location']}/"
        resource = f"{scope}publishers/google/models/{model}"
        body = await _body(request)
        if action == "predictLongRunning":
            parsed = parse_request(model, body, api="vertex")
            return self._start(f"{resource}/operations/{uuid.uuid4()}", "vertex", parsed)
        if action != "fetchPredictOperation":
            _not_found(f"Method `{action}` is not found.")
        name = body.get("operationName")
        if not isinstance(name, str) or not name.startswith(f"{resource}/operations/"):
            _invalid("`operationName` must name an operation of this model.")
        operation = self.operations.get(name)
        if operation is None or operation.api != "vertex":
            _not_found(f"Operation {name} not found.")
        return JSONResponse(await self._view(operation))

    async def _vertex_videos(self, operation: _Operation) -> Json:
        """A finished, unfiltered Vertex AI operation's videos: `gs://` URIs, else inline."""
        samples = operation.request.samples
        if operation.request.storage_uri:
            op_id = operation.name.rpartition("/")[2]
            prefix = f"{operation.request.storage_uri.rstrip('/')}/{op_id}"
            return {
                "videos": [
                    {"gcsUri": f"{prefix}/sample_{n}.mp4", "mimeType": "video/mp4"}
                    for n in range(samples)
                ]
            }
        video = await self._render(operation)
        data = base64.b64encode(await asyncio.to_thread(video.read_bytes)).decode()
        return {"videos": [{"bytesBase64Encoded": data, "mimeType": "video/mp4"}] * samples}
