"""The Gemini API Veo adapter against the Veo emulator (httpx.ASGITransport, no sockets)."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from service.providers.base import ProviderRejected
from service.providers.veo import GeminiVeoProvider
from tests.contract.veo_fixtures import GEMINI, KEY, MODEL, VeoContract, dispatch


class TestGeminiVeo(VeoContract):
    base_url = GEMINI

    def build(self, http, **options):
        return GeminiVeoProvider(http, **{"api_key": KEY, "base_url": GEMINI, **options})

    @pytest.fixture
    def unknown_upstream_id(self) -> str:
        return f"models/{MODEL}/operations/zzzzzzzzzzzz"

    async def test_seed_is_left_out_for_the_gemini_api(self, provider, state, clock):
        # The emulator refuses `seed` on the Gemini API as google-genai does client-side.
        params = {"seconds": "8", "size": "1920x1080", "seed": 3}
        submission, done = await self.finish(provider, clock, dispatch(params=params))
        assert state.operations[submission.upstream_id].request.seed is None
        assert done.output_url.startswith(f"{GEMINI}/v1beta/files/")
        assert KEY not in done.output_url

    @pytest.mark.parametrize("key", ["", "AIza-wrong"])
    async def test_missing_or_wrong_keys_are_rejected(self, make_provider, emulator, key):
        provider = make_provider(httpx.ASGITransport(app=emulator), 1.0, api_key=key)
        with pytest.raises(ProviderRejected) as raised:
            await provider.submit(dispatch())
        assert raised.value.code == "upstream_auth"

    async def test_the_key_is_never_sent_to_another_host(self, make_provider):
        name = f"models/{MODEL}/operations/abc123"
        video = {"video": {"uri": "https://evil.example/v1beta/files/x:download?alt=media"}}
        body = {
            "name": name,
            "done": True,
            "response": {"generateVideoResponse": {"generatedSamples": [video]}},
        }
        seen: list[str] = []

        def answer(request: httpx.Request) -> httpx.Response:
            seen.append(request.url.host)
            return httpx.Response(200, json=body)

        provider = make_provider(httpx.MockTransport(answer), 1.0)
        with pytest.raises(ProviderRejected, match=r"evil\.example"):
            await provider.download(name, Path("/nonexistent/never.mp4"))
        assert seen == ["generativelanguage.googleapis.com"]

    async def test_redirects_elsewhere_are_followed_without_the_key(self, make_provider, tmp_path):
        name = f"models/{MODEL}/operations/abc123"
        uri = f"{GEMINI}/v1beta/files/abc:download?alt=media"
        samples = {"generatedSamples": [{"video": {"uri": uri}}]}
        body = {"name": name, "done": True, "response": {"generateVideoResponse": samples}}
        seen: list[tuple[str, str | None]] = []

        def answer(request: httpx.Request) -> httpx.Response:
            seen.append((request.url.host, request.headers.get("x-goog-api-key")))
            if request.url.path.endswith("/operations/abc123"):
                return httpx.Response(200, json=body)
            if request.url.host == "generativelanguage.googleapis.com":
                return httpx.Response(302, headers={"Location": "https://cdn.example/v?sig=1"})
            return httpx.Response(200, content=b"mp4 bytes")

        provider = make_provider(httpx.MockTransport(answer), 1.0)
        video = await provider.download(name, tmp_path / "r.mp4")
        assert video.read_bytes() == b"mp4 bytes"
        assert seen == [
            ("generativelanguage.googleapis.com", KEY),
            ("generativelanguage.googleapis.com", KEY),
            ("cdn.example", None),
        ]
