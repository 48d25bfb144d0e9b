"""The NovaKit facade (`/api/v1/videos/generations`, `/api/v1/jobs/{id}`) in-process, per store.

Every row of NovaKit's parameter table: its default, a value that is mapped onto the canonical
fields, a bad value refused with NovaKit's `{error}` naming it. Every model id of its tables
completes; sync requests hold until the video is stored (or time out cleanly); long-polls
return on a change; the `video` scope; the jobs are vidgate jobs.
"""

from __future__ import annotations

import json
import re
import threading
import time
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from hypothesis import given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st
from starlette.testclient import TestClient

from service.storage.links import OutputLinks
from service.surfaces.novakit import FILES
from tests.conftest import STORES
from tests.facades_support import (
    PNG,
    client_for,
    documented,
    gateway,
    history,
    rendering,
    submitted,
    validating,
)
from tests.helpers import event_count, key_for, runtime_of, wait_for

CREATE, JOB = "/api/v1/videos/generations", "/api/v1/jobs/{jobId}"
FILE = "/api/v1/files/{token}.mp4"
LINK = re.compile(r"http://testserver/api/v1/files/[\w.-]+\.mp4")
TEXT_MODELS = [
    "fal-ai/minimax/video-01",
    "fal-ai/minimax/hailuo-02/standard/text-to-video",
    "fal-ai/veo3",
    "fal-ai/veo3/fast",
    "fal-ai/kling-video/v2.5-turbo/pro/text-to-video",
    "fal-ai/kling-video/v2/master/text-to-video",
    "fal-ai/pixverse/v5.5/text-to-video",
    "fal-ai/ltx-2/text-to-video/fast",
]
IMAGE_MODELS = [
    "fal-ai/minimax/video-01/image-to-video",
    "fal-ai/veo2/image-to-video",
    "fal-ai/kling-video/v2.5-turbo/pro/image-to-video",
    "fal-ai/wan-pro/image-to-video",
    "fal-ai/minimax/hailuo-2.3/pro/image-to-video",
    "fal-ai/bytedance/seedance/v1/pro/image-to-video",
]
# The seed's "Request Body" example, as it is.
DOC_BODY = {
    "prompt": "A timelapse of a flower blooming",
    "model": "fal-ai/minimax/video-01",
    "duration_seconds": 5,
    "resolution": "720p",
    "fps": 30,
    "aspect_ratio": "16:9",
    "mode": "text_to_video",
    "source_image": None,
    "negative_prompt": "blurry, static",
    "seed": None,
    "prompt_optimizer": True,
    "loop": False,
}
JSON = {"Content-Type": "application/json"}


