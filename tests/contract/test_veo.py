"""The Veo adapters (Gemini API and Vertex AI) against the Veo emulator, and the emulator
against google-genai and raw REST.

Adapter tests go through httpx.ASGITransport (no sockets). The fidelity tests serve the
emulator on a real uvicorn on 127.0.0.1 and drive it with google-genai's own client, unchanged
(Vertex AI mode: google-genai refuses `generate_videos` in Gemini API mode), and with raw httpx
for the Gemini API flow.
"""

from __future__ import annotations

import base64
import io
import random
import socket
import threading
import time
import uuid
from dataclasses import replace
from pathlib import Path

import httpx
import pytest
import uvicorn
from google import genai
from google.genai import errors as genai_errors
from google.genai import types
from google.oauth2.credentials import Credentials
from PIL import Image

from service.emulators.knobs import Knobs
from service.emulators.veo import create_app
from service.providers.base import DispatchRequest, ProviderRejected, ProviderUnavailable
from service.providers.veo import GeminiVeoProvider, VertexVeoProvider
from service.render import probe_video
from tests.contract.provider_contract import ProviderContract, wait_for_state

GEMINI = "https://generativelanguage.googleapis.com"
VERTEX = "https://us-central1-aiplatform.googleapis.com"
KEY, TOKEN = "AIza-test-key", "ya29.test-token"
MODEL = "veo-3.1-fast-generate-preview"
VERTEX_SCOPE = "projects/proj/locations/us-central1/publishers/google/models"


def dispatch(model: str = MODEL, **changes) -> DispatchRequest:
    base = DispatchRequest(
        job_id=uuid.uuid4(),
        model="veo-3.1-fast",
        upstream_model=model,
        prompt="a red fox in snow",
        params={"seconds": "4", "size": "1280x720"},
        inputs={},
    )
    return replace(base, **changes)


def png(width: int = 32, height: int = 18) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (width, height), (200, 40, 40)).save(out, format="PNG")
    return out.getvalue()


