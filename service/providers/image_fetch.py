"""Fetching the image URLs tenants name: the one downloader for every provider.

The built-in renderer fetches its `image_url` with it, and the dispatcher fetches with it
the URLs an upstream won't take itself (`Provider.takes_image_url`: Veo wants inline bytes,
Sora a file, Runway only https). The client it is given is the SSRF-guarded one for what
tenants name (private and loopback hosts only where `VIDGATE_ALLOWED_PRIVATE_NETWORKS`
allows), so naming an internal host through a job reaches nothing an outgoing webhook
couldn't.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import httpx

from service.media.render import ImageUnreadable, decode_image
from service.providers.base import Provider

MAX_IMAGE_BYTES = 20 * 1024 * 1024  # as for an uploaded image (service.videos.images)
FETCH_TIMEOUT = 30.0  # seconds for a whole download (VIDGATE_INPUT_FETCH_TIMEOUT_MS)
MAGIC = {
    b"\x89PNG": "image/png",
    b"\xff\xd8\xff": "image/jpeg",
    b"RIFF": "image/webp",
    b"GIF8": "image/gif",
}


class ImageFetchFailed(Exception):
    """An image URL could not be downloaded."""

    code = "image_unavailable"


class ImageFetchTimedOut(ImageFetchFailed):
    """An image URL did not download within the fetch deadline."""

    code = "input_fetch_timeout"


class ImageUnusable(ImageFetchFailed):
    """An image URL answered something that is not a readable image."""

    code = "invalid_image"


@dataclass(frozen=True)
class FetchedImage:
    data: bytes
    content_type: str


@dataclass(frozen=True)
class ImageFetcher:
    """Downloads an image within a deadline for the whole transfer and a size limit."""

    http: httpx.AsyncClient  # SSRF-guarded: it fetches what tenants name
    timeout: float = FETCH_TIMEOUT
    max_bytes: int = MAX_IMAGE_BYTES

    async def fetch(self, url: str, param: str = "image_url") -> bytes:
        """The bytes at `url`, within the deadline for the whole download: httpx's own
        timeout is per read, and a host that drips a byte at a time never trips it."""
        try:
            async with asyncio.timeout(self.timeout):
                return await self._download(url, param)
        except TimeoutError:
            raise ImageFetchTimedOut(
                f"{param} did not download within {self.timeout:g} s"
            ) from None
        except httpx.HTTPError as error:
            raise ImageFetchFailed(f"{param} could not be fetched: {error}") from None

    async def fetch_image(self, url: str, param: str = "image_url") -> FetchedImage:
        """The image at `url`, checked to decode, with its type read from its bytes (a
        server's `Content-Type` is often wrong or generic)."""
        data = await self.fetch(url, param)
        try:
            await asyncio.to_thread(decode_image, data)  # PNG, JPEG, WebP or GIF only
        except ImageUnreadable as error:
            raise ImageUnusable(f"{param} is not a readable image: {error}") from None
        kind = next((t for magic, t in MAGIC.items() if data.startswith(magic)), "image/png")
        return FetchedImage(data, kind)

    async def _download(self, url: str, param: str) -> bytes:
        limit = self.max_bytes
        too_large = ImageFetchFailed(f"{param} is larger than {limit} bytes")
        async with self.http.stream("GET", url) as response:
            if response.status_code != 200:
                raise ImageFetchFailed(f"{param} answered HTTP {response.status_code}")
            length = response.headers.get("content-length", "")
            if length.isdigit() and int(length) > limit:
                raise too_large
            data = bytearray()
            async for chunk in response.aiter_bytes():
                data += chunk
                if len(data) > limit:
                    raise too_large
            return bytes(data)


Inputs = Mapping[str, Any]
PARAMS = {"image": "image_url", "end_image": "end_image_url"}  # the fields that named them


class UrlInputs:
    """The image URLs of a job that its provider won't fetch itself, fetched here (through
    `fetcher`) and kept like uploads (`save_input` → sha256), so the dispatcher hands them
    over in the form the provider takes uploads (`Provider.inputs`: inline or a link)."""

    def __init__(self, fetcher: ImageFetcher, save_input: Callable[[bytes], str]) -> None:
        self.fetcher, self.save_input = fetcher, save_input

    def needed(self, inputs: Inputs, provider: Provider) -> bool:
        """Whether any of the job's images is a URL the provider doesn't take."""
        return any(self._fetches(image, provider) for image in inputs.values())

    async def stored(self, inputs: Inputs, provider: Provider) -> dict[str, Any]:
        """`inputs`, each URL the provider doesn't take replaced by the stored image
        (`ImageFetchFailed` when one can't be had)."""
        out = dict(inputs)
        for name, image in inputs.items():
            if self._fetches(image, provider):
                out[name] = await self._store(image["url"], PARAMS.get(name, name))
        return out

    async def _store(self, url: str, param: str) -> dict[str, Any]:
        image = await self.fetcher.fetch_image(url, param)
        sha256 = await asyncio.to_thread(self.save_input, image.data)
        # The URL stays for the record: the provider gets the stored bytes.
        return {
            "sha256": sha256,
            "bytes": len(image.data),
            "content_type": image.content_type,
            "fetched_from": url,
        }

    @staticmethod
    def _fetches(image: Any, provider: Provider) -> bool:
        url = image.get("url") if isinstance(image, Mapping) else None
        return isinstance(url, str) and not provider.takes_image_url(url)
