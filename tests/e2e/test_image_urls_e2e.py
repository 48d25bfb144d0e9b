"""An image URL reaches every image-to-video model: `vidgate serve` in sandbox mode, the image
on a plain web server on 127.0.0.1 (allowed by `VIDGATE_ALLOWED_PRIVATE_NETWORKS`).

Upstreams that fetch URLs themselves get the URL; for the others (Veo's inline bytes, Sora's
file upload, Runway's https-only `promptImage`) vidgate fetches the image through its SSRF
guard and hands over what their emulators, like the real APIs, accept — so a job that
completes proves the upstream got the image in its own form. Through the canonical API, the
task API's `image` and Concurred's veo-3.1 `image_url`.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from tests.e2e.api import assert_clean_history, client, history
from tests.e2e.server import Process, run_vidgate, server_env
from tests.e2e.test_sandbox_models import SANDBOX_ENV, is_playable_mp4, wait_all
from tests.image_host import ImageHost, image_host

pytestmark = pytest.mark.e2e
# Their upstreams fetch no http:// URL (Vertex AI Veo, never first in line, is like Gemini's).
FETCHED_BY_VIDGATE = {"veo", "sora", "runway"}


@pytest.fixture
def host() -> Iterator[ImageHost]:
    with image_host() as served:
        yield served


@pytest.fixture
def gateway(settings, tmp_path, host) -> Iterator[Process]:
    env = server_env(settings, **SANDBOX_ENV, VIDGATE_ALLOWED_PRIVATE_NETWORKS="127.0.0.0/8")
    with run_vidgate(env, tmp_path / "serve.log") as server:
        yield server
        assert "Traceback" not in server.output(), server.output()[-4000:]


def image_models(http: httpx.Client) -> list[dict[str, Any]]:
    models = http.get("/v1/models").json()["data"]
    return [m for m in models if "image-to-video" in m["capabilities"]["modes"]]


def test_an_http_image_url_reaches_every_image_to_video_model(gateway, host) -> None:
    with client(gateway.url) as http:
        http.timeout = httpx.Timeout(30.0)
        models = image_models(http)
        providers = {m["provider"] for m in models}
        assert len(models) >= 30 and providers >= FETCHED_BY_VIDGATE, providers
        submitted: dict[str, dict[str, Any]] = {}
        for model in models:
            job = {"model": model["id"], "prompt": "it moves", "image_url": host.url(model["id"])}
            response = http.post("/v1/videos", json=job)
            assert response.status_code == 202, (model["id"], response.text)
            submitted[response.json()["id"]] = model
        final = wait_all(http, list(submitted), timeout=240)

        problems = []
        for vid, video in final.items():
            model = submitted[vid]
            label = f"{model['id']} via {model['provider']}"
            if video["status"] != "completed":
                problems.append(f"{label}: {video['status']} {video.get('error')}")
                continue
            events = history(http, vid)
            assert_clean_history(events)
            assert events[0]["data"]["inputs"]["image"] == {"url": host.url(model["id"])}
            if not is_playable_mp4(http.get(f"/v1/videos/{vid}/content").content):
                problems.append(f"{label}: its content is not a playable MP4")
        assert not problems, "\n".join(problems)
    fetched = {m["id"] for m in submitted.values() if m["provider"] in FETCHED_BY_VIDGATE}
    assert {f"/{model_id}" for model_id in fetched} <= set(host.fetched)


def test_the_task_apis_image_url_reaches_veo(gateway, host) -> None:
    body = {"model": "veo_3_1", "prompt": "the picture comes alive", "image": host.url("task")}
    with client(gateway.url) as http:
        created = http.post("/v1/video/generations", json=body)
        assert created.status_code == 200, created.text
        task = poll(http, f"/v1/video/generations/{created.json()['task_id']}", finished_task)
    assert task["status"] == "completed", task
    assert "/task" in host.fetched


def test_concurreds_veo_image_url_flow_completes(gateway, host) -> None:
    body = {"model": "veo-3.1", "prompt": "waves at dusk", "image_url": host.url("concurred")}
    with client(gateway.url) as http:
        created = http.post("/api/v1/video/generate", json=body)
        assert created.status_code == 200, created.text
        data = created.json()["data"]
        assert data["status"] == "processing"
        status = poll(http, data["poll_url"], lambda answer: answer["data"]["done"])
    assert status["success"] is True and "error" not in status["data"], status
    video = httpx.get(status["data"]["video_url"], timeout=30)  # a signed link: no key
    assert is_playable_mp4(video.content)
    assert "/concurred" in host.fetched


def finished_task(task: dict[str, Any]) -> bool:
    return task["status"] in ("completed", "failed")


def poll(http: httpx.Client, path: str, done: Any, timeout: float = 120.0) -> dict[str, Any]:
    """GET `path` until `done(answer)`, within a generous deadline."""
    deadline = time.monotonic() + timeout
    while True:
        answer: dict[str, Any] = http.get(path).json()
        if done(answer):
            return answer
        assert time.monotonic() < deadline, f"{path} never finished: {answer}"
        time.sleep(0.2)
