"""The Vertex AI Veo adapter against the Veo emulator (httpx.ASGITransport, no sockets)."""

from __future__ import annotations

import uuid
from pathlib import Path

import httpx
import pytest

from service.media.render import probe_video
from service.providers.base import ProviderRejected
from service.providers.veo import VertexVeoProvider
from tests.contract.provider_contract import wait_for_state
from tests.contract.veo_fixtures import (
    KEY,
    MODEL,
    TOKEN,
    VERTEX,
    VERTEX_SCOPE,
    VeoContract,
    dispatch,
)


class TestVertexVeo(VeoContract):
    base_url = VERTEX

    def build(self, http, **options):
        settings = {"project": "proj", "location": "us-central1", "token_or_key": TOKEN}
        return VertexVeoProvider(http, base_url=VERTEX, **{**settings, **options})

    @pytest.fixture
    def unknown_upstream_id(self) -> str:
        return f"{VERTEX_SCOPE}/{MODEL}/operations/{uuid.uuid4()}"

    async def test_happy_path_completes_within_the_latency_and_downloads_an_mp4(
        self, provider, clock, emulator_knobs, tmp_path
    ):
        """Overridden: inline base64 videos have no URL (`output_url` is None)."""
        submission = await provider.submit(dispatch())
        assert submission.upstream_id.startswith(f"{VERTEX_SCOPE}/{MODEL}/operations/")
        assert (await provider.status(submission.upstream_id)).state == "in_progress"
        clock.advance(emulator_knobs.latency + 1e-3)
        done = await wait_for_state(provider, submission.upstream_id, {"completed"})
        assert done.output_url is None
        info = probe_video(await provider.download(submission.upstream_id, tmp_path / "v.mp4"))
        assert (info.codec, info.width, info.height, info.duration) == ("h264", 64, 36, 4.0)

    async def test_seed_goes_to_vertex(self, provider, state, clock):
        params = {"seconds": "4", "size": "1280x720", "seed": 11, "generate_audio": False}
        submission, _ = await self.finish(provider, clock, dispatch(params=params))
        assert state.operations[submission.upstream_id].request.seed == 11

    async def test_gcs_outputs_need_an_injected_fetch(self, make_provider, emulator, clock):
        transport = httpx.ASGITransport(app=emulator)
        bucket = "gs://bucket/veo"
        provider = make_provider(transport, 1.0, storage_uri=bucket)
        submission, done = await self.finish(provider, clock, dispatch())
        assert done.output_url.startswith(f"{bucket}/") and done.output_url.endswith(".mp4")
        with pytest.raises(ProviderRejected, match="gs:// outputs need GCS credentials"):
            await provider.download(submission.upstream_id, Path("/nonexistent/never.mp4"))
        fetched: list[tuple[str, Path]] = []

        async def gcs_fetch(uri: str, dest: Path) -> Path:
            fetched.append((uri, dest))
            return dest

        fetching = make_provider(transport, 1.0, storage_uri=bucket, gcs_fetch=gcs_fetch)
        await fetching.download(submission.upstream_id, Path("/tmp/never-written.mp4"))
        assert fetched == [(done.output_url, Path("/tmp/never-written.mp4"))]

    async def test_express_mode_sends_the_key(self, make_provider, emulator, clock, tmp_path):
        provider = make_provider(httpx.ASGITransport(app=emulator), 1.0, token_or_key=KEY)
        assert provider.express
        submission, _ = await self.finish(provider, clock, dispatch())
        assert probe_video(await provider.download(submission.upstream_id, tmp_path / "e.mp4"))

    @pytest.mark.parametrize("token", ["", "ya29.expired"])
    async def test_missing_or_bad_tokens_are_rejected(self, make_provider, emulator, token):
        provider = make_provider(httpx.ASGITransport(app=emulator), 1.0, token_or_key=lambda: token)
        with pytest.raises(ProviderRejected) as raised:
            await provider.submit(dispatch())
        assert raised.value.code == "upstream_auth"