class VeoContract(ProviderContract):
    """What both Veo variants share on top of the provider contract."""

    base_url = GEMINI

    @pytest.fixture
    def emulator(self, emulator_knobs, clock, tmp_path):
        return create_app(
            emulator_knobs,
            data_dir=tmp_path / "veo",
            base_url=self.base_url,
            clock=clock,
            api_keys={KEY},
            access_tokens={TOKEN},
        )

    @pytest.fixture
    def state(self, emulator):
        return emulator.state.emulator

    @pytest.fixture
    async def make_provider(self, emulator, clock):
        clients: list[httpx.AsyncClient] = []

        def factory(transport, timeout, **options):
            clients.append(httpx.AsyncClient(transport=transport))
            return self.build(clients[-1], timeout=timeout, **options)

        yield factory
        for client in clients:
            await client.aclose()

    def build(self, http, **options):
        raise NotImplementedError

    @pytest.fixture
    def model(self) -> str:
        return MODEL

    @pytest.fixture
    def request_for(self):
        return dispatch

    async def finish(self, provider, clock, request, state="completed"):
        submission = await provider.submit(request)
        clock.advance(60.0)
        return submission, await wait_for_state(provider, submission.upstream_id, {state})

    # Veo has no cancel on either API: the contract's "ends canceled" cannot hold.
    async def test_cancel_ends_the_job_canceled(self, provider, request_for, model, clock):
        """Overridden: cancel is a documented no-op and the job runs on to completion."""
        submission = await provider.submit(request_for(model))
        await provider.cancel(submission.upstream_id)
        clock.advance(60.0)
        done = await wait_for_state(provider, submission.upstream_id, {"completed"})
        assert done.raw_status == "done"

    async def test_not_done_is_queued_without_progress(self, provider, clock):
        submission = await provider.submit(dispatch())
        status = await provider.status(submission.upstream_id)
        assert (status.state, status.raw_status, status.progress) == ("queued", "running", None)

    async def test_safety_filtered_operations_fail_as_content_filtered(
        self, provider, state, clock
    ):
        state.safety_filter_rate = 1.0
        submission, failed = await self.finish(provider, clock, dispatch(), state="failed")
        assert failed.error_code == "content_filtered"
        assert "Responsible AI" in failed.error_message
        assert failed.extra["rai_media_filtered_count"] == 1
        with pytest.raises(ProviderRejected):
            await provider.download(submission.upstream_id, Path("/nonexistent/never.mp4"))

    async def test_a_bad_duration_is_rejected_naming_the_field(self, provider):
        with pytest.raises(ProviderRejected, match="durationSeconds") as raised:
            await provider.submit(dispatch(params={"seconds": "5", "size": "1280x720"}))
        assert raised.value.code == "invalid_request"

    async def test_parameters_map_onto_veo(self, provider, state, clock):
        params = {"seconds": 6, "size": "720x1280", "negative_prompt": "blur", "seed": 7}
        submission, _ = await self.finish(provider, clock, dispatch(params=params))
        request = state.operations[submission.upstream_id].request
        assert (request.seconds, request.aspect_ratio, request.samples) == (6, "9:16", 1)
        assert request.negative_prompt == "blur"

    @pytest.mark.parametrize(
        ("params", "match"),
        [
            ({"seconds": "4.5"}, "whole seconds"),
            ({"size": "720x720"}, "square"),
            ({"size": "big"}, "WIDTHxHEIGHT"),
        ],
    )
    async def test_unmappable_parameters_are_refused_before_any_call(
        self, provider, state, params, match
    ):
        with pytest.raises(ProviderRejected, match=match):
            await provider.submit(dispatch(params=params))
        assert not state.operations

    async def test_image_bytes_go_inline(self, provider, state, clock, tmp_path):
        image = png()
        inputs = {"image": {"data": base64.b64encode(image).decode(), "content_type": "image/png"}}
        submission, _ = await self.finish(provider, clock, dispatch(inputs=inputs))
        assert state.operations[submission.upstream_id].request.image == image
        info = probe_video(await provider.download(submission.upstream_id, tmp_path / "i.mp4"))
        assert (info.width, info.height, info.duration) == (64, 36, 4.0)

    async def test_image_urls_are_refused_before_any_call(self, provider, state):
        inputs = {"image": {"url": "https://img.example/cat.png"}}
        with pytest.raises(ProviderRejected, match="data") as raised:
            await provider.submit(dispatch(inputs=inputs))
        assert raised.value.code == "invalid_input"
        assert not state.operations

    async def test_stored_images_are_read_through_read_input(self, make_provider, emulator, state):
        image, asked = png(), []
        provider = make_provider(
            httpx.ASGITransport(app=emulator),
            1.0,
            read_input=lambda digest: asked.append(digest) or image,
        )
        inputs = {"image": {"sha256": "ab" * 32, "content_type": "image/png"}}
        submission = await provider.submit(dispatch(inputs=inputs))
        assert asked == ["ab" * 32]
        assert state.operations[submission.upstream_id].request.image == image

    async def test_webhooks_are_refused(self, provider):
        with pytest.raises(ProviderRejected, match="no webhooks"):
            provider.parse_webhook({}, b"{}")

    async def test_503_retry_after_and_timeouts_are_unavailable(self, make_provider):
        def answer(request: httpx.Request) -> httpx.Response:
            raise httpx.ConnectTimeout("slow", request=request)

        provider = make_provider(httpx.MockTransport(answer), 1.0)
        with pytest.raises(ProviderUnavailable) as raised:
            await provider.submit(dispatch())
        assert raised.value.code == "upstream_timeout"
        body = {"error": {"code": 503, "message": "overloaded", "status": "UNAVAILABLE"}}
        headers = {"Retry-After": "7"}
        provider = make_provider(
            httpx.MockTransport(lambda r: httpx.Response(503, json=body, headers=headers)), 1.0
        )
        with pytest.raises(ProviderUnavailable, match="overloaded") as raised:
            await provider.submit(dispatch())
        assert raised.value.retry_after == 7.0
        retry = {"@type": "type.googleapis.com/google.rpc.RetryInfo", "retryDelay": "37s"}
        body = {"error": {"code": 429, "message": "quota", "details": [retry]}}
        provider = make_provider(httpx.MockTransport(lambda r: httpx.Response(429, json=body)), 1.0)
        with pytest.raises(ProviderUnavailable) as raised:
            await provider.status(f"models/{MODEL}/operations/abc")
        assert (raised.value.code, raised.value.retry_after) == ("rate_limited", 37.0)


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
        body = {"name": name, "done": True,
                "response": {"generateVideoResponse": {"generatedSamples": [video]}}}  # fmt: skip
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
        assert (await provider.status(submission.upstream_id)).state == "queued"
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


