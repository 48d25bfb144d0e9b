"""The v2 API facade (`/v2/videos/generate`, `/v2/jobs/{jobId}`) in-process, on each store.

Every field of the seed's table (and every model parameter vidgate maps) is accepted, mapped
onto the canonical fields and refused with a v2 400 naming it; all 31 model ids complete;
every error the seed lists comes in the v2 shape; the jobs are vidgate jobs (`/v1/videos`).
"""

from __future__ import annotations

import json
import re
import sqlite3
import time
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import psycopg
import pytest
from hypothesis import given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st
from starlette.testclient import TestClient

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
from tests.helpers import event_count, key_for, wait_for
from tests.webhook_receiver import Receiver

GENERATE, JOB = "/v2/videos/generate", "/v2/jobs/{jobId}"
# The seed's "Available models", in its order.
V2_MODELS = [
    "grok-imagine-video",
    "hailuo-02",
    "hailuo-2.3",
    "hailuo-2.3-fast",
    "luma-ray-2",
    "luma-ray-flash-2",
    "kling-2.1",
    "kling-2.1-master",
    "kling-2.5-turbo-pro",
    "kling-2.6",
    "kling-3.0",
    "midjourney-video",
    "runway-gen4-turbo",
    "runway-gen4.5",
    "seedance-1-lite",
    "seedance-1-pro",
    "seedance-1-pro-fast",
    "seedance-1.5-pro",
    "seedance-2",
    "seedance-2-fast",
    "sora-2",
    "sora-2-pro",
    "veo-2",
    "veo-3",
    "veo-3-fast",
    "veo-3.1",
    "veo-3.1-fast",
    "wan-2.5",
    "wan-2.5-fast",
    "wan-2.6",
    "wan-2.6-flash",
]
IMAGE_ONLY = {
    "hailuo-2.3-fast",
    "kling-2.1",
    "midjourney-video",
    "runway-gen4-turbo",
    "wan-2.6-flash",
}
HOOK = "https://hooks.example.com/v2"
VIDEO_LINK = re.compile(r"http://testserver/v2/files/[\w.-]+\.mp4")
JSON = {"Content-Type": "application/json"}


