"""The task API facade: every field of its request body, its models, task objects and errors.

As for Concurred: per store, a `gateway` whose workers complete jobs on the sandbox
emulators, and a `quiet` one without workers where refusals are shown to append nothing and
accepted tasks stay queued for their recorded parameters to be read.
"""

from __future__ import annotations

import base64
import re
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from typing import Any

import pytest
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st
from openapi_schema_validator import OAS31Validator
from starlette.testclient import TestClient

from service.app import create_app
from service.settings import EmulatorSettings, Settings
from service.surfaces.openapi.document import openapi_document
from service.surfaces.task_api import FIELDS
from tests.conftest import ADMIN_KEY, STORES
from tests.helpers import event_count, key_for, wait_for
from tests.integration.facade_gateways import check, png_data_uri, store_settings, without_workers

CREATE, TASK = "/v1/video/generations", "/v1/video/generations/{task_id}"
DOC_MODELS = {  # the document's model ids → vidgate's
    "kling-v2-5-turbo": "kling-2.5-turbo-pro",
    "kling-v2-1-master": "kling-2.1-master",
    "veo_3_1": "veo-3.1",
    "veo_3_1-fast": "veo-3.1-fast",
}
DOC_EXAMPLE = {  # the document's example value of each field
    "model": "kling-v2-5-turbo",
    "prompt": "An astronaut walking on the Moon, Earth rising in the background, cinematic shot",
    "image": "https://example.com/image.jpg",
    "duration": 5,
    "width": 1280,
    "height": 720,
    "fps": 30,
    "seed": 20231234,
    "n": 1,
    "response_format": "url",
    "user": "user-1234",
}


