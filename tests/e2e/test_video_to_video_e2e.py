"""Video-to-video, where a NovaKit user met a 400: `mode: video_to_video` with a
`source_video` on a model whose upstream transforms videos (Luma Ray 2, through Luma's own
modify call), and the same on `/v1/videos` with `video_url`. Through a real `vidgate serve
--sandbox` and the Luma emulator (which does not fetch the source: it renders from the prompt)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from tests.conftest import STORES
from tests.e2e.api import history
from tests.e2e.sandbox_gateway import Sandbox, sample_until, sandbox_gateway

pytestmark = pytest.mark.e2e
CLIP = "https://media.example/source.mp4"


@pytest.fixture(scope="module", params=STORES)
def sandbox(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Sandbox]:
    with sandbox_gateway(request.param, tmp_path_factory.mktemp("v2v")) as gateway:
        yield gateway


def test_novakit_video_to_video_completes_on_luma(sandbox: Sandbox) -> None:
    with sandbox.http() as http:
        body = {
            "prompt": "the same street, in snow",
            "model": "fal-ai/luma-dream-machine/ray-2",
            "mode": "video_to_video",
            "source_video": CLIP,
        }
        created = http.post("/api/v1/videos/generations?async=true", json=body)
        assert created.status_code == 200, created.text
        job_id = created.json()["id"]

        def read() -> dict[str, Any]:
            job: dict[str, Any] = http.get(f"/api/v1/jobs/{job_id}").json()
            return job

        (*_, job) = sample_until(read, lambda j: j["status"] in ("completed", "failed"))
        assert job["status"] == "completed", job
        assert job["inputParams"]["mode"] == "video_to_video"
        video = httpx.get(job["outputData"]["video"]["url"])  # a signed link: no key
        assert video.status_code == 200 and video.content[4:8] == b"ftyp"
        submitted = history(http, "video_" + job_id.removeprefix("job_"))[0]["data"]
        assert submitted["inputs"] == {"video": {"url": CLIP}}
        assert (submitted["provider"], submitted["params"]["mode"]) == ("luma", "video-to-video")


def test_novakit_video_to_video_on_a_model_without_it_names_source_video(
    sandbox: Sandbox,
) -> None:
    with sandbox.http() as http:
        body = {"prompt": "x", "mode": "video_to_video", "source_video": CLIP}
        refused = http.post("/api/v1/videos/generations?async=true", json=body)
    assert refused.status_code == 400
    error = refused.json()
    assert error["param"] == "source_video" and "luma-ray-2" in error["error"]


def test_canonical_video_url_transforms_a_video(sandbox: Sandbox) -> None:
    with sandbox.http() as http:
        body = {"model": "luma-ray-flash-2", "prompt": "as a watercolour", "video_url": CLIP}
        created = http.post("/v1/videos", json=body)
        assert created.status_code == 202, created.text
        vid = created.json()["id"]
        (*_, video) = sample_until(
            lambda: http.get(f"/v1/videos/{vid}").json(),
            lambda v: v["status"] in ("completed", "failed"),
        )
        assert video["status"] == "completed", video
        content = http.get(f"/v1/videos/{vid}/content")
        assert content.status_code == 200 and content.content[4:8] == b"ftyp"
        refused = http.post(
            "/v1/videos", json={"model": "veo-3.1", "prompt": "x", "video_url": CLIP}
        )
        assert refused.status_code == 400 and refused.json()["error"]["param"] == "video_url"
