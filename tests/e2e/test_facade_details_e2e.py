"""The smaller seed-fidelity details, each on the surface where a switching user met it,
through a real `vidgate serve --sandbox`: Midjourney's four videos on v2, Runway Gen-4
Turbo's image-only upstream, unknown routes answering in their surface's error shape, and
Concurred's status route checking `provider`."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from tests.conftest import STORES
from tests.e2e.sandbox_gateway import Sandbox, sample_until, sandbox_gateway
from tests.facades_support import PNG

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module", params=STORES)
def sandbox(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Sandbox]:
    with sandbox_gateway(request.param, tmp_path_factory.mktemp("details")) as gateway:
        yield gateway


def test_midjourney_returns_its_four_videos_on_v2(sandbox: Sandbox) -> None:
    with sandbox.http() as http:
        body = {"model": "midjourney-video", "prompt": "the cat turns", "imageUrl": PNG}
        created = http.post("/v2/videos/generate", json=body)
        assert created.status_code == 202, created.text
        job_id = created.json()["jobId"]

        def read() -> dict[str, Any]:
            job: dict[str, Any] = http.get(f"/v2/jobs/{job_id}").json()
            return job

        (*_, job) = sample_until(read, lambda j: j["status"] in ("COMPLETED", "FAILED"))
        result = job["result"]
        assert job["status"] == "COMPLETED" and len(result["videos"]) == 4, job
        assert result["videos"][0]["videoUrl"] == result["videoUrl"]
        digests = set()
        for video in result["videos"]:
            mp4 = httpx.get(video["videoUrl"])  # signed links, fetched without a key
            assert mp4.status_code == 200 and mp4.content[4:8] == b"ftyp", video
            digests.add(hashlib.sha256(mp4.content).hexdigest())
            thumbnail = httpx.get(video["thumbnailUrl"])
            assert thumbnail.status_code == 200 and thumbnail.content[:2] == b"\xff\xd8", video
        assert len(digests) == 4  # four different videos, not one four times
        past = httpx.get(result["videoUrl"], params={"index": 4})  # a signed link: no key
        assert past.status_code == 400 and past.json()["field"] == "index"  # in v2's shape
        vid = "video_" + job_id.replace("-", "")
        past = http.get(f"/v1/videos/{vid}/content", params={"index": 4})
        assert past.status_code == 400 and past.json()["error"]["param"] == "index"
        assert http.get(f"/v1/videos/{vid}/content", params={"index": 3}).status_code == 200


def test_one_video_jobs_list_their_one_video_on_v2(sandbox: Sandbox) -> None:
    with sandbox.http() as http:
        created = http.post("/v2/videos/generate", json={"model": "veo-3.1-fast", "prompt": "x"})
        job_id = created.json()["jobId"]
        (*_, job) = sample_until(
            lambda: http.get(f"/v2/jobs/{job_id}").json(), lambda j: j["status"] == "COMPLETED"
        )
        videos = job["result"]["videos"]
        assert videos == [
            {"videoUrl": job["result"]["videoUrl"], "thumbnailUrl": job["result"]["thumbnailUrl"]}
        ]


def test_runway_gen4_turbo_takes_an_image_as_runways_api_does(sandbox: Sandbox) -> None:
    """Runway's `text_to_video` takes no gen4_turbo (runwayml 5.24 types): text alone is
    refused naming the image field; with an image the job runs."""
    with sandbox.http() as http:
        text_only = http.post(
            "/v2/videos/generate", json={"model": "runway-gen4-turbo", "prompt": "a fox"}
        )
        assert text_only.status_code == 400
        error = text_only.json()
        assert error["error"] == "Validation error" and error["field"] == "parameters.imageUrl"
        assert "image-to-video" in error["message"]
        with_image = http.post(
            "/v2/videos/generate",
            json={"model": "runway-gen4-turbo", "prompt": "a fox", "imageUrl": PNG},
        )
        assert with_image.status_code == 202, with_image.text


@pytest.mark.parametrize(
    ("method", "path", "status"),
    [("GET", "/v2/jobs", 404), ("GET", "/v2/videos/generate", 405), ("POST", "/v2/x", 404)],
)
def test_unknown_v2_routes_answer_in_v2s_shape(
    sandbox: Sandbox, method: str, path: str, status: int
) -> None:
    with sandbox.http() as http:
        response = http.request(method, path)
    assert response.status_code == status
    body = response.json()
    assert set(body) == {"error", "message", "code", "field"}, body
    assert body["error"] == {404: "Not found", 405: "Method not allowed"}[status]
    if status == 405:
        assert response.headers["allow"] == "POST"


@pytest.mark.parametrize(
    ("method", "path", "status"),
    [("GET", "/api/v1/video/list", 404), ("POST", "/api/v1/video/status", 405)],
)
def test_unknown_concurred_routes_answer_in_concurreds_shape(
    sandbox: Sandbox, method: str, path: str, status: int
) -> None:
    with sandbox.http() as http:
        response = http.request(method, path)
    assert response.status_code == status
    body = response.json()
    assert body["success"] is False and set(body["error"]) == {"code", "message", "param"}


@pytest.mark.parametrize(
    ("method", "path", "status"),
    [
        ("GET", "/api/v1/jobs", 404),
        ("GET", "/api/v1/videos/generations", 405),
        ("DELETE", "/api/v1/jobs/job_x", 405),
    ],
)
def test_unknown_novakit_routes_answer_in_novakits_shape(
    sandbox: Sandbox, method: str, path: str, status: int
) -> None:
    with sandbox.http() as http:
        response = http.request(method, path)
    assert response.status_code == status
    body = response.json()
    assert set(body) == {"error", "code", "param"} and isinstance(body["error"], str), body


def test_unknown_task_api_routes_answer_in_its_own_openai_shape(sandbox: Sandbox) -> None:
    with sandbox.http() as http:
        response = http.get("/v1/video/generations/x/y")
    assert response.status_code == 404
    assert response.json()["error"]["type"] == "invalid_request_error"


def test_concurreds_status_route_checks_the_provider_against_the_operation(
    sandbox: Sandbox,
) -> None:
    with sandbox.http() as http:
        data = http.post("/api/v1/video/generate", json={"prompt": "a forest"}).json()["data"]
        operation = data["operation_id"]
        for provider in ("fal", "openai"):
            query = {"provider": provider, "operation_id": operation}
            response = http.get("/api/v1/video/status", params=query)
            assert response.status_code == 400, response.text
            assert response.json()["error"]["param"] == "provider"
        ok = http.get(data["poll_url"])
        assert ok.status_code == 200 and ok.json()["data"]["provider"] == "google"
