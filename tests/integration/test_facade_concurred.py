"""The Concurred facade: every parameter of its document, its models, envelopes and errors.

Two in-process gateways per store, shared by the module: `gateway` runs the workers against
the sandbox emulators (tiny latency, fast polls), so jobs really complete; `quiet` runs none,
so a rejected request can be shown to append nothing and accepted ones stay put. A sync
model's request in `quiet` ends at once with the `sync_timeout` answer, which names its job.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import replace
from typing import Any

import pytest
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st
from openapi_schema_validator import OAS31Validator
from starlette.testclient import TestClient

from events.ids import video_id
from service.app import create_app
from service.settings import EmulatorSettings, Settings
from service.surfaces.concurred import FIELDS, FILES, MODELS, SYNC_TIMEOUT_STATE
from service.surfaces.openapi.document import openapi_document
from tests.conftest import ADMIN_KEY, STORES
from tests.helpers import event_count, key_for, runtime_of, wait_for
from tests.integration.facade_gateways import check, png_data_uri, store_settings, without_workers

GENERATE, STATUS = "/api/v1/video/generate", "/api/v1/video/status"
OPERATION = re.compile(r"^operations/(video_[0-9a-f]{32})$")
VIDEO_LINK = re.compile(r"http://testserver/api/v1/video/files/[\w.-]+\.mp4")


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
        setattr(app.state, SYNC_TIMEOUT_STATE, 0.05)  # no workers: sync models never finish
        with TestClient(app, headers={"Authorization": f"Bearer {ADMIN_KEY}"}) as client:
            yield client


@pytest.fixture
def failing(settings: Settings) -> Iterator[TestClient]:
    """A gateway whose emulated upstreams fail every job."""
    doomed = replace(
        settings,
        sandbox=True,
        emulate=EmulatorSettings(latency=0.1, fail_rate=1.0),
        poll_first=0.05,
        poll_grace=0.1,
        poll_cap=0.2,
    )
    with TestClient(create_app(doomed), headers={"Authorization": f"Bearer {ADMIN_KEY}"}) as c:
        yield c


@pytest.fixture(scope="module")
def doc() -> dict[str, Any]:
    return openapi_document()


@contextmanager
def sync_timeout(client: TestClient, seconds: float) -> Iterator[None]:
    """Sync models of this app wait `seconds` (the app's state overrides the default)."""
    state = client.app.state  # type: ignore[attr-defined]
    before = getattr(state, SYNC_TIMEOUT_STATE, None)
    setattr(state, SYNC_TIMEOUT_STATE, seconds)
    try:
        yield
    finally:
        if before is None:
            delattr(state, SYNC_TIMEOUT_STATE)
        else:
            setattr(state, SYNC_TIMEOUT_STATE, before)


def vidgate_id(client: TestClient, link: str) -> str:
    """The video a signed `video_url` names."""
    token = link.rsplit("/", 1)[1].removesuffix(".mp4")
    return video_id(runtime_of(client).output_links.job_id(FILES, token))


def video_of(operation_id: str) -> str:
    match = OPERATION.fullmatch(operation_id)
    assert match, operation_id
    return match[1]


def generate(client: TestClient, **body: Any) -> dict[str, Any]:
    """The `data` of a generate request Concurred's async way, or the job a sync one names."""
    response = client.post(GENERATE, json=body)
    assert response.status_code in (200, 504), response.text
    answer: dict[str, Any] = response.json()
    return answer["data"] if answer["success"] else answer["error"]


def submitted(client: TestClient, operation_id: str) -> dict[str, Any]:
    """The job's `Submitted` event, as vidgate's own history shows it."""
    events = client.get(f"/v1/videos/{video_of(operation_id)}/events").json()["data"]
    assert events[0]["type"] == "Submitted"
    data: dict[str, Any] = events[0]["data"]
    return data


def refused(client: TestClient, body: Any, status: int = 400, **request: Any) -> dict[str, Any]:
    """Concurred's error for a refused generate request, which appended nothing."""
    before = event_count(client)
    response = client.post(GENERATE, json=body, **request)
    assert response.status_code == status, response.text
    answer = response.json()
    assert answer["success"] is False and set(answer) == {"success", "error"}
    assert event_count(client) == before
    error: dict[str, Any] = answer["error"]
    return error


def poll(client: TestClient, operation_id: str, provider: str = "google") -> dict[str, Any]:
    """The status `data` of an operation, once it is done."""

    def done() -> dict[str, Any] | None:
        query = {"provider": provider, "operation_id": operation_id}
        data: dict[str, Any] = client.get(STATUS, params=query).json()["data"]
        return data if data["done"] else None

    result: dict[str, Any] = wait_for(done, timeout=30)
    return result


# The parameter table of POST /api/v1/video/generate, one test per row


def test_prompt_is_required_and_recorded(quiet):
    error = refused(quiet, {"model": "veo-3.1"})
    assert error == {
        "code": "missing_required_parameter",
        "message": "prompt is required",
        "param": "prompt",
    }
    assert refused(quiet, {"prompt": 7})["param"] == "prompt"
    answer = generate(quiet, prompt="A cinematic sunset over ocean waves, slow motion")
    assert submitted(quiet, answer["operation_id"])["prompt"].startswith("A cinematic sunset")


def test_model_defaults_to_veo_3_1_and_takes_the_six_documented_ids(quiet):
    assert generate(quiet, prompt="x")["model"] == "veo-3.1"
    for model in MODELS:
        image = {"image_url": png_data_uri()} if model.endswith("-i2v") else {}
        answer = generate(quiet, prompt="x", model=model, **image)
        assert submitted(quiet, answer["operation_id"])["model"] == model
    assert generate(quiet, prompt="x", model="")["model"] == "veo-3.1"
    for other in ("veo-3", "veo_3_1", "local-preview", 3):
        error = refused(quiet, {"prompt": "x", "model": other})
        assert (error["param"], error["code"]) == ("model", "model_not_found")
        assert "veo-3.1, veo-3.1-fast, kling-3-pro" in error["message"]


def test_image_url_takes_a_url_or_a_data_uri_and_switches_to_the_i2v_model(quiet):
    url = "https://example.com/still.png"
    veo = generate(quiet, prompt="x", image_url=url)
    assert submitted(quiet, veo["operation_id"])["inputs"]["image"] == {"url": url}
    assert submitted(quiet, veo["operation_id"])["params"]["mode"] == "image-to-video"
    for model in ("kling-3-pro", "wan-2.6"):
        job = generate(quiet, prompt="x", model=model, image_url=png_data_uri())
        event = submitted(quiet, job["operation_id"])
        assert event["model"] == f"{model}-i2v" and "sha256" in event["inputs"]["image"]
    for bad in ("ftp://example.com/a.png", "not a url", "data:image/png;base64,AAAA"):
        assert refused(quiet, {"prompt": "x", "image_url": bad})["param"] == "image_url"
    error = refused(quiet, {"prompt": "x", "model": "kling-3-pro-i2v"})
    assert error["param"] == "image_url" and "input_reference" not in error["message"]


@pytest.mark.parametrize("duration", ["4", "6", "8", 4, 8])
def test_duration_is_a_string_or_a_number_of_seconds(quiet, duration):
    answer = generate(quiet, prompt="x", duration=duration)
    assert submitted(quiet, answer["operation_id"])["params"]["seconds"] == str(duration)


def test_a_bad_duration_is_refused_naming_duration(quiet):
    error = refused(quiet, {"prompt": "x", "duration": "5"})
    assert error == {
        "code": "invalid_value",
        "param": "duration",
        "message": "duration must be one of 4, 6, 8 for veo-3.1; got 5",
    }
    for bad in ("eight", "8s", 8.5, True):
        assert refused(quiet, {"prompt": "x", "duration": bad})["param"] == "duration"
    kling = generate(quiet, prompt="x", model="kling-3-pro", duration="12")  # Kling 3: 3-15 s
    assert submitted(quiet, kling["operation_id"])["params"]["seconds"] == "12"


@pytest.mark.parametrize(("aspect_ratio", "size"), [("16:9", "1280x720"), ("9:16", "720x1280")])
def test_aspect_ratio_is_16_9_or_9_16(quiet, aspect_ratio, size):
    answer = generate(quiet, prompt="x", aspect_ratio=aspect_ratio)
    params = submitted(quiet, answer["operation_id"])["params"]
    assert (params["aspect_ratio"], params["size"]) == (aspect_ratio, size)
    error = refused(quiet, {"prompt": "x", "aspect_ratio": "1:1"})
    assert error["param"] == "aspect_ratio" and "16:9, 9:16" in error["message"]


@pytest.mark.parametrize(
    ("resolution", "size"), [("720p", "1280x720"), ("1080p", "1920x1080"), ("4k", "3840x2160")]
)
def test_resolution_is_720p_1080p_or_4k(quiet, resolution, size):
    answer = generate(quiet, prompt="x", resolution=resolution, duration="8")
    params = submitted(quiet, answer["operation_id"])["params"]
    assert (params["resolution"], params["size"]) == (resolution, size)
    assert refused(quiet, {"prompt": "x", "resolution": "480p"})["param"] == "resolution"


def test_1080p_and_4k_allow_only_8_seconds(quiet):
    error = refused(quiet, {"prompt": "x", "resolution": "4k", "duration": "4"})
    assert error["param"] == "duration" and "at 4k" in error["message"]


def test_unknown_parameters_and_bodies_that_are_no_json_object_are_refused(quiet):
    error = refused(quiet, {"prompt": "x", "seconds": "8"})
    assert (error["param"], error["code"]) == ("seconds", "unknown_parameter")
    assert set(FIELDS) == {"prompt", "model", "image_url", "duration", "aspect_ratio", "resolution"}
    assert refused(quiet, None, content=b"{nope")["param"] == "body"
    assert refused(quiet, None, content=b"[1]")["code"] == "invalid_json"
    text = {"Content-Type": "text/plain"}
    assert refused(quiet, None, 415, content=b"x", headers=text)["code"] == "unsupported_media_type"
    big = {"prompt": "x" * (70 * 1024)}
    assert refused(quiet, big, 413)["code"] == "request_too_large"


# The parameter table of GET /api/v1/video/status


def test_status_needs_the_provider_its_poll_url_names(quiet):
    operation = generate(quiet, prompt="x")["operation_id"]  # veo-3.1: google's
    for query, param in (
        ({"operation_id": operation}, "provider"),
        ({"operation_id": operation, "provider": "openai"}, "provider"),
        ({"operation_id": operation, "provider": "fal"}, "provider"),
        ({"provider": "google"}, "operation_id"),
        ({"provider": "google", "operation_id": operation, "x": "1"}, "x"),
    ):
        response = quiet.get(STATUS, params=query)
        assert response.status_code == 400, response.text
        assert response.json()["success"] is False
        assert response.json()["error"]["param"] == param
    data = quiet.get(STATUS, params={"provider": "google", "operation_id": operation}).json()
    expected = {"provider": "google", "operation_id": operation, "done": False}
    assert data == {"success": True, "data": expected}


def test_status_of_an_unknown_or_foreign_operation_is_a_404(quiet):
    operation = generate(quiet, prompt="x")["operation_id"]
    stranger = key_for(quiet, "someone-else")
    for op, headers in (
        (f"operations/video_{'0' * 32}", None),
        ("operations/abc123", None),
        (video_of(operation), None),
        (operation, stranger),
    ):
        response = quiet.get(
            STATUS, params={"provider": "google", "operation_id": op}, headers=headers
        )
        assert response.status_code == 404, response.text
        assert response.json()["error"] == {
            "code": "not_found",
            "param": "operation_id",
            "message": f"no operation {op!r}",
        }


# Answers


def test_veo_answers_at_once_with_an_operation_and_a_poll_url_that_works(gateway, doc):
    response = gateway.post(
        GENERATE,
        json={"model": "veo-3.1", "prompt": "a drone shot", "duration": "8", "resolution": "1080p"},
    )
    data = check(doc, "post", GENERATE, response)["data"]
    operation = data.pop("operation_id")
    vid = video_of(operation)
    assert data == {
        "model": "veo-3.1",
        "provider": "google",
        "status": "processing",
        "poll_url": f"/api/v1/video/status?provider=google&operation_id=operations%2F{vid}",
    }
    first = check(doc, "get", STATUS, gateway.get(data["poll_url"]))["data"]
    assert first["operation_id"] == operation and first["provider"] == "google"
    done = poll(gateway, operation)
    url = done.pop("video_url")
    assert done == {"provider": "google", "operation_id": operation, "done": True}
    assert VIDEO_LINK.fullmatch(url)
    check(doc, "get", STATUS, gateway.get(data["poll_url"]))
    video = gateway.get(url, headers={"Authorization": ""})  # a signed link: no key
    assert video.status_code == 200 and video.headers["content-type"] == "video/mp4"
    assert video.content == gateway.get(f"/v1/videos/{vid}/content").content


def test_kling_and_wan_block_until_the_video_is_ready(gateway, doc):
    response = gateway.post(GENERATE, json={"model": "kling-3-pro", "prompt": "a fox"})
    data = check(doc, "post", GENERATE, response)["data"]
    url = data.pop("video_url")
    assert data == {"model": "kling-3-pro", "provider": "fal", "status": "completed"}
    assert VIDEO_LINK.fullmatch(url)
    assert gateway.get(url, headers={"Authorization": ""}).status_code == 200


def test_a_sync_request_that_outlasts_its_timeout_says_how_to_follow_the_job(gateway, doc):
    with sync_timeout(gateway, 0.01):
        response = gateway.post(GENERATE, json={"model": "wan-2.6", "prompt": "a fox"})
    assert response.status_code == 504
    error = check(doc, "post", GENERATE, response)["error"]
    operation = error["operation_id"]
    assert error["code"] == "sync_timeout" and error["param"] is None
    assert (
        error["poll_url"] == f"/api/v1/video/status?provider=fal&operation_id="
        f"operations%2F{video_of(operation)}"
    )
    assert "keeps running" in error["message"] and error["poll_url"] in error["message"]
    assert VIDEO_LINK.fullmatch(poll(gateway, operation, provider="fal")["video_url"])


def test_a_canceled_sync_job_answers_409_and_polls_as_done_with_an_error(quiet, doc):
    before = runtime_of(quiet).gateway.recorder.max_notification_id() or 0

    def the_job() -> str | None:
        new = runtime_of(quiet).gateway.recorder.select_notifications(before + 1, 1)
        return video_id(new[0].originator_id) if new else None

    with sync_timeout(quiet, 30.0), ThreadPoolExecutor(1) as pool:
        waiting = pool.submit(quiet.post, GENERATE, json={"model": "kling-3-pro", "prompt": "x"})
        vid = wait_for(the_job, timeout=10)
        assert quiet.post(f"/v1/videos/{vid}/cancel").status_code == 200
        response = waiting.result(timeout=10)
    assert response.status_code == 409
    error = check(doc, "post", GENERATE, response)["error"]
    assert error["code"] == "canceled" and error["operation_id"] == f"operations/{vid}"
    status = quiet.get(STATUS, params={"provider": "fal", "operation_id": f"operations/{vid}"})
    assert check(doc, "get", STATUS, status)["data"]["error"] == {
        "code": "canceled",
        "message": "the video was canceled",
    }


def test_failed_jobs_answer_502_when_sync_and_poll_as_done_with_an_error(failing, doc):
    sync = failing.post(GENERATE, json={"model": "kling-3-pro", "prompt": "x"})
    assert sync.status_code == 502, sync.text
    error = check(doc, "post", GENERATE, sync)["error"]
    assert error["code"] and "did not complete" in error["message"]
    operation = generate(failing, prompt="x")["operation_id"]
    done = poll(failing, operation)
    assert set(done) == {"provider", "operation_id", "done", "error"}
    assert done["error"]["code"] and done["error"]["message"]


def test_every_model_of_the_document_completes_and_is_a_vidgate_video(gateway):
    image = png_data_uri()
    jobs = [  # (request, the model that makes it)
        *(({"model": m, "prompt": f"a fox ({m})"}, m) for m in MODELS if not m.endswith("-i2v")),
        *(
            ({"model": m, "prompt": "it comes alive", "image_url": image}, m)
            for m in MODELS
            if m.endswith("-i2v")
        ),
        ({"model": "veo-3.1", "prompt": "it comes alive", "image_url": image}, "veo-3.1"),
        (
            {"model": "kling-3-pro", "prompt": "it comes alive", "image_url": image},
            "kling-3-pro-i2v",
        ),
        ({"model": "wan-2.6", "prompt": "it comes alive", "image_url": image}, "wan-2.6-i2v"),
    ]
    with ThreadPoolExecutor(len(jobs)) as pool:
        answers = list(pool.map(lambda job: gateway.post(GENERATE, json=job[0]), jobs))
    for (request, model), response in zip(jobs, answers, strict=True):
        data = response.json()["data"]
        assert data["model"] == request["model"]  # as sent; the job runs `model`
        operation = data["operation_id"] if MODELS[model] == "google" else None
        if operation:
            data = poll(gateway, operation)
        assert VIDEO_LINK.fullmatch(data["video_url"])
        vid = video_of(operation) if operation else vidgate_id(gateway, data["video_url"])
        video = gateway.get(f"/v1/videos/{vid}").json()
        assert (video["status"], video["model"]) == ("completed", model)
        events = gateway.get(f"/v1/videos/{vid}/events").json()["data"]
        assert events[0]["data"]["surface"] == "concurred"
        assert "Completed" in {e["type"] for e in events}


# Errors of the surface


@pytest.mark.parametrize(
    ("authorization", "code"),
    [
        ("", "missing_api_key"),
        ("Basic abc", "invalid_api_key"),
        ("Bearer vg_nope", "invalid_api_key"),
    ],
)
def test_key_errors_come_in_concurreds_envelope(quiet, doc, authorization, code):
    headers = {"Authorization": authorization}
    query = {"provider": "google", "operation_id": "operations/x"}
    for method, path, response in (
        ("post", GENERATE, quiet.post(GENERATE, json={"prompt": "x"}, headers=headers)),
        ("get", STATUS, quiet.get(STATUS, params=query, headers=headers)),
    ):
        assert response.status_code == 401
        assert response.headers["www-authenticate"] == "Bearer"
        assert check(doc, method, path, response)["error"]["code"] == code


def test_a_read_only_key_may_poll_but_not_generate(quiet, doc):
    reader = key_for(quiet, "default", ("videos:read",))
    response = quiet.post(GENERATE, json={"prompt": "x"}, headers=reader)
    assert response.status_code == 403
    assert check(doc, "post", GENERATE, response)["error"]["code"] == "missing_scope"
    operation = generate(quiet, prompt="x")["operation_id"]
    status = quiet.get(
        STATUS, params={"provider": "google", "operation_id": operation}, headers=reader
    )
    assert status.status_code == 200


def test_refusals_match_the_document(quiet, doc):
    for body in ({"prompt": "x", "duration": "5"}, {"prompt": "x", "colour": "red"}):
        check(doc, "post", GENERATE, quiet.post(GENERATE, json=body))
    check(
        doc,
        "post",
        GENERATE,
        quiet.post(GENERATE, content=b"x", headers={"Content-Type": "text/plain"}),
    )
    check(doc, "get", STATUS, quiet.get(STATUS, params={"provider": "google"}))
    unknown = {"provider": "google", "operation_id": "operations/x"}
    check(doc, "get", STATUS, quiet.get(STATUS, params=unknown))


def test_jobs_are_listed_by_vidgate_with_their_surface(gateway):
    tenant = key_for(gateway, f"t-{uuid.uuid4().hex[:8]}")
    response = gateway.post(GENERATE, json={"prompt": "x"}, headers=tenant)
    vid = video_of(response.json()["data"]["operation_id"])

    def listed() -> bool:
        data = gateway.get("/v1/videos", headers=tenant).json()["data"]
        return [v["id"] for v in data] == [vid]

    wait_for(listed, timeout=10)
    history = gateway.get(f"/v1/videos/{vid}/events", headers=tenant).json()["data"]
    assert history[0]["data"]["surface"] == "concurred"


bodies = st.dictionaries(
    st.sampled_from([*FIELDS, "seconds", "extra"]),
    st.one_of(
        st.none(),
        st.booleans(),
        st.integers(-10, 20),
        st.floats(allow_nan=False, allow_infinity=False),
        st.text(max_size=12),
        st.sampled_from([*MODELS, "4", "8", "16:9", "4k", "1080p", "https://x.io/a.png"]),
        st.lists(st.integers(), max_size=2),
    ),
    max_size=5,
)


@hypothesis_settings(
    max_examples=80, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(body=bodies)
def test_any_body_gets_an_answer_or_a_400_never_a_500(quiet, body):
    before = event_count(quiet)
    response = quiet.post(GENERATE, json=body)
    assert response.status_code in (200, 400, 504), response.text
    if response.status_code == 400:
        assert response.json()["error"]["param"]
        assert event_count(quiet) == before


def test_the_documented_request_schema_takes_the_documents_example(doc):
    schema = doc["paths"][GENERATE]["post"]["requestBody"]["content"]["application/json"]["schema"]
    validator = OAS31Validator({**schema, "components": doc["components"]})
    example = {
        "model": "veo-3.1",
        "prompt": "A cinematic sunset over ocean waves, slow motion",
        "duration": "8",
        "aspect_ratio": "16:9",
        "resolution": "1080p",
    }
    assert set(schema["properties"]) == set(FIELDS)
    assert validator.is_valid(example) and validator.is_valid({**example, "duration": 8})
    assert not validator.is_valid({**example, "seconds": "8"})
    assert not validator.is_valid({"model": "veo-3.1"})