# -- fidelity: the emulator on a real socket, driven by google-genai and raw REST ------------


@pytest.fixture(scope="module")
def live(tmp_path_factory) -> str:
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    base = f"http://127.0.0.1:{sock.getsockname()[1]}"
    knobs = Knobs(latency=0.3, rng=random.Random(3))
    app = create_app(
        knobs,
        data_dir=tmp_path_factory.mktemp("veo-live"),
        base_url=base,
        api_keys={KEY},
        access_tokens={TOKEN},
    )
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="off"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        assert time.monotonic() < deadline, "uvicorn did not start"
        time.sleep(0.01)
    yield base
    server.should_exit = True
    thread.join(timeout=5)
    sock.close()


@pytest.fixture
def clean_env(monkeypatch):
    for name in ("GOOGLE_API_KEY", "GEMINI_API_KEY", "GOOGLE_CLOUD_PROJECT",
                 "GOOGLE_CLOUD_LOCATION", "GOOGLE_GENAI_USE_VERTEXAI",
                 "GOOGLE_GENAI_API_VERSION"):  # fmt: skip
        monkeypatch.delenv(name, raising=False)


def poll(client: genai.Client, operation):
    deadline = time.monotonic() + 10
    while not operation.done:
        assert time.monotonic() < deadline, "the operation never finished"
        time.sleep(0.05)
        operation = client.operations.get(operation)
    return operation


def express(base: str) -> genai.Client:
    return genai.Client(vertexai=True, api_key=KEY, http_options=types.HttpOptions(base_url=base))


def test_google_genai_express_mode_runs_unchanged(live, clean_env, tmp_path):
    client = express(live)
    config = types.GenerateVideosConfig(duration_seconds=4, aspect_ratio="9:16", seed=5)
    operation = client.models.generate_videos(
        model=MODEL, source=types.GenerateVideosSource(prompt="a fox"), config=config
    )
    assert operation.name.startswith(f"publishers/google/models/{MODEL}/operations/")
    assert not operation.done
    operation = poll(client, operation)
    assert operation.error is None
    video = operation.result.generated_videos[0].video
    assert video.mime_type == "video/mp4"
    (tmp_path / "sdk.mp4").write_bytes(video.video_bytes)
    info = probe_video(tmp_path / "sdk.mp4")
    assert (info.width, info.height, info.duration) == (36, 64, 4.0)


def test_google_genai_with_a_project_token_and_gcs_output(live, clean_env):
    client = genai.Client(
        vertexai=True,
        project="proj",
        location="us-central1",
        credentials=Credentials(token=TOKEN),
        http_options=types.HttpOptions(base_url=live, api_version="v1"),
    )
    image = types.Image(image_bytes=png(), mime_type="image/png")
    operation = client.models.generate_videos(
        model="veo-3.0-generate-001",
        source=types.GenerateVideosSource(prompt="a fox", image=image),
        config=types.GenerateVideosConfig(output_gcs_uri="gs://bucket/out", number_of_videos=2),
    )
    assert operation.name.startswith(f"{VERTEX_SCOPE}/veo-3.0-generate-001/operations/")
    videos = poll(client, operation).result.generated_videos
    assert [video.video.uri.startswith("gs://bucket/out/") for video in videos] == [True, True]


