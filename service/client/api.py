"""A small synchronous client for the canonical `/v1/videos` API."""

from __future__ import annotations

import json
import mimetypes
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
from httpx_sse import SSEError, connect_sse

from service.settings import ClientSettings

Json = dict[str, Any]
TIMEOUT = httpx.Timeout(30.0, connect=10.0)


class ClientError(Exception):
    """The server refused a request (its own message), or could not be reached."""


class StreamBroken(Exception):
    """An event stream ended by a dropped connection, after the event `last` (None: before any)."""

    def __init__(self, last: str | None, reason: str) -> None:
        super().__init__(reason)
        self.last = last


class VideosClient:
    def __init__(self, settings: ClientSettings, http: httpx.Client | None = None) -> None:
        if not settings.api_key:
            raise ClientError("set VIDGATE_API_KEY to an API key (vg_…)")
        self.http = http or httpx.Client(
            base_url=settings.url,
            headers={"Authorization": f"Bearer {settings.api_key}"},
            timeout=TIMEOUT,
        )

    def close(self) -> None:
        self.http.close()

    def create(self, fields: dict[str, str], image: str | None = None) -> Json:
        if image is None:
            return self._json("POST", "/v1/videos", json=fields)
        if image.startswith(("http://", "https://")):
            return self._json("POST", "/v1/videos", json={**fields, "image_url": image})
        path = Path(image)
        if not path.is_file():
            raise ClientError(f"--image: no such file {image!r}")
        kind = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
        upload = {"input_reference": (path.name, path.read_bytes(), kind)}
        return self._json("POST", "/v1/videos", data=fields, files=upload)

    def get(self, video_id: str) -> tuple[Json, float | None]:
        """The video, and how long the server asks us to wait before asking again (s)."""
        response = self._send("GET", f"/v1/videos/{video_id}")
        hint = response.headers.get("openai-poll-after-ms")
        wait = int(hint) / 1000 if hint and hint.isdecimal() else None
        body: Json = response.json()
        return body, wait

    def list(self, **params: str | int) -> Json:
        return self._json("GET", "/v1/videos", params=params)

    def cancel(self, video_id: str) -> Json:
        return self._json("POST", f"/v1/videos/{video_id}/cancel")

    def events(self, video_id: str) -> Json:
        return self._json("GET", f"/v1/videos/{video_id}/events")

    def follow(self, video_id: str, after: str | None = None) -> Iterator[Json]:
        """The video's history items as the server streams them (`?stream=true`), after the
        event id `after`, until the server ends the stream. A dropped connection raises
        `StreamBroken` carrying the last id seen, so the caller resumes from it."""
        headers = {"Last-Event-ID": after} if after else {}
        path, params = f"/v1/videos/{video_id}/events", {"stream": "true"}
        last = after
        try:
            with connect_sse(self.http, "GET", path, params=params, headers=headers) as source:
                if source.response.is_error:
                    source.response.read()
                _raise_for_error(source.response)
                for sse in source.iter_sse():
                    if sse.data:
                        last = sse.id or last
                        yield json.loads(sse.data)
        except SSEError as error:  # an answer that is no event stream (e.g. a proxy's)
            raise ClientError(f"no event stream: {error}") from None
        except httpx.TransportError as error:
            raise StreamBroken(last, str(error)) from None

    def download(self, video_id: str, target: Path) -> int:
        """Stream the video's file into `target` (replaced only once whole); its size."""
        partial = target.with_name(f".{target.name}.part")
        try:
            with (
                self._stream("GET", f"/v1/videos/{video_id}/content") as response,
                partial.open("wb") as sink,
            ):
                for chunk in response.iter_bytes():
                    sink.write(chunk)
        except BaseException:
            partial.unlink(missing_ok=True)
            raise
        partial.replace(target)
        return target.stat().st_size

    def _json(self, method: str, path: str, **kwargs: Any) -> Json:
        body: Json = self._send(method, path, **kwargs).json()
        return body

    def _send(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        try:
            response = self.http.request(method, path, **kwargs)
        except httpx.TransportError as error:
            raise ClientError(f"cannot reach {self.http.base_url}: {error}") from None
        _raise_for_error(response)
        return response

    @contextmanager
    def _stream(self, method: str, path: str) -> Iterator[httpx.Response]:
        try:
            with self.http.stream(method, path) as response:
                if response.is_error:
                    response.read()
                _raise_for_error(response)
                yield response
        except httpx.TransportError as error:
            raise ClientError(f"cannot reach {self.http.base_url}: {error}") from None


def _raise_for_error(response: httpx.Response) -> None:
    if response.is_success:
        return
    try:
        message = response.json()["error"]["message"]
    except (ValueError, KeyError, TypeError):
        message = response.text.strip() or response.reason_phrase
    raise ClientError(f"{response.status_code}: {message}")