@pytest.fixture(scope="module", params=STORES)
def module_store(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture(scope="module")
def gateway(module_store, tmp_path_factory) -> Iterator[TestClient]:
    with store_settings(module_store, tmp_path_factory.mktemp("gateway") / "var") as settings:
        app = create_app(settings)
        with TestClient(app, headers={"Authorization": f"Bearer {ADMIN_KEY}"}) as client:
            yield client


@pytest.fixture(scope="module")
def quiet(module_store, tmp_path_factory) -> Iterator[TestClient]:
    with store_settings(module_store, tmp_path_factory.mktemp("quiet") / "var") as settings:
        app = create_app(without_workers(settings))
        with TestClient(app, headers={"Authorization": f"Bearer {ADMIN_KEY}"}) as client:
            yield client


@pytest.fixture(scope="module")
def doc() -> dict[str, Any]:
    return openapi_document()


def create(client: TestClient, **body: Any) -> dict[str, Any]:
    response = client.post(CREATE, json={"model": "veo_3_1", "prompt": "a fox", **body})
    assert response.status_code == 200, response.text
    task: dict[str, Any] = response.json()
    return task


def submitted(client: TestClient, task: dict[str, Any]) -> dict[str, Any]:
    """The task's `Submitted` event, as vidgate's own history shows it."""
    events = client.get(f"/v1/videos/{task['task_id']}/events").json()["data"]
    assert events[0]["type"] == "Submitted"
    data: dict[str, Any] = events[0]["data"]
    return data


def params(client: TestClient, **body: Any) -> dict[str, Any]:
    recorded: dict[str, Any] = submitted(client, create(client, **body))["params"]
    return recorded


def refused(client: TestClient, body: Any, status: int = 400, **request: Any) -> dict[str, Any]:
    """The OpenAI-shaped error of a refused create request, which appended nothing."""
    before = event_count(client)
    response = client.post(CREATE, json=body, **request)
    assert response.status_code == status, response.text
    assert set(response.json()) == {"error"}
    assert event_count(client) == before
    error: dict[str, Any] = response.json()["error"]
    return error


def bad(client: TestClient, **body: Any) -> dict[str, Any]:
    """The 400 for the minimal valid request with `body` on top."""
    return refused(client, {"model": "veo_3_1", "prompt": "a fox", **body})


def finished(client: TestClient, task_id: str) -> dict[str, Any]:
    def done() -> dict[str, Any] | None:
        task: dict[str, Any] = client.get(f"/v1/video/generations/{task_id}").json()
        return task if task["status"] in ("completed", "failed") else None

    result: dict[str, Any] = wait_for(done, timeout=30)
    return result


# The request body, one test per field


def test_model_is_required_and_takes_the_documents_ids(quiet):
    assert refused(quiet, {"prompt": "x"})["param"] == "model"
    for name, model in DOC_MODELS.items():
        assert create(quiet, model=name)["model"] == model
    assert create(quiet, model="local-preview")["model"] == "local-preview"  # any catalog id
    error = bad(quiet, model="kling-v9")
    assert (error["param"], error["code"]) == ("model", "model_not_found")


def test_prompt_is_required_and_recorded(quiet):
    assert refused(quiet, {"model": "veo_3_1"})["param"] == "prompt"
    task = create(quiet, prompt=DOC_EXAMPLE["prompt"])
    assert submitted(quiet, task)["prompt"] == DOC_EXAMPLE["prompt"]


def test_image_takes_a_url_a_data_uri_or_bare_base64_and_makes_it_image_to_video(quiet):
    url_task = create(quiet, image=DOC_EXAMPLE["image"])
    assert submitted(quiet, url_task)["inputs"]["image"] == {"url": DOC_EXAMPLE["image"]}
    assert submitted(quiet, url_task)["params"]["mode"] == "image-to-video"
    data_uri = png_data_uri()
    bare = data_uri.split(",", 1)[1]
    for image in (data_uri, bare):
        inputs = submitted(quiet, create(quiet, image=image))["inputs"]
        assert inputs["image"]["content_type"] == "image/png"
    twin = create(quiet, model="kling-3-pro", image=bare)
    assert twin["model"] == "kling-3-pro-i2v"
    for junk in ("not an image", "ftp://example.com/a.png", base64.b64encode(b"x" * 30).decode()):
        error = bad(quiet, image=junk)
        assert error["param"] == "image" and "image_url" not in error["message"]
    assert bad(quiet, model="kling-3-pro-i2v")["message"].endswith("give image")


@pytest.mark.parametrize(("duration", "seconds"), [(5, "5"), (5.0, "5"), ("10", "10"), (0, "5")])
def test_duration_is_in_seconds_and_zero_means_the_default(quiet, duration, seconds):
    recorded = params(quiet, model="kling-v2-5-turbo", duration=duration)
    assert recorded["seconds"] == seconds


def test_a_duration_the_model_lacks_is_refused_naming_duration(quiet):
    error = bad(quiet, duration=5)
    assert error == {
        "message": "duration must be one of 4, 6, 8 for veo-3.1; got 5",
        "type": "invalid_request_error",
        "param": "duration",
        "code": "invalid_value",
    }
    assert bad(quiet, duration=5.5)["param"] == "duration"


@pytest.mark.parametrize(
    ("model", "width", "height", "size"),
    [
        ("veo_3_1", 1280, 720, "1280x720"),  # a frame the model renders
        ("veo_3_1", 1080, 1920, "1080x1920"),
        ("kling-v2-5-turbo", 1280, 720, "1920x1080"),  # 1080p only: same aspect ratio, larger
        ("kling-v2-5-turbo", 720, 1280, "1080x1920"),
        ("kling-v2-5-turbo", 512, 512, "1080x1080"),
        ("veo_3_1", 854, 480, "1280x720"),  # 16:9 within 1 %
        ("veo_3_1", 3000, 1688, "3840x2160"),
        ("local-preview", 640, 360, "640x360"),  # any size
        ("veo_3_1", 0, 0, "1280x720"),  # zeros: the model's default
    ],
)
def test_width_and_height_map_to_a_frame_the_model_renders(quiet, model, width, height, size):
    assert params(quiet, model=model, width=width, height=height, duration=0)["size"] == size


def test_width_and_height_the_model_cannot_render_are_refused_with_the_allowed_sizes(quiet):
    error = bad(quiet, width=512, height=512)
    assert error["param"] == "width/height"
    assert "1280x720, 720x1280, 1920x1080" in error["message"]
    assert bad(quiet, width=1280)["param"] == "height"
    assert bad(quiet, height=720)["param"] == "width"
    assert bad(quiet, width=-1280, height=720)["param"] == "width"
    assert bad(quiet, width="wide", height=720)["param"] == "width"


def test_width_and_height_beyond_any_frame_are_refused_not_overflowed(quiet):
    huge = int("1" + "0" * 400)  # once an OverflowError (500) in the aspect ratio
    error = bad(quiet, width=huge, height=720)
    assert error["param"] == "width" and "16384" in error["message"]
    assert bad(quiet, width=1280, height=huge)["param"] == "height"
    assert bad(quiet, model="local-preview", width=16385, height=90)["param"] == "width"


def test_fps_is_a_hint_the_model_renders_if_it_can(quiet):
    assert params(quiet, fps=24)["fps"] == 24
    assert params(quiet, fps=0)["fps"] == 24
    assert params(quiet, fps=30)["fps"] == 24  # the doc's example value; this model has 24 only
    assert bad(quiet, fps="fast")["param"] == "fps"


def test_seed_is_recorded_where_the_model_takes_one_and_dropped_elsewhere(quiet):
    assert params(quiet, seed=20231234)["seed"] == 20231234
    kling = submitted(quiet, create(quiet, model="kling-v2-5-turbo", prompt="x", seed=20231234))
    assert kling["params"]["seed"] is None
    assert bad(quiet, seed=-1)["param"] == "seed"


def test_n_must_be_one(quiet):
    create(quiet, n=1)
    for n in (2, 0, "many"):
        assert bad(quiet, n=n)["param"] == "n"


def test_response_format_must_be_url(quiet):
    create(quiet, response_format="url")
    error = bad(quiet, response_format="b64_json")
    assert (error["param"], error["code"]) == ("response_format", "unsupported_value")


def test_user_is_recorded_for_audit_and_checked(quiet):
    task = create(quiet, user="user-1234")
    assert submitted(quiet, task)["params"]["user"] == "user-1234"
    assert "user" not in submitted(quiet, create(quiet))["params"]
    assert bad(quiet, user=1234)["param"] == "user"
    assert bad(quiet, user="u" * 257)["param"] == "user"


def test_metadata_takes_what_the_catalog_knows_and_refuses_the_rest(quiet):
    event = submitted(quiet, create(quiet, metadata={"negative_prompt": "blur"}))
    assert event["params"]["negative_prompt"] == "blur"
    assert params(quiet, metadata={"aspect_ratio": "9:16"})["size"] == "720x1280"
    assert params(quiet, metadata={"resolution": "1080p", "audio": False})["audio"] is False
    for key in ("style", "quality_level"):  # Veo has neither
        error = bad(quiet, metadata={key: "cinematic"})
        assert (error["param"], error["code"]) == (f"metadata.{key}", "unsupported_parameter")
    error = bad(quiet, metadata={"motion": "high"})
    assert (error["param"], error["code"]) == ("metadata.motion", "unsupported_parameter")
    error = refused(
        quiet, {"model": "runway-gen4.5", "prompt": "x", "metadata": {"negative_prompt": "blur"}}
    )
    assert error["param"] == "metadata.negative_prompt"
    assert error["message"] == "runway-gen4.5 does not take metadata.negative_prompt"
    assert bad(quiet, metadata={"aspect_ratio": "4:3"})["param"] == "metadata.aspect_ratio"
    assert bad(quiet, metadata="style=cinematic")["param"] == "metadata"


def test_metadata_style_goes_to_the_models_with_styles(quiet):
    pixverse = {"model": "fal-ai/pixverse/v5.5/text-to-video", "prompt": "a fox"}
    assert params(quiet, **pixverse, metadata={"style": "clay"})["style"] == "clay"
    error = refused(quiet, {**pixverse, "metadata": {"style": "watercolor"}})
    assert (error["param"], error["code"]) == ("metadata.style", "invalid_value")
    assert "anime, 3d_animation, clay, comic, cyberpunk" in error["message"]
    error = refused(quiet, {**DOC_EXAMPLE, "metadata": {"style": "anime"}})
    assert (error["param"], error["code"]) == ("metadata.style", "unsupported_parameter")
    assert error["message"] == "kling-2.5-turbo-pro takes no metadata.style"


def test_metadata_quality_level_selects_the_kling_tier(quiet):
    """Kling's std (720p) and pro (1080p) pick the resolution, and with it Kling's `mode`."""
    turbo = {**DOC_EXAMPLE, "metadata": {"quality_level": "pro"}}
    assert (params(quiet, **turbo)["resolution"], params(quiet, **turbo)["size"]) == (
        "1080p",
        "1920x1080",
    )
    error = refused(quiet, {**DOC_EXAMPLE, "metadata": {"quality_level": "std"}})
    assert error["param"] == "metadata.quality_level"
    assert "pro (1080p)" in error["message"]
    kling_21 = {
        "model": "kling-2.1",
        "prompt": "a fox",
        "image": DOC_EXAMPLE["image"],
        "width": 1920,
        "height": 1080,
    }
    std = params(quiet, **kling_21, metadata={"quality_level": "std"})
    assert (std["resolution"], std["size"]) == ("720p", "1280x720")
    pro = params(quiet, **kling_21, metadata={"quality_level": "pro"})
    assert (pro["resolution"], pro["size"]) == ("1080p", "1920x1080")
    error = refused(quiet, {**kling_21, "metadata": {"quality_level": "pro", "resolution": "720p"}})
    assert error["param"] == "metadata.quality_level"
    for level in ("ultra", ["pro"], {"tier": "pro"}, 1):
        error = refused(quiet, {**kling_21, "metadata": {"quality_level": level}})
        assert "std (720p), pro (1080p)" in error["message"]


def test_unknown_fields_and_bodies_that_are_no_json_object_are_refused(quiet):
    for name in ("size", "seconds", "image_url", "aspect_ratio"):
        error = bad(quiet, **{name: "x"})
        assert (error["param"], error["code"]) == (name, "unknown_parameter")
    assert set(FIELDS) == {
        "model",
        "prompt",
        "image",
        "duration",
        "width",
        "height",
        "fps",
        "seed",
        "n",
        "response_format",
        "user",
        "metadata",
    }
    assert refused(quiet, None, content=b"{nope")["code"] == "invalid_json"
    text = {"Content-Type": "text/plain"}
    assert refused(quiet, None, 415, content=b"x", headers=text)["code"] == "unsupported_media_type"
    assert refused(quiet, {"model": "veo_3_1", "prompt": "x" * 70_000}, 413)["param"] == "body"


# Task objects


def test_a_new_task_is_queued_and_polls_the_same(quiet, doc):
    response = quiet.post(CREATE, json={"model": "veo_3_1", "prompt": "a fox", "seed": 7})
    task = check(doc, "post", CREATE, response)
    assert task["task_id"].startswith("video_") and task["status"] == "queued"
    assert task["metadata"] == {"duration": 8.0, "fps": 24, "width": 1280, "height": 720, "seed": 7}
    assert task["completed_at"] is None and "url" not in task and "error" not in task
    polled = check(doc, "get", TASK, quiet.get(f"/v1/video/generations/{task['task_id']}"))
    assert polled == task


def test_the_documents_flow_completes_and_the_url_downloads_the_video(gateway, doc):
    body = {**DOC_EXAMPLE, "image": png_data_uri()}  # every example value, fps 30 and seed too
    task = check(doc, "post", CREATE, gateway.post(CREATE, json=body))
    done = finished(gateway, task["task_id"])
    check(doc, "get", TASK, gateway.get(f"/v1/video/generations/{task['task_id']}"))
    assert done["status"] == "completed" and done["format"] == "mp4"
    assert re.fullmatch(r"http://testserver/v1/video/files/[\w.-]+\.mp4", done["url"])
    assert done["completed_at"] >= done["created_at"] and done["progress"] == 100
    video = gateway.get(done["url"], headers={"Authorization": ""})  # a signed link: no key
    assert video.status_code == 200 and video.headers["content-type"] == "video/mp4"
    assert video.content == gateway.get(f"/v1/videos/{task['task_id']}/content").content


def test_every_model_of_the_document_completes_and_is_a_vidgate_video(gateway):
    bodies = [{"model": name, "prompt": f"a fox ({name})"} for name in DOC_MODELS]
    bodies += [
        {"model": name, "prompt": "it comes alive", "image": png_data_uri()} for name in DOC_MODELS
    ]
    with ThreadPoolExecutor(len(bodies)) as pool:
        tasks = list(pool.map(lambda body: gateway.post(CREATE, json=body).json(), bodies))
    for body, task in zip(bodies, tasks, strict=True):
        done = finished(gateway, task["task_id"])
        assert (done["status"], done["model"]) == ("completed", DOC_MODELS[body["model"]])
        video = gateway.get(f"/v1/videos/{task['task_id']}").json()
        assert video["status"] == "completed"
        events = gateway.get(f"/v1/videos/{task['task_id']}/events").json()["data"]
        assert events[0]["data"]["surface"] == "task_api"
        mode = "image-to-video" if "image" in body else "text-to-video"
        assert events[0]["data"]["params"]["mode"] == mode


def test_a_failed_task_says_why(settings: Settings, doc):
    doomed = replace(
        settings,
        sandbox=True,
        emulate=EmulatorSettings(latency=0.1, fail_rate=1.0),
        poll_first=0.05,
        poll_grace=0.1,
        poll_cap=0.2,
    )
    with TestClient(create_app(doomed), headers={"Authorization": f"Bearer {ADMIN_KEY}"}) as c:
        task = create(c)
        done = finished(c, task["task_id"])
        check(doc, "get", TASK, c.get(f"/v1/video/generations/{task['task_id']}"))
    assert done["status"] == "failed" and "url" not in done
    assert done["error"]["code"] and done["error"]["message"]


def test_a_canceled_task_is_failed_with_code_canceled(quiet, doc):
    task = create(quiet)
    assert quiet.post(f"/v1/videos/{task['task_id']}/cancel").status_code == 200
    polled = check(doc, "get", TASK, quiet.get(f"/v1/video/generations/{task['task_id']}"))
    assert polled["status"] == "failed" and polled["completed_at"] is not None
    assert polled["error"] == {"code": "canceled", "message": "the video was canceled"}


def test_model_specific_metadata_completes_on_the_emulated_upstreams(gateway):
    """A Pixverse style (fal) and a Kling quality tier (Kling's API) are accepted upstream."""
    bodies = [
        {"model": "pixverse-v5.5", "prompt": "a fox", "metadata": {"style": "anime"}},
        {**DOC_EXAMPLE, "image": png_data_uri(), "metadata": {"quality_level": "pro"}},
    ]
    for body in bodies:
        task = gateway.post(CREATE, json=body).json()
        assert finished(gateway, task["task_id"])["status"] == "completed", task


def test_tasks_are_listed_by_vidgate_with_their_surface(gateway):
    tenant = key_for(gateway, f"t-{uuid.uuid4().hex[:8]}")
    response = gateway.post(CREATE, json={"model": "veo_3_1", "prompt": "x"}, headers=tenant)
    task_id = response.json()["task_id"]

    def listed() -> bool:
        data = gateway.get("/v1/videos", headers=tenant).json()["data"]
        return [v["id"] for v in data] == [task_id]

    wait_for(listed, timeout=10)
    history = gateway.get(f"/v1/videos/{task_id}/events", headers=tenant).json()["data"]
    assert history[0]["data"]["surface"] == "task_api"


# Errors of the surface


def test_an_unknown_or_foreign_task_is_a_404(quiet, doc):
    task = create(quiet)
    stranger = key_for(quiet, "someone-else")
    for task_id, headers in (
        (f"video_{'0' * 32}", None),
        ("task_abc", None),
        (task["task_id"], stranger),
    ):
        response = quiet.get(f"/v1/video/generations/{task_id}", headers=headers)
        assert response.status_code == 404
        error = check(doc, "get", TASK, response)["error"]
        assert (error["param"], error["code"]) == ("task_id", "not_found")


@pytest.mark.parametrize(
    ("authorization", "code"),
    [
        ("", "missing_api_key"),
        ("Basic abc", "invalid_api_key"),
        ("Bearer vg_nope", "invalid_api_key"),
    ],
)
def test_key_errors_are_openai_shaped(quiet, doc, authorization, code):
    headers = {"Authorization": authorization}
    for method, path, response in (
        ("post", CREATE, quiet.post(CREATE, json={"model": "veo_3_1"}, headers=headers)),
        ("get", TASK, quiet.get(f"/v1/video/generations/video_{'0' * 32}", headers=headers)),
    ):
        assert response.status_code == 401
        assert response.headers["www-authenticate"] == "Bearer"
        assert check(doc, method, path, response)["error"]["code"] == code


def test_a_read_only_key_may_poll_but_not_create(quiet, doc):
    reader = key_for(quiet, "default", ("videos:read",))
    response = quiet.post(CREATE, json={"model": "veo_3_1", "prompt": "x"}, headers=reader)
    assert response.status_code == 403
    assert check(doc, "post", CREATE, response)["error"]["code"] == "missing_scope"
    task = create(quiet)
    polled = quiet.get(f"/v1/video/generations/{task['task_id']}", headers=reader)
    assert polled.status_code == 200


def test_refusals_match_the_document(quiet, doc):
    for body in ({"model": "veo_3_1", "prompt": "x", "n": 2}, {"prompt": "x"}):
        check(doc, "post", CREATE, quiet.post(CREATE, json=body))
    text = {"Content-Type": "text/plain"}
    check(doc, "post", CREATE, quiet.post(CREATE, content=b"x", headers=text))


values = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-10, 5000),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=12),
    st.sampled_from([*DOC_MODELS, "url", "9:16", "1080p", "AAAA" * 5]),
    st.dictionaries(
        st.sampled_from(
            ["negative_prompt", "style", "aspect_ratio", "resolution", "quality_level"]
        ),
        st.one_of(
            st.text(max_size=5),
            st.lists(st.text(max_size=3), max_size=2),
            st.sampled_from(["std", "pro", "1080p", "anime"]),
        ),
        max_size=3,
    ),
)
bodies = st.dictionaries(st.sampled_from([*FIELDS, "size"]), values, max_size=7)


@hypothesis_settings(
    max_examples=100, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(body=bodies)
def test_any_body_gets_a_task_or_a_400_never_a_500(quiet, body):
    before = event_count(quiet)
    response = quiet.post(CREATE, json=body)
    assert response.status_code in (200, 400), response.text
    if response.status_code == 400:
        assert response.json()["error"]["param"]
        assert event_count(quiet) == before


def test_the_documented_request_schema_takes_the_documents_example(doc):
    schema = doc["paths"][CREATE]["post"]["requestBody"]["content"]["application/json"]["schema"]
    validator = OAS31Validator({**schema, "components": doc["components"]})
    assert validator.is_valid({**DOC_EXAMPLE, "metadata": {"negative_prompt": "blur"}})
    assert validator.is_valid({**DOC_EXAMPLE, "metadata": {"style": "anime"}})
    assert not validator.is_valid({**DOC_EXAMPLE, "metadata": {"motion": "high"}})
    assert not validator.is_valid({**DOC_EXAMPLE, "size": "1280x720"})