@pytest.fixture(scope="module", params=STORES)
def store(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture(scope="module")
def api(store: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    """A gateway that records v2 jobs (every model available) and never runs them."""
    with gateway(store, tmp_path_factory.mktemp("v2") / "var", validating) as client:
        yield client


@pytest.fixture(scope="module")
def studio(store: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    """A gateway whose jobs really run, every model against its emulator."""
    with gateway(store, tmp_path_factory.mktemp("v2-studio") / "var", rendering) as client:
        yield client


def generate(client: TestClient, **body: Any) -> Any:
    return client.post(GENERATE, json={"prompt": "a fox in snow", "model": "veo-3.1", **body})


def accepted(client: TestClient, **body: Any) -> dict[str, Any]:
    """The `Submitted` data of a v2 request that was accepted."""
    response = generate(client, **body)
    assert response.status_code == 202, response.text
    answer = documented("post", GENERATE, response)
    return submitted(client, v1_id(answer["jobId"]))


def refused(client: TestClient, field: str, **body: Any) -> dict[str, Any]:
    """A v2 400 naming `field`."""
    response = generate(client, **body)
    assert response.status_code == 400, response.text
    error: dict[str, Any] = documented("post", GENERATE, response)
    assert error["error"] == "Validation error"
    assert error["field"] == field, error
    return error


def v1_id(job_id: str) -> str:
    return f"video_{uuid.UUID(job_id).hex}"


# The common request body, row by row


def test_prompt_is_required_and_one_to_4000_characters(api):
    assert accepted(api, prompt="x")["prompt"] == "x"
    assert accepted(api, prompt="y" * 4000)["prompt"] == "y" * 4000
    refused(api, "prompt", prompt=None)
    refused(api, "prompt", prompt="   ")
    assert "4,000" in refused(api, "prompt", prompt="z" * 4001)["message"]
    refused(api, "prompt", prompt=42)


def test_model_is_required_and_resolved_through_the_catalog(api):
    assert accepted(api, model="veo-3.1-fast")["model"] == "veo-3.1-fast"
    assert accepted(api, model="veo_3_1")["model"] == "veo-3.1"  # an alias works too
    refused(api, "model", model=None)
    assert refused(api, "model", model="no-such-model")["code"] == "model_not_found"
    refused(api, "model", model=7)


def test_webhook_url_becomes_the_jobs_client_webhook_with_the_seeds_events(api):
    webhook = accepted(api, webhookUrl=HOOK)["webhook"]
    assert webhook == {"url": HOOK, "events": ["progress", "completed", "failed"]}
    asked = accepted(api, webhookUrl=HOOK, webhookEvents=["failed", "canceled"])["webhook"]
    assert asked["events"] == ["failed", "canceled"]  # canceled only when asked for
    refused(api, "webhookUrl", webhookUrl="ftp://example.com/x")
    refused(api, "webhookUrl", webhookUrl="http://user:pw@example.com/x")


def test_webhook_events_filter_the_jobs_client_webhook(api):
    chosen = accepted(api, webhookUrl=HOOK, webhookEvents=["completed", "failed"])
    assert chosen["webhook"]["events"] == ["completed", "failed"]
    assert accepted(api, webhookUrl=HOOK, webhookEvents=["progress"])["webhook"]["events"] == [
        "progress"
    ]
    refused(api, "webhookEvents", webhookUrl=HOOK, webhookEvents=["done"])
    refused(api, "webhookEvents", webhookUrl=HOOK, webhookEvents=5)
    refused(api, "webhookEvents", webhookEvents=["completed"])  # without a webhookUrl


def test_parameters_is_an_object_of_known_model_parameters(api):
    assert accepted(api, parameters={})["params"]["seconds"] == "8"  # the model's default
    refused(api, "parameters", parameters="8 seconds")
    error = refused(api, "parameters.camera", parameters={"camera": "dolly"})
    assert error["code"] == "unknown_parameter"
    refused(api, "colour", colour="red")  # an unknown top-level field too


# Each model's own parameters: in `parameters` (or at the top level), checked by the catalog


@pytest.mark.parametrize(
    ("name", "value", "model", "recorded", "bad"),
    [
        ("duration", 4, "veo-3.1", ("seconds", "4"), 5),
        ("duration", "6", "veo-3.1", ("seconds", "6"), "six"),
        ("resolution", "1080p", "veo-3.1", ("resolution", "1080p"), "8k"),
        ("aspectRatio", "9:16", "veo-3.1", ("aspect_ratio", "9:16"), "1:1"),
        ("aspect_ratio", "1:1", "kling-2.6", ("aspect_ratio", "1:1"), "4:3"),
        ("fps", 50, "ltx-2-fast", ("fps", 50), 30),
        ("seed", 42, "veo-3.1", ("seed", 42), -1),
        ("negativePrompt", "blur", "veo-3.1", ("negative_prompt", "blur"), 5),
        ("negative_prompt", "blur", "kling-2.6", ("negative_prompt", "blur"), ["x"]),
        ("generateAudio", False, "veo-3.1", ("audio", False), "loud"),
        ("generate_audio", True, "veo-3", ("audio", True), 3),
        ("audio", True, "sora-2", ("audio", True), "yes please"),
    ],
)
def test_each_model_parameter_is_mapped_and_checked(api, name, value, model, recorded, bad):
    for where in ("parameters", "top level"):
        given = {"parameters": {name: value}} if where == "parameters" else {name: value}
        params = accepted(api, model=model, **given)["params"]
        assert params[recorded[0]] == recorded[1], (where, params)
    refused(api, f"parameters.{name}", model=model, parameters={name: bad})
    refused(api, name, model=model, **{name: bad})


def test_a_model_without_a_feature_refuses_its_parameter(api):
    refused(api, "parameters.seed", model="sora-2", parameters={"seed": 1})
    refused(api, "parameters.generateAudio", model="veo-2", parameters={"generateAudio": True})
    refused(api, "parameters.negativePrompt", model="sora-2", parameters={"negativePrompt": "x"})


def test_refusals_speak_of_the_fields_the_client_sent(api):
    error = refused(api, "parameters.duration", model="veo-3.1", parameters={"duration": 5})
    assert error["message"] == "parameters.duration must be one of 4, 6, 8 for veo-3.1; got 5"


def test_image_url_makes_an_image_to_video_job(api):
    job = accepted(api, model="veo-3.1", parameters={"imageUrl": "https://example.com/a.png"})
    assert job["params"]["mode"] == "image-to-video"
    assert job["inputs"]["image"] == {"url": "https://example.com/a.png"}
    stored = accepted(api, model="kling-2.1", image_url=PNG)["inputs"]["image"]
    assert stored["content_type"] == "image/png" and len(stored["sha256"]) == 64
    refused(api, "parameters.imageUrl", parameters={"imageUrl": "not a url"})
    refused(api, "parameters.imageUrl", model="sora-2-pro", parameters={"imageUrl": 5})


def test_an_image_to_video_model_needs_its_image(api):
    error = refused(api, "parameters.imageUrl", model="midjourney-video")
    assert error["code"] == "missing_required_parameter"


def test_end_image_url_is_a_last_frame(api):
    frames = {"imageUrl": PNG, "endImageUrl": "https://example.com/last.png"}
    job = accepted(api, model="veo-3.1", parameters=frames)
    assert job["inputs"]["end_image"] == {"url": "https://example.com/last.png"}
    assert accepted(api, model="kling-3.0", image_url=PNG, end_image_url=PNG)["inputs"]["end_image"]
    refused(api, "parameters.endImageUrl", model="veo-3", parameters=frames)  # no end frame
    refused(api, "parameters.endImageUrl", parameters={"endImageUrl": PNG})  # no first frame


def test_a_parameter_given_in_both_places_is_refused(api):
    error = refused(api, "parameters.duration", duration=4, parameters={"duration": 6})
    assert "once" in error["message"]
    refused(api, "parameters.aspectRatio", aspect_ratio="16:9", parameters={"aspectRatio": "9:16"})


# Answers and errors in the v2 shape


def test_generate_answers_202_with_the_job_id_and_queued(api):
    response = generate(api)
    assert response.status_code == 202
    answer = documented("post", GENERATE, response)
    assert set(answer) == {"jobId", "status"} and answer["status"] == "QUEUED"
    assert str(uuid.UUID(answer["jobId"])) == answer["jobId"]


def test_a_queued_job_polls_in_the_v2_shape(api):
    job_id = generate(api).json()["jobId"]
    job = documented("get", JOB, api.get(f"/v2/jobs/{job_id}"))
    assert job["jobId"] == job_id and job["status"] == "QUEUED" and job["progress"] == 0
    assert job["result"] is None and job["error"] is None and job["completedAt"] is None
    assert job["createdAt"].endswith("Z") and job["model"] == "veo-3.1"
    assert api.get(f"/v2/jobs/{v1_id(job_id)}").json()["jobId"] == job_id  # `video_…` works too


def test_unknown_and_other_tenants_jobs_are_404(api):
    mine = generate(api).json()["jobId"]
    stranger = key_for(api, "someone-else")
    for job_id, headers in (("nope", None), (str(uuid.uuid4()), None), (mine, stranger)):
        response = api.get(f"/v2/jobs/{job_id}", headers=headers)
        assert response.status_code == 404
        assert documented("get", JOB, response)["error"] == "Not found"


def test_keys_are_checked_in_the_v2_shape(api):
    for headers in ({"Authorization": ""}, {"Authorization": "Bearer vg_unknown"}):
        for response in (
            api.post(GENERATE, json={}, headers=headers),
            api.get(f"/v2/jobs/{uuid.uuid4()}", headers=headers),
        ):
            assert response.status_code == 401
            assert response.headers["www-authenticate"] == "Bearer"
            assert response.json()["error"] == "Unauthorized"
    reader = key_for(api, "default", ("videos:read",))
    forbidden = api.post(GENERATE, json={"prompt": "x", "model": "veo-3"}, headers=reader)
    assert forbidden.status_code == 403
    assert documented("post", GENERATE, forbidden)["code"] == "missing_scope"


def test_bodies_that_are_not_json_objects_are_v2_400s_413s_and_415s(api):
    bad_json = api.post(GENERATE, content=b"{", headers={"Content-Type": "application/json"})
    assert bad_json.status_code == 400 and bad_json.json()["field"] == "body"
    text = api.post(GENERATE, content=b"x", headers={"Content-Type": "text/plain"})
    assert text.status_code == 415 and documented("post", GENERATE, text)["error"]
    huge = api.post(GENERATE, json={"prompt": "x" * 3_000_000, "model": "veo-3"})
    assert huge.status_code == 413
    assert documented("post", GENERATE, huge)["error"] == "Payload too large"


def test_a_refused_request_appends_nothing(api):
    before = event_count(api)
    refused(api, "parameters.duration", parameters={"duration": 5})
    refused(api, "webhookUrl", webhookUrl="nope")
    assert event_count(api) == before


scalars = (
    st.none()
    | st.booleans()
    | st.integers(-(2**40), 2**40)
    | st.floats()
    | st.text(max_size=20)
    | st.sampled_from(["veo-3.1", "kling-2.1", "4", "1080p", "16:9", PNG])
)
values = st.recursive(
    scalars,
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3)
    ),
    max_leaves=6,
)
ids = st.text(
    alphabet=st.characters(
        min_codepoint=33, blacklist_characters="/?#%", blacklist_categories=["Cs", "Cc"]
    ),
    max_size=40,
)
fields = st.sampled_from(
    [
        "prompt",
        "model",
        "webhookUrl",
        "webhookEvents",
        "duration",
        "imageUrl",
        "generateAudio",
        "seed",
        "colour",
    ]
)
bodies = st.dictionaries(fields, values, max_size=5).flatmap(
    lambda top: st.dictionaries(fields, values, max_size=4).map(
        lambda inner: {**top, "parameters": inner} if inner else top
    )
)


@hypothesis_settings(max_examples=60, deadline=None)
@given(body=bodies, job_id=ids)
def test_no_body_or_job_id_gets_a_500(api, body, job_id):
    before = event_count(api)
    response = api.post(GENERATE, content=json.dumps(body), headers=JSON)
    assert response.status_code in (202, 400), response.text
    if response.status_code == 400:
        assert set(response.json()) == {"error", "message", "code", "field"}
        assert event_count(api) == before
    assert api.get(f"/v2/jobs/{job_id}x").status_code == 404


def test_the_store_down_is_a_v2_503(settings):
    with client_for(validating(settings)) as client:
        assert generate(client).status_code == 202  # the key is cached from here on
        break_the_event_store(settings)
        response = generate(client)
    assert response.status_code == 503
    assert response.headers["retry-after"] == "2"
    assert documented("post", GENERATE, response) == {
        "error": "Service unavailable",
        "code": "store_unavailable",
        "field": None,
        "message": "the store is unavailable; nothing was saved, retry shortly",
    }


def break_the_event_store(settings: Any) -> None:
    if settings.database_url is None:
        with sqlite3.connect(settings.data_dir / "events.sqlite") as conn:
            conn.execute("DROP TABLE stored_events")
    else:
        with psycopg.connect(settings.database_url, autocommit=True) as conn:
            conn.execute(f'DROP TABLE "{settings.database_schema}".vidgate_events')


# Jobs really run, and are vidgate jobs


def test_every_model_of_the_seed_completes_through_the_facade(studio):
    def submit(model: str) -> str:
        parameters = {"imageUrl": PNG} if model in IMAGE_ONLY else {}
        response = studio.post(
            GENERATE, json={"prompt": f"a fox ({model})", "model": model, "parameters": parameters}
        )
        assert response.status_code == 202, (model, response.text)
        job_id: str = response.json()["jobId"]
        return job_id

    with ThreadPoolExecutor(8) as pool:
        jobs = dict(zip(pool.map(submit, V2_MODELS), V2_MODELS, strict=True))
    final = wait_all(studio, list(jobs), timeout=90)
    problems = {
        jobs[j]: (b["status"], b["error"]) for j, b in final.items() if b["status"] != "COMPLETED"
    }
    assert not problems, problems
    for job_id, body in final.items():
        assert body["model"] == jobs[job_id] and body["progress"] == 100
        assert VIDEO_LINK.fullmatch(body["result"]["videoUrl"])


def wait_all(client: TestClient, job_ids: list[str], timeout: float) -> dict[str, Any]:
    final: dict[str, Any] = {}
    deadline = time.monotonic() + timeout
    while len(final) < len(job_ids) and time.monotonic() < deadline:
        for job_id in set(job_ids) - set(final):
            body = documented("get", JOB, client.get(f"/v2/jobs/{job_id}"))
            if body["status"] not in ("QUEUED", "PROCESSING"):
                final[job_id] = body
        time.sleep(0.1)
    assert len(final) == len(job_ids), f"unfinished: {set(job_ids) - set(final)}"
    return final


def test_a_v2_job_is_a_vidgate_video_with_its_history(studio):
    job_id = generate(studio, model="veo-3.1-fast", parameters={"duration": 4}).json()["jobId"]
    wait_all(studio, [job_id], timeout=30)
    video = wait_for(lambda: stored(studio, v1_id(job_id)))
    assert (video["status"], video["model"], video["seconds"]) == ("completed", "veo-3.1-fast", "4")
    done = studio.get(f"/v2/jobs/{job_id}").json()
    assert done["result"]["width"] == video["output"]["width"]  # as the mirror measured it
    events = history(studio, v1_id(job_id))
    assert events[0]["data"]["surface"] == "v2"
    assert [e["type"] for e in events][-2:] == ["Completed", "OutputStored"]
    listed = studio.get("/v1/videos", params={"limit": 100}).json()["data"]
    assert v1_id(job_id) in {v["id"] for v in listed}
    content = studio.get(done["result"]["videoUrl"], headers={"Authorization": ""})  # no key
    assert content.status_code == 200 and content.headers["content-type"] == "video/mp4"
    thumbnail = studio.get(done["result"]["thumbnailUrl"], headers={"Authorization": ""})
    assert thumbnail.status_code == 200 and thumbnail.content[:3] == b"\xff\xd8\xff"


def stored(client: TestClient, video_id: str) -> dict[str, Any] | None:
    video: dict[str, Any] = client.get(f"/v1/videos/{video_id}").json()
    return video if (video["output"] or {}).get("sha256") else None


def test_a_failed_job_polls_failed_with_its_error_and_tells_its_webhook(settings):
    with Receiver() as receiver, client_for(rendering(settings, fail_rate=1.0)) as client:
        hook = {"webhookUrl": f"{receiver.url}/v2", "webhookEvents": ["failed"]}
        answer = generate(client, model="veo-3-fast", parameters={"duration": 4}, **hook)
        job_id = answer.json()["jobId"]
        job = wait_all(client, [job_id], timeout=30)[job_id]
        told = receiver.wait_for(lambda received: received, timeout=30)[0]
    assert job["status"] == "FAILED" and job["result"] is None
    assert job["error"]["code"] and job["error"]["message"]
    assert job["completedAt"] is not None
    payload = json.loads(told.body)
    assert (payload["event"], payload["jobId"], payload["status"]) == ("failed", job_id, "FAILED")
    assert payload["error"] == job["error"] and payload["result"] is None
