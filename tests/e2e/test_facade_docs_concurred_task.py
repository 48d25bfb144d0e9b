"""The Concurred and task API documents, run against a real `vidgate serve --sandbox`.

Concurred's curl examples run as written, with only the base URL and the key changed. Every
model id of both documents completes on the sandbox emulators — by webhook where its route
has webhooks (Kling, fal.ai; the fallback poll is far off), by polling for Veo — and its
video downloads from the URL the facade gave. One server per store serves the module.
"""

from __future__ import annotations

import json
import subprocess
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx
import pytest

from events.ids import video_id
from service.storage.links import OutputLinks
from service.surfaces.concurred import FILES
from tests.conftest import ADMIN_KEY, STORES
from tests.e2e.api import assert_clean_history, history
from tests.e2e.server import Process, run_vidgate, server_env
from tests.e2e.test_sandbox_models import SANDBOX_ENV, is_playable_mp4, png_data_uri
from tests.integration.facade_gateways import store_settings

pytestmark = pytest.mark.e2e

CONCURRED_SUBMIT = """
curl https://concurred.ai/api/v1/video/generate \\
  -H "Authorization: Bearer YOUR_API_KEY" \\
  -H "Content-Type: application/json" \\
  -d '{
    "model": "veo-3.1",
    "prompt": "A drone shot over a misty mountain forest at sunrise",
    "duration": "8",
    "resolution": "1080p"
  }'
"""
CONCURRED_POLL = """
curl "https://concurred.ai/api/v1/video/status?provider=google&operation_id=operations/abc123" \\
  -H "Authorization: Bearer YOUR_API_KEY"
"""
CONCURRED_REQUEST = {  # the document's "Request" example
    "model": "veo-3.1",
    "prompt": "A cinematic sunset over ocean waves, slow motion",
    "duration": "8",
    "aspect_ratio": "16:9",
    "resolution": "1080p",
}
CONCURRED_MODELS = {  # id → how its route in the sandbox reports the end: poll or webhook
    "veo-3.1": "poll",
    "veo-3.1-fast": "poll",
    "kling-3-pro": "webhook",
    "kling-3-pro-i2v": "webhook",
    "wan-2.6": "webhook",
    "wan-2.6-i2v": "webhook",
}
TASK_MODELS = {  # the same, for the task API document
    "kling-v2-5-turbo": "webhook",
    "kling-v2-1-master": "webhook",
    "veo_3_1": "poll",
    "veo_3_1-fast": "poll",
}


@pytest.fixture(scope="module", params=STORES)
def server(request, tmp_path_factory) -> Iterator[Process]:
    data_dir = tmp_path_factory.mktemp("facades") / "var"
    with store_settings(str(request.param), data_dir) as settings:
        env = server_env(settings, **SANDBOX_ENV)
        with run_vidgate(env, data_dir.parent / "serve.log") as process:
            yield process
            log = process.output()
    assert "Traceback" not in log, log[-4000:]


@pytest.fixture
def http(server: Process) -> Iterator[httpx.Client]:
    assert server.url
    headers = {"Authorization": f"Bearer {ADMIN_KEY}"}
    with httpx.Client(base_url=server.url, headers=headers, timeout=60.0) as client:
        yield client


