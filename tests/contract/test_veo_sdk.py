"""Fidelity: the Veo emulator on a real uvicorn on 127.0.0.1, driven by google-genai's own
client, unchanged (Vertex AI mode: google-genai refuses `generate_videos` in Gemini API mode),
and with raw httpx for the Gemini API flow, plus the Gemini adapter over that socket.
"""

from __future__ import annotations

import random
import time

import httpx
import pytest
from google import genai
from google.genai import errors as genai_errors
from google.genai import types
from google.oauth2.credentials import Credentials

from service.media.render import probe_video
from service.providers.veo import GeminiVeoProvider
from service.sandbox.emulators.knobs import Knobs
from service.sandbox.emulators.veo import create_app
from tests.contract.helpers import live_server, png
from tests.contract.provider_contract import wait_for_state
from tests.contract.veo_fixtures import KEY, MODEL, TOKEN, VERTEX_SCOPE, dispatch


@pytest.fixture(scope="module")
def live(tmp_path_factory) -> str:
    knobs = Knobs(latency=0.3, rng=random.Random(3))
    data_dir = tmp_path_factory.mktemp("veo-live")

    def build(base: str):
        return create_app(
            knobs, data_dir=data_dir, base_url=base, api_keys={KEY}, access_tokens={TOKEN}
        )

    with live_server(build) as base:
        yield base


@pytest.fixture
def clean_env(monkeypatch):
    for name in (
        "GOOGLE_API_KEY",
        "GEMINI_API_KEY",
        "GOOGLE_CLOUD_PROJECT",
        "GOOGLE_CLOUD_LOCATION",
        "GOOGLE_GENAI_USE_VERTEXAI",
        "GOOGLE_GENAI_API_VERSION",
    ):
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