@pytest.fixture(scope="module", params=STORES)
def store(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture(scope="module")
def api(store: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    """A gateway that records NovaKit jobs (every model available) and never runs them."""
    with gateway(store, tmp_path_factory.mktemp("novakit") / "var", validating) as client:
        yield client


@pytest.fixture(scope="module")
def studio(store: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    """A gateway whose jobs really run, every model against its emulator."""
    with gateway(store, tmp_path_factory.mktemp("novakit-studio") / "var", rendering) as client:
        yield client


def create(client: TestClient, query: str = "?async=true", **body: Any) -> Any:
    return client.post(CREATE + query, json={"prompt": "waves on rocks", **body})


def accepted(client: TestClient, **body: Any) -> dict[str, Any]:
    """The `Submitted` data of an accepted async request."""
    response = create(client, **body)
    assert response.status_code == 200, response.text
    job = documented("post", CREATE, response)
    assert job["status"] == "pending"
    return submitted(client, v1_id(job["id"]))


def refused(client: TestClient, param: str, status: int = 400, **body: Any) -> dict[str, Any]:
    """NovaKit's error for a refused request, naming `param`."""
    response = create(client, **body)
    assert response.status_code == status, response.text
    error: dict[str, Any] = documented("post", CREATE, response)
    assert error["param"] == param, error
    assert param in error["error"] or error["code"] == "model_not_found", error
    return error


def v1_id(job_id: str) -> str:
    return "video_" + job_id.removeprefix("job_")


# Every parameter of NovaKit's table: its default, a mapped value, a bad value


def test_prompt_is_required(api):
    assert accepted(api, prompt="a fox")["prompt"] == "a fox"
    assert refused(api, "prompt", prompt=None)["error"] == "prompt is required"
    refused(api, "prompt", prompt=5)
    refused(api, "prompt", prompt="x" * 2001)  # MiniMax's limit, the default model's


def test_model_defaults_to_minimax_video_01_and_takes_any_catalog_id(api):
    assert accepted(api)["model"] == "minimax-video-01"
    assert accepted(api, model="fal-ai/veo3")["model"] == "veo-3"
    assert accepted(api, model="veo-3.1")["model"] == "veo-3.1"
    refused(api, "model", model="fal-ai/flux/dev")
    refused(api, "model", model=5)


def test_the_answer_names_the_model_as_the_client_did(api):
    cases = [
        ({}, "fal-ai/minimax/video-01"),  # NovaKit's default
        ({"source_image": PNG}, "fal-ai/minimax/video-01"),  # runs its image-to-video twin
        ({"model": "fal-ai/veo3"}, "fal-ai/veo3"),
        ({"model": "veo-3"}, "veo-3"),
    ]
    for body, named in cases:
        answer = create(api, **body).json()
        assert answer["model"] == named
        assert api.get(f"/api/v1/jobs/{answer['id']}").json()["model"] == named


def test_duration_seconds_is_one_the_model_renders_and_defaults_to_5_or_the_models(api):
    assert accepted(api, model="local-preview")["params"]["seconds"] == "5"
    assert accepted(api)["params"]["seconds"] == "6"  # omitted: Video-01 renders 6 s only
    assert accepted(api, model="fal-ai/veo3", duration_seconds=6)["params"]["seconds"] == "6"
    assert accepted(api, model="kling-3.0", duration_seconds=12)["params"]["seconds"] == "12"
    assert accepted(api, model="kling-3.0", duration_seconds="7")["params"]["seconds"] == "7"
    error = refused(api, "duration_seconds", duration_seconds=5)  # never snapped to 6
    assert error["error"] == "duration_seconds must be one of 6 for minimax-video-01; got 5"
    error = refused(api, "duration_seconds", model="fal-ai/veo3", duration_seconds=5)
    assert "one of 4, 6, 8" in error["error"]
    refused(api, "duration_seconds", model="fal-ai/veo3", duration_seconds=4.4)
    for bad in (0, -1, 61, "five", True, [5]):
        refused(api, "duration_seconds", duration_seconds=bad)


def test_resolution_defaults_to_720p_or_the_models_nearest(api):
    assert accepted(api)["params"]["resolution"] == "720p"
    hailuo = "fal-ai/minimax/hailuo-02/standard/text-to-video"
    assert accepted(api, model=hailuo)["params"]["resolution"] == "768p"
    assert accepted(api, model="fal-ai/veo3", resolution="1080p")["params"]["resolution"] == "1080p"
    ltx = "fal-ai/ltx-2/text-to-video/fast"
    assert accepted(api, model=ltx, resolution="4k")["params"]["resolution"] == "2160p"
    assert accepted(api, model="veo-3.1", resolution="4k")["params"]["size"] == "3840x2160"
    refused(api, "resolution", resolution="4k")  # Video-01 renders 720p only
    refused(api, "resolution", model="fal-ai/veo3", resolution="8k")
    refused(api, "resolution", resolution=720)


def test_fps_is_one_the_model_renders_and_defaults_to_30_or_the_models(api):
    assert accepted(api, model="local-preview")["params"]["fps"] == 30
    assert accepted(api)["params"]["fps"] == 25  # omitted: Video-01 renders 25 fps
    ltx = "fal-ai/ltx-2/text-to-video/fast"
    assert accepted(api, model=ltx, fps=50)["params"]["fps"] == 50
    assert accepted(api, model="local-preview", fps=60)["params"]["fps"] == 60
    error = refused(api, "fps", model=ltx, fps=60)  # never snapped to 50
    assert error["error"] == "fps must be one of 25, 50 for ltx-2-fast; got 60"
    assert "one of 25 for minimax-video-01" in refused(api, "fps", fps=30)["error"]
    for bad in (0, 500, "fast", False):
        refused(api, "fps", fps=bad)


def test_aspect_ratio_defaults_to_16_9(api):
    assert accepted(api)["params"]["aspect_ratio"] == "16:9"
    assert accepted(api, model="fal-ai/veo3", aspect_ratio="9:16")["params"]["size"] == "720x1280"
    pixverse = "fal-ai/pixverse/v5.5/text-to-video"
    for ratio in ("16:9", "9:16", "1:1", "4:3", "3:4"):  # every ratio the seed lists
        assert accepted(api, model=pixverse, aspect_ratio=ratio)["params"]["aspect_ratio"] == ratio
    refused(api, "aspect_ratio", aspect_ratio="1:1")  # Video-01 is 16:9 only
    refused(api, "aspect_ratio", model=pixverse, aspect_ratio="square")


def test_mode_defaults_to_text_to_video_and_follows_source_image(api):
    assert accepted(api)["params"]["mode"] == "text-to-video"
    job = accepted(api, mode="image_to_video", source_image=PNG)
    assert (job["model"], job["params"]["mode"]) == ("minimax-video-01-i2v", "image-to-video")
    assert accepted(api, source_image=PNG)["params"]["mode"] == "image-to-video"
    assert accepted(api, mode="text_to_video")["params"]["mode"] == "text-to-video"
    refused(api, "mode", mode="remix")
    refused(api, "source_video", mode="video_to_video")
    refused(api, "source_image", mode="image_to_video")
    refused(api, "source_image", mode="text_to_video", source_image=PNG)


def test_source_image_is_the_first_frame(api):
    url = "https://example.com/portrait.jpg"
    assert accepted(api, source_image=url)["inputs"]["image"] == {"url": url}
    assert len(accepted(api, source_image=PNG)["inputs"]["image"]["sha256"]) == 64
    refused(api, "source_image", source_image="portrait.jpg")
    refused(api, "source_image", source_image="data:image/png;base64,AAAA")
    refused(api, "source_image", model="fal-ai/wan-pro/image-to-video")  # an i2v model needs it


def test_source_video_goes_to_a_model_that_transforms_videos(api):
    clip = "https://example.com/clip.mp4"
    luma = "fal-ai/luma-dream-machine/ray-2"
    job = accepted(api, mode="video_to_video", source_video=clip, model=luma)
    assert (job["model"], job["params"]["mode"]) == ("luma-ray-2", "video-to-video")
    assert job["inputs"] == {"video": {"url": clip}}
    assert (job["provider"], job["upstream_model"]) == ("luma", "ray-2")  # Luma's own API
    assert accepted(api, source_video=clip, model=luma)["params"]["mode"] == "video-to-video"
    error = refused(api, "source_video", source_video=clip)  # the default model: MiniMax
    assert error["code"] == "unsupported_parameter" and "luma-ray-2" in error["error"]
    refused(api, "source_video", mode="text_to_video", source_video=clip, model=luma)
    refused(api, "source_video", source_video="clip.mp4", model=luma)
    refused(api, "source_video", source_video=clip, source_image=PNG, model=luma)


def test_negative_prompt_goes_to_models_that_take_one(api):
    kling = "fal-ai/kling-video/v2.5-turbo/pro/text-to-video"
    assert accepted(api, model=kling, negative_prompt="blur")["params"]["negative_prompt"] == "blur"
    error = refused(api, "negative_prompt", negative_prompt="blur")  # never dropped
    assert error["error"] == "minimax-video-01 does not take negative_prompt"
    refused(api, "negative_prompt", negative_prompt=["blur"])
    refused(api, "negative_prompt", model=kling, negative_prompt="x" * 5000)


def test_seed_defaults_to_random_and_goes_to_models_that_take_one(api):
    assert accepted(api, model="local-preview")["params"]["seed"] is None
    assert accepted(api, model="local-preview", seed=7)["params"]["seed"] == 7
    assert accepted(api, seed=None)["params"]["seed"] is None
    assert refused(api, "seed", seed=7)["error"] == "minimax-video-01 does not take seed"
    for bad in (-1, 2**32, "lucky", 1.5):
        refused(api, "seed", seed=bad)


def test_prompt_optimizer_goes_to_minimax_models_only(api):
    assert accepted(api, prompt_optimizer=False)["params"]["prompt_optimizer"] is False
    assert accepted(api, prompt_optimizer=True)["params"]["prompt_optimizer"] is True
    assert "prompt_optimizer" not in accepted(api)["params"]  # MiniMax's own default (on)
    veo = accepted(api, model="fal-ai/veo3", prompt_optimizer=False)  # asks nothing of Veo
    assert veo["model"] == "veo-3" and "prompt_optimizer" not in veo["params"]
    error = refused(api, "prompt_optimizer", model="fal-ai/veo3", prompt_optimizer=True)
    assert error["error"] == "veo-3 does not take prompt_optimizer"
    refused(api, "prompt_optimizer", prompt_optimizer="yes")


def test_loop_goes_to_luma_models_only(api):
    assert accepted(api, model="luma-ray-2", loop=True)["params"]["loop"] is True
    assert accepted(api, model="luma-ray-2", loop=False)["params"]["loop"] is False
    minimax = accepted(api, loop=False)  # asks nothing of a model that never loops
    assert minimax["model"] == "minimax-video-01" and "loop" not in minimax["params"]
    assert refused(api, "loop", loop=True)["error"] == "minimax-video-01 does not take loop"
    refused(api, "loop", loop="forever")


def test_the_seeds_request_body_example_is_refused_where_video_01_cannot_honour_it(api):
    """5 s, 30 fps and a negative prompt: Video-01 renders 6 s at 25 fps and takes no negative
    prompt. Each is a 400 naming what it takes; asked what it renders, it is accepted."""
    body = dict(DOC_BODY)
    for param, honoured, says in (
        ("duration_seconds", 6, "one of 6"),
        ("fps", 25, "one of 25"),
        ("negative_prompt", None, "does not take negative_prompt"),
    ):
        assert says in refused(api, param, **body)["error"]
        body[param] = honoured
    job = accepted(api, **body)
    assert (job["model"], job["params"]["seconds"], job["params"]["fps"]) == (
        "minimax-video-01",
        "6",
        25,
    )
    assert job["params"]["prompt_optimizer"] is True


def test_unknown_parameters_are_refused(api):
    assert refused(api, "style", style="anime")["code"] == "unknown_parameter"
    response = api.post(CREATE + "?async=true&stream=1", json={"prompt": "x"})
    assert response.status_code == 400 and response.json()["param"] == "stream"
    response = api.post(CREATE + "?async=maybe", json={"prompt": "x"})
    assert response.status_code == 400 and response.json()["param"] == "async"


values = (
    st.none()
    | st.booleans()
    | st.integers(-(2**40), 2**40)
    | st.floats()
    | st.text(max_size=20)
    | st.sampled_from(["fal-ai/veo3", "image_to_video", "4k", "9:16", PNG])
    | st.lists(st.integers(), max_size=2)
)
bodies = st.dictionaries(st.sampled_from([*DOC_BODY, "source_video", "style"]), values, max_size=6)


@hypothesis_settings(max_examples=60, deadline=None)
@given(body=bodies, query=st.sampled_from(["?async=true", "?async=1&timeout=0.01", "?async=x"]))
def test_no_body_gets_a_500(api, body, query):
    before = event_count(api)
    response = api.post(CREATE + query, content=json.dumps(body), headers=JSON)
    assert response.status_code in (200, 400), response.text
    if response.status_code == 400:
        assert set(response.json()) == {"error", "code", "param"}
        assert event_count(api) == before  # a refusal appends nothing


# Answers


def test_async_answers_the_pending_job(api):
    response = create(api, model="fal-ai/veo3", duration_seconds=8)
    body = documented("post", CREATE, response)
    assert set(body) == {"id", "status", "created", "model", "estimated_credits"}
    assert body["id"].startswith("job_") and body["status"] == "pending"
    assert body["model"] == "fal-ai/veo3"
    assert body["estimated_credits"] == 320  # 8 s × $0.40 = $3.20: 1 credit = $0.01
    assert abs(body["created"] - time.time()) < 60


def test_jobs_answer_in_novakits_shape(api):
    job_id = create(api, model="fal-ai/veo3", seed=3).json()["id"]
    job = documented("get", JOB, api.get(f"/api/v1/jobs/{job_id}"))
    assert (job["id"], job["tool"], job["status"], job["progress"]) == (
        job_id,
        "video",
        "pending",
        0,
    )
    assert job["outputData"] is None and job["errorMessage"] is None
    assert job["inputParams"]["prompt"] == "waves on rocks" and job["inputParams"]["seed"] == 3
    assert job["model"] == "fal-ai/veo3" and job["createdAt"].endswith("Z")
    assert api.get(f"/api/v1/jobs/{v1_id(job_id)}").json()["id"] == job_id  # `video_…` works


def test_a_long_poll_of_an_unchanging_job_returns_after_its_timeout(api):
    job_id = create(api).json()["id"]
    started = time.monotonic()
    job = api.get(f"/api/v1/jobs/{job_id}", params={"poll": "true", "timeout": "0.5"}).json()
    assert job["status"] == "pending" and time.monotonic() - started >= 0.5
    for bad, param in (
        ({"poll": "yes"}, "poll"),
        ({"poll": "true", "timeout": "0"}, "timeout"),
        ({"timeout": "x"}, "timeout"),
        ({"wait": "1"}, "wait"),
    ):
        response = api.get(f"/api/v1/jobs/{job_id}", params=bad)
        assert response.status_code == 400
        assert documented("get", JOB, response)["param"] == param


def test_a_sync_request_that_outlasts_its_timeout_is_a_504_naming_the_job(api):
    started = time.monotonic()
    response = create(api, query="?timeout=0.5")
    assert response.status_code == 504 and time.monotonic() - started >= 0.5
    error = documented("post", CREATE, response)
    assert (error["code"], error["status"]) == ("timeout", "pending")
    assert api.get(f"/api/v1/jobs/{error['id']}").json()["status"] == "pending"  # it carries on
    assert create(api, query="?timeout=-1").json()["param"] == "timeout"


def test_a_sync_request_whose_job_is_cancelled_is_a_409(api):
    gateway = runtime_of(api).gateway
    last = gateway.recorder.max_notification_id() or 0
    answers: list[Any] = []
    waiting = threading.Thread(target=lambda: answers.append(create(api, query="?timeout=20")))
    waiting.start()
    try:
        submitted_event = wait_for(lambda: gateway.recorder.select_notifications(last + 1, 1))
        job = f"video_{submitted_event[0].originator_id.hex}"
        assert api.post(f"/v1/videos/{job}/cancel").status_code == 200
    finally:
        waiting.join(25)
    (response,) = answers
    assert response.status_code == 409
    assert documented("post", CREATE, response)["status"] == "cancelled"
    assert api.get(f"/api/v1/jobs/{response.json()['id']}").json()["status"] == "cancelled"


def test_unknown_and_other_tenants_jobs_are_404(api):
    mine = create(api).json()["id"]
    stranger = key_for(api, "someone-else", ("video",))
    for job_id, headers in (("job_nope", None), ("job_" + "0" * 32, None), (mine, stranger)):
        response = api.get(f"/api/v1/jobs/{job_id}", headers=headers)
        assert response.status_code == 404
        assert documented("get", JOB, response)["error"] == "Job not found"


# Keys and the `video` scope


def test_a_key_with_the_video_scope_creates_and_reads(api):
    video_key = key_for(api, "default", ("video",))
    response = api.post(CREATE + "?async=true", json={"prompt": "x"}, headers=video_key)
    assert response.status_code == 200
    assert api.get(f"/api/v1/jobs/{response.json()['id']}", headers=video_key).status_code == 200
    assert api.get("/v1/videos", headers=video_key).status_code == 403  # a NovaKit-only key


def test_vidgates_own_scopes_work_too_and_others_are_a_403(api):
    writer = key_for(api, "default", ("videos:write",))
    job_id = api.post(CREATE + "?async=true", json={"prompt": "x"}, headers=writer).json()["id"]
    reader = key_for(api, "default", ("videos:read",))
    assert api.get(f"/api/v1/jobs/{job_id}", headers=reader).status_code == 200
    hooks = key_for(api, "default", ("webhooks:read",))
    for response in (
        api.post(CREATE, json={"prompt": "x"}, headers=reader),
        api.get(f"/api/v1/jobs/{job_id}", headers=hooks),
    ):
        assert response.status_code == 403
        error = response.json()
        assert error["code"] == "missing_scope" and "'video'" in error["error"]


def test_missing_and_unknown_keys_are_401s(api):
    for headers in ({"Authorization": ""}, {"Authorization": "Bearer sk_your_api_key"}):
        for response in (
            api.post(CREATE, json={"prompt": "x"}, headers=headers),
            api.get("/api/v1/jobs/job_x", headers=headers),
        ):
            assert response.status_code == 401
            assert response.headers["www-authenticate"] == "Bearer"
            assert set(response.json()) == {"error", "code", "param"}


# Jobs really run, and are vidgate jobs


def test_every_model_of_the_seed_completes_through_the_facade(studio):
    def start(model: str) -> tuple[str, str]:
        image = {"mode": "image_to_video", "source_image": PNG} if model in IMAGE_MODELS else {}
        response = create(studio, model=model, **image)
        assert response.status_code == 200, (model, response.text)
        assert response.json()["model"] == model
        return response.json()["id"], model

    with ThreadPoolExecutor(8) as pool:
        jobs = dict(pool.map(start, TEXT_MODELS + IMAGE_MODELS))
    final = {job_id: wait_until_done(studio, job_id) for job_id in jobs}
    problems = {
        jobs[j]: (b["status"], b["errorMessage"])
        for j, b in final.items()
        if b["status"] != "completed"
    }
    assert not problems, problems
    for job_id, job in final.items():
        assert job["model"] == jobs[job_id] and job["progress"] == 100
        assert LINK.fullmatch(job["outputData"]["video"]["url"])
        assert job["actualCredits"] == job["estimatedCredits"] > 0


def wait_until_done(client: TestClient, job_id: str, timeout: float = 60) -> dict[str, Any]:
    """Long-poll the job as NovaKit's example does, until it ends."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        response = client.get(f"/api/v1/jobs/{job_id}", params={"poll": "true", "timeout": "5"})
        job: dict[str, Any] = documented("get", JOB, response)
        if job["status"] not in ("pending", "processing"):
            return job
    raise AssertionError(f"{job_id} did not finish in {timeout}s")


def test_a_long_poll_returns_when_the_status_changes(studio):
    job_id = create(studio, model="fal-ai/veo3/fast", duration_seconds=4).json()["id"]
    started = time.monotonic()
    job = studio.get(f"/api/v1/jobs/{job_id}", params={"poll": "true"}).json()
    assert job["status"] != "pending" and time.monotonic() - started < 15  # not the 30 s limit


def test_a_sync_request_answers_with_the_stored_video(studio):
    started = time.monotonic()
    response = create(studio, query="", model="fal-ai/veo3/fast", duration_seconds=4)
    assert response.status_code == 200, response.text
    body = documented("post", CREATE, response)
    assert time.monotonic() - started < 30
    assert body["model"] == "fal-ai/veo3/fast" and body["model_tier"] == "standard"
    assert body["data"]["duration_seconds"] == body["usage"]["seconds_used"] > 0
    assert body["data"]["width"] > 0 and body["data"]["height"] > 0
    assert body["usage"] == {
        "credits_used": 60,
        "seconds_used": body["usage"]["seconds_used"],
        "seconds_remaining": None,
    }  # 4 s × $0.15
    content = studio.get(body["data"]["url"], headers={"Authorization": ""})  # a link: no key
    assert content.status_code == 200 and content.headers["content-type"] == "video/mp4"
    assert content.content == studio.get(f"/v1/videos/{v1_id(body['id'])}/content").content


def test_video_links_are_signed_expiring_and_die_with_the_video(studio):
    job_id = create(studio, model="fal-ai/veo3/fast", duration_seconds=4).json()["id"]
    url = wait_until_done(studio, job_id)["outputData"]["video"]["url"]
    assert studio.get(url, headers={"Range": "bytes=0-7"}).status_code == 206
    forged = studio.get(url.replace("/files/", "/files/x"))
    assert forged.status_code == 403
    assert documented("get", FILE, forged) == {
        "error": "the video link is not valid",
        "code": "invalid_link",
        "param": None,
    }
    settings = runtime_of(studio).settings
    long_ago = OutputLinks([settings.secret_key or ""], clock=lambda: time.time() - 4 * 86400)
    old = long_ago.token(FILES, uuid.UUID(hex=job_id.removeprefix("job_")))
    expired = studio.get(f"/api/v1/files/{old}.mp4")
    assert expired.status_code == 403 and "expired" in expired.json()["error"]
    assert studio.delete(f"/v1/videos/{v1_id(job_id)}").status_code == 200
    gone = studio.get(url)
    assert gone.status_code == 404 and documented("get", FILE, gone)["code"] == "not_found"


def test_a_novakit_job_is_a_vidgate_video_with_its_history(studio):
    job_id = create(studio, model="fal-ai/veo3/fast", duration_seconds=4).json()["id"]
    job = wait_until_done(studio, job_id)
    video = studio.get(f"/v1/videos/{v1_id(job_id)}").json()
    assert (video["status"], video["model"], video["seconds"]) == ("completed", "veo-3-fast", "4")
    assert job["completedAt"] is not None and job["outputData"]["video"]["width"] > 0
    events = history(studio, v1_id(job_id))
    assert events[0]["data"]["surface"] == "novakit"
    listed = studio.get("/v1/videos", params={"limit": 100}).json()["data"]
    assert v1_id(job_id) in {v["id"] for v in listed}


def test_a_sync_request_whose_job_fails_is_a_502(settings):
    with client_for(rendering(settings, fail_rate=1.0)) as client:
        response = create(client, query="?timeout=30", model="fal-ai/veo3/fast")
        assert response.status_code == 502, response.text
        error = documented("post", CREATE, response)
        assert error["status"] == "failed" and error["error"].startswith("video generation failed")
        job = client.get(f"/api/v1/jobs/{error['id']}").json()
    assert job["status"] == "failed" and job["errorMessage"] and job["outputData"] is None