def curl(example: str, server: Process, **replace: str) -> dict[str, Any]:
    """Run a documented curl command against `server`: only the base URL and key change."""
    assert server.url
    command = example.replace("https://concurred.ai", server.url)
    command = command.replace("YOUR_API_KEY", ADMIN_KEY)
    for old, new in replace.items():
        command = command.replace(old, new)
    done = subprocess.run(
        ["bash", "-c", command.replace("curl ", "curl -sS ", 1)],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    answer: dict[str, Any] = json.loads(done.stdout)
    return answer


def until(check: Any, timeout: float = 60.0, interval: float = 0.3) -> Any:
    deadline = time.monotonic() + timeout
    while (result := check()) is None:
        assert time.monotonic() < deadline, "not done in time"
        time.sleep(interval)
    return result


def downloaded(http: httpx.Client, url: str) -> bytes:
    """A file by the URL a surface gave: a signed link, so without a key."""
    response = http.get(url, headers={"Authorization": ""})
    assert response.status_code == 200, response.text
    return response.content


def linked_video(url: str) -> str:
    """The video a signed Concurred `video_url` names (the gateway's key is `test-secret`)."""
    token = url.rsplit("/", 1)[1].removesuffix(".mp4")
    return video_id(OutputLinks(["test-secret"]).job_id(FILES, token))


def assert_completed_by(http: httpx.Client, video_id: str, source: str, surface: str) -> None:
    """The job's own history, as vidgate shows it: clean, by `source`, from `surface`."""
    events = history(http, video_id)
    assert_clean_history(events)
    assert events[0]["data"]["surface"] == surface
    (done,) = [e for e in events if e["type"] == "Completed"]
    assert done["data"]["source"] == source, (video_id, done)


# Concurred


def test_concurreds_curl_examples_run_unchanged(server, http):
    submitted = curl(CONCURRED_SUBMIT, server)
    assert submitted["success"] is True
    data = submitted["data"]
    assert (data["model"], data["provider"], data["status"]) == ("veo-3.1", "google", "processing")
    operation = data["operation_id"]
    assert data["poll_url"] == (
        "/api/v1/video/status?provider=google&operation_id=" + operation.replace("/", "%2F")
    )

    def done() -> dict[str, Any] | None:  # "use operation_id from response"
        polled = curl(CONCURRED_POLL, server, **{"operations/abc123": operation})
        assert polled["success"] is True
        return polled["data"] if polled["data"]["done"] else None

    status = until(done)
    assert set(status) == {"provider", "operation_id", "done", "video_url"}
    assert status["video_url"].startswith(f"{server.url}/api/v1/video/files/")
    assert is_playable_mp4(downloaded(http, status["video_url"]))  # a signed link: no key
    vid = operation.removeprefix("operations/")
    assert_completed_by(http, vid, "poll", "concurred")
    video = http.get(f"/v1/videos/{vid}").json()
    assert (video["status"], video["size"], video["seconds"]) == ("completed", "1920x1080", "8")


def test_concurreds_request_example_and_a_sync_model(http):
    started = http.post("/api/v1/video/generate", json=CONCURRED_REQUEST).json()["data"]
    sync = http.post("/api/v1/video/generate", json={"model": "kling-3-pro", "prompt": "a fox"})
    assert sync.status_code == 200, sync.text
    data = sync.json()["data"]
    assert (data["model"], data["provider"], data["status"]) == ("kling-3-pro", "fal", "completed")
    assert is_playable_mp4(downloaded(http, data["video_url"]))
    status = until(lambda: _done(http, started["poll_url"]))
    assert is_playable_mp4(downloaded(http, status["video_url"]))


def _done(http: httpx.Client, poll_url: str) -> dict[str, Any] | None:
    data: dict[str, Any] = http.get(poll_url).json()["data"]
    return data if data["done"] else None


def test_every_concurred_model_completes_by_its_route(http):
    image = png_data_uri()
    jobs = [  # (request, the model that makes it)
        *(({"model": m, "prompt": f"a fox ({m})"}, m) for m in CONCURRED_MODELS if "i2v" not in m),
        *(
            ({"model": m, "prompt": "it comes alive", "image_url": image}, m)
            for m in CONCURRED_MODELS
            if "i2v" in m
        ),
        ({"model": "veo-3.1", "prompt": "it comes alive", "image_url": image}, "veo-3.1"),
        (
            {"model": "kling-3-pro", "prompt": "it comes alive", "image_url": image},
            "kling-3-pro-i2v",
        ),
        ({"model": "wan-2.6", "prompt": "it comes alive", "image_url": image}, "wan-2.6-i2v"),
    ]
    with ThreadPoolExecutor(len(jobs)) as pool:
        answers = list(pool.map(lambda j: http.post("/api/v1/video/generate", json=j[0]), jobs))
    for (_, model), answer in zip(jobs, answers, strict=True):
        assert answer.status_code == 200, (model, answer.text)
        data = answer.json()["data"]
        assert data["model"] == model
        if data["provider"] == "google":
            data = until(lambda data=data: _done(http, data["poll_url"]))
        assert is_playable_mp4(downloaded(http, data["video_url"]))
        vid = linked_video(data["video_url"])
        assert_completed_by(http, vid, CONCURRED_MODELS[model], "concurred")


# The task API


def test_the_task_apis_call_flow_with_its_example_values(http):
    body = {
        "model": "kling-v2-5-turbo",
        "prompt": "An astronaut walking on the Moon, Earth rising in the background, "
        "cinematic shot",
        "image": png_data_uri(),
        "duration": 5,
        "width": 1280,
        "height": 720,
        "fps": 30,
        "seed": 20231234,
        "n": 1,
        "response_format": "url",
        "user": "user-1234",
        "metadata": {"negative_prompt": "blur"},
    }
    task = http.post("/v1/video/generations", json=body)
    assert task.status_code == 200, task.text
    task_id = task.json()["task_id"]

    def completed() -> dict[str, Any] | None:  # poll until status=completed
        found: dict[str, Any] = http.get(f"/v1/video/generations/{task_id}").json()
        assert found["status"] in ("queued", "processing", "completed"), found
        return found if found["status"] == "completed" else None

    done = until(completed)
    assert is_playable_mp4(downloaded(http, done["url"]))  # read the url field to download
    assert done["metadata"] == {
        "duration": 5.0,
        "fps": 24,
        "width": 1920,
        "height": 1080,
        "seed": None,
    }
    assert_completed_by(http, task_id, "webhook", "task_api")  # fps 30 and the seed: hints


def test_every_task_api_model_completes_by_its_route(http):
    image = png_data_uri()
    bodies = [{"model": m, "prompt": f"a fox ({m})", "duration": 0} for m in TASK_MODELS]
    bodies += [{"model": m, "prompt": "it comes alive", "image": image} for m in TASK_MODELS]
    with ThreadPoolExecutor(len(bodies)) as pool:
        tasks = list(pool.map(lambda b: http.post("/v1/video/generations", json=b), bodies))
    for body, task in zip(bodies, tasks, strict=True):
        assert task.status_code == 200, (body["model"], task.text)
        task_id = task.json()["task_id"]
        done = until(lambda t=task_id: _finished(http, t))
        assert done["status"] == "completed", done
        assert is_playable_mp4(downloaded(http, done["url"]))
        assert_completed_by(http, task_id, TASK_MODELS[body["model"]], "task_api")
        assert http.get(f"/v1/videos/{task_id}").json()["status"] == "completed"


def _finished(http: httpx.Client, task_id: str) -> dict[str, Any] | None:
    task: dict[str, Any] = http.get(f"/v1/video/generations/{task_id}").json()
    return task if task["status"] in ("completed", "failed") else None