def test_google_genai_sees_google_errors(live, clean_env):
    client = express(live)
    with pytest.raises(genai_errors.ClientError) as raised:
        client.models.generate_videos(
            model=MODEL,
            source=types.GenerateVideosSource(prompt="a fox"),
            config=types.GenerateVideosConfig(duration_seconds=5),
        )
    assert (raised.value.code, raised.value.status) == (400, "INVALID_ARGUMENT")
    assert "durationSeconds" in raised.value.message
    anonymous = genai.Client(
        vertexai=True, api_key="AIza-wrong", http_options=types.HttpOptions(base_url=live)
    )
    with pytest.raises(genai_errors.ClientError) as raised:
        anonymous.models.generate_videos(model=MODEL, source=types.GenerateVideosSource(prompt="x"))
    assert raised.value.code == 400
    assert "API key not valid" in raised.value.message


def test_gemini_api_raw_rest_flow(live, tmp_path):
    parameters = {"durationSeconds": 8, "aspectRatio": "16:9", "resolution": "1080p"}
    body = {"instances": [{"prompt": "a fox"}], "parameters": parameters}
    with httpx.Client(base_url=f"{live}/v1beta", headers={"x-goog-api-key": KEY}) as rest:
        started = rest.post(f"/models/{MODEL}:predictLongRunning", json=body)
        assert started.status_code == 200
        name = started.json()["name"]
        assert name.startswith(f"models/{MODEL}/operations/")
        assert started.json() == {"name": name}
        deadline = time.monotonic() + 10
        while not (operation := rest.get(f"/{name}").json())["done"]:
            assert operation == {"name": name, "done": False}
            assert time.monotonic() < deadline
            time.sleep(0.05)
        response = operation["response"]
        assert response["@type"].endswith("PredictLongRunningResponse")
        uri = response["generateVideoResponse"]["generatedSamples"][0]["video"]["uri"]
        assert uri.startswith(f"{live}/v1beta/files/") and uri.endswith(":download?alt=media")
        redirect = rest.get(uri)
        assert redirect.status_code == 302
        assert redirect.headers["location"].startswith(f"{live}/download/v1beta/files/")
        download = rest.get(uri, follow_redirects=True)
        assert (download.status_code, download.headers["content-type"]) == (200, "video/mp4")
        (tmp_path / "rest.mp4").write_bytes(download.content)
        assert probe_video(tmp_path / "rest.mp4").duration == 8.0
        # Without the key: Google's 403 shape, for the operation and the file alike.
        for url in (f"{live}/v1beta/{name}", uri, redirect.headers["location"]):
            denied = httpx.get(url)
            assert denied.status_code == 403
            assert denied.json()["error"]["status"] == "PERMISSION_DENIED"
        assert rest.get(uri.replace("alt=media", "alt=json")).status_code == 400
        with_query_key = httpx.get(f"{live}/v1beta/{name}", params={"key": KEY})
        assert with_query_key.json()["done"] is True


@pytest.mark.anyio
@pytest.mark.parametrize("anyio_backend", ["asyncio"])
async def test_the_gemini_adapter_over_a_real_socket(live, anyio_backend, tmp_path):
    async with httpx.AsyncClient() as http:
        provider = GeminiVeoProvider(http, api_key=KEY, base_url=live)
        submission = await provider.submit(dispatch(params={"seconds": "4", "size": "1280x720"}))
        done = await wait_for_state(provider, submission.upstream_id, {"completed"})
        assert done.output_url.startswith(f"{live}/v1beta/files/")
        video = await provider.download(submission.upstream_id, tmp_path / "live.mp4")
    assert probe_video(video).frames == 32
