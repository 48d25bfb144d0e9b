"""`UrlInputs`: the image URLs a provider won't fetch are fetched (through the injected client)
and kept like uploads; the URLs it takes pass untouched; a bad image fails with a code."""

from __future__ import annotations

import hashlib

import httpx
import pytest

from service.providers.image_fetch import ImageFetcher, ImageFetchFailed, UrlInputs
from tests.image_host import png

pytestmark = pytest.mark.anyio


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"  # the fetcher's deadline is asyncio's


PNG = png(16, 9)


class TakesHttps:
    """A provider that fetches https URLs itself (like Runway)."""

    def takes_image_url(self, url: str) -> bool:
        return url.startswith("https://")


def url_inputs(answer: httpx.Response, saved: dict[str, bytes]) -> UrlInputs:
    def save(data: bytes) -> str:
        saved[digest := hashlib.sha256(data).hexdigest()] = data
        return digest

    http = httpx.AsyncClient(transport=httpx.MockTransport(lambda request: answer))
    return UrlInputs(ImageFetcher(http, timeout=5), save)


async def test_a_url_the_provider_wont_fetch_is_fetched_and_kept_like_an_upload():
    saved: dict[str, bytes] = {}
    inputs = {"image": {"url": "http://cdn.test/a.png"}, "end_image": {"url": "https://cdn.test/b"}}
    fetching = url_inputs(httpx.Response(200, content=PNG), saved)
    assert fetching.needed(inputs, TakesHttps())  # type: ignore[arg-type]

    stored = await fetching.stored(inputs, TakesHttps())  # type: ignore[arg-type]

    digest = hashlib.sha256(PNG).hexdigest()
    assert stored["image"] == {
        "sha256": digest,
        "bytes": len(PNG),
        "content_type": "image/png",
        "fetched_from": "http://cdn.test/a.png",
    }
    assert stored["end_image"] == {"url": "https://cdn.test/b"}  # the upstream fetches it
    assert saved == {digest: PNG}


@pytest.mark.parametrize(
    ("answer", "code", "says"),
    [
        (httpx.Response(404), "image_unavailable", "image_url answered HTTP 404"),
        (httpx.Response(200, content=b"<html>"), "invalid_image", "image_url is not a readable"),
    ],
)
async def test_an_image_url_that_gives_no_image_fails_with_a_code(answer, code, says):
    fetching, image = url_inputs(answer, {}), {"image": {"url": "http://cdn.test/a"}}
    with pytest.raises(ImageFetchFailed) as failed:
        await fetching.stored(image, TakesHttps())  # type: ignore[arg-type]
    assert failed.value.code == code and str(failed.value).startswith(says)
