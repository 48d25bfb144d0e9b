"""The official `openai` SDK, pointed at vidgate, works unchanged (real uvicorn, real store)."""

from __future__ import annotations

import io
import time
import warnings

import openai
import pytest
from PIL import Image

from service.media.render import probe_video
from tests.conftest import ADMIN_KEY
from tests.e2e.server import run_vidgate, server_env

pytestmark = pytest.mark.e2e


@pytest.fixture
def sdk(settings, tmp_path):
    with run_vidgate(server_env(settings), tmp_path / "server.log") as server:
        yield openai.OpenAI(base_url=f"{server.url}/v1", api_key=ADMIN_KEY, max_retries=0)


def png(width: int = 64, height: int = 48) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (width, height), (200, 80, 20)).save(buffer, format="PNG")
    return buffer.getvalue()


def create_retrieve_download(sdk, tmp_path, **create):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)  # the SDK marks Sora as sunset
        video = sdk.videos.create(model="local-preview", seconds="1", size="160x90", **create)
        assert video.status == "queued" and video.id.startswith("video_")
        for _ in range(600):
            video = sdk.videos.retrieve(video.id)
            if video.status in ("completed", "failed"):
                break
            time.sleep(0.05)
        assert video.status == "completed", video
        content = sdk.videos.download_content(video.id)
    path = tmp_path / "out.mp4"
    content.write_to_file(path)
    return video, probe_video(path)


def test_create_retrieve_and_download_with_the_sdk(sdk, tmp_path):
    video, info = create_retrieve_download(sdk, tmp_path, prompt="a lighthouse at dusk")
    assert video.progress == 100 and video.seconds == "1" and video.size == "160x90"
    assert (info.width, info.height, info.codec) == (160, 90, "h264")
    assert info.duration == pytest.approx(1.0, abs=0.05)


def test_the_sdk_uploads_an_input_reference_image(sdk, tmp_path):
    reference = ("start.png", png(), "image/png")
    _, info = create_retrieve_download(sdk, tmp_path, prompt="pan over", input_reference=reference)
    assert (info.width, info.height) == (160, 90)


def test_the_sdk_sees_errors_in_openai_shape(sdk):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        with pytest.raises(openai.BadRequestError) as raised:
            sdk.videos.create(model="no-such-model", prompt="x")
        assert raised.value.body["param"] == "model"
        with pytest.raises(openai.NotFoundError):
            sdk.videos.retrieve("video_" + "0" * 32)
