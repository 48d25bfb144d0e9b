"""Over HTTP: creating videos (JSON, the SDK's multipart), idempotency, and refused input."""

from __future__ import annotations

import base64
import io
import json
import warnings
from dataclasses import replace

import httpx
import openai
import pytest
from PIL import Image
from starlette.testclient import TestClient

from service.app import create_app
from tests.conftest import ADMIN_KEY
from tests.helpers import TINY, event_count, key_for, submit, wait_for_status

JSON = {"content-type": "application/json"}


def png() -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (64, 36), "teal").save(buffer, "PNG")
    return buffer.getvalue()


def data_uri(data: bytes) -> str:
    return "data:image/png;base64," + base64.b64encode(data).decode()


def error_of(response, status: int) -> dict:
    assert response.status_code == status, response.text
    error = response.json()["error"]
    assert set(error) == {"message", "type", "param", "code"}
    return error


def sdk_request(**create_args) -> httpx.Request:
    """The request the `openai` SDK sends for `videos.create(**create_args)`."""
    sent: list[httpx.Request] = []

    def answer(request: httpx.Request) -> httpx.Response:
        sent.append(request)
        return httpx.Response(200, json={"id": "video_x", "object": "video"})

    http = httpx.Client(transport=httpx.MockTransport(answer))
    sdk = openai.OpenAI(api_key="unused", base_url="http://sdk/v1", http_client=http, max_retries=0)
    with warnings.catch_warnings():  # the SDK warns that its hosted Sora API will shut down
        warnings.simplefilter("ignore", DeprecationWarning)
        sdk.videos.create(**create_args)
    sent[0].read()
    return sent[0]


# creating


def test_a_json_request_is_accepted_as_a_queued_openai_video_object(client):
    response = client.post("/v1/videos", json=TINY)
    assert response.status_code == 202
    video = response.json()
    assert video["id"].startswith("video_")
    assert video["object"] == "video"
    assert (video["model"], video["status"], video["progress"]) == ("local-preview", "queued", 0)
    assert isinstance(video["created_at"], int)
    assert (video["seconds"], video["size"], video["prompt"]) == ("1", "160x90", TINY["prompt"])
    assert (video["error"], video["provider"], video["completed_at"]) == (None, "local", None)


def test_the_openai_sdks_multipart_request_with_an_input_reference_completes(client):
    fields = {key: str(value) for key, value in TINY.items()}
    request = sdk_request(**fields, input_reference=("ref.png", png(), "image/png"))
    assert request.headers["content-type"].startswith("multipart/form-data")
    response = client.post(
        "/v1/videos",
        content=request.content,
        headers={"content-type": request.headers["content-type"]},
    )
    assert response.status_code == 202, response.text
    done = wait_for_status(client, response.json()["id"])
    assert (done["output"]["width"], done["output"]["height"]) == (160, 90)


def test_an_input_reference_image_url_form_field_with_a_data_uri_completes(client):
    form = {**TINY, "input_reference[image_url]": data_uri(png())}
    response = client.post("/v1/videos", data=form)
    assert response.status_code == 202, response.text
    assert wait_for_status(client, response.json()["id"])["status"] == "completed"


def test_an_image_url_data_uri_in_json_completes(client):
    video = submit(client, image_url=data_uri(png()))
    assert wait_for_status(client, video["id"])["status"] == "completed"


def test_a_form_urlencoded_request_is_accepted(client):
    assert client.post("/v1/videos", data=TINY).status_code == 202


def test_an_unfinished_video_tells_the_client_when_to_poll_again(client):
    response = client.post("/v1/videos", json=TINY)
    assert response.headers["openai-poll-after-ms"] == "50"
    video_id = response.json()["id"]
    wait_for_status(client, video_id)
    assert "openai-poll-after-ms" not in client.get(f"/v1/videos/{video_id}").headers


# Idempotency-Key


def test_a_retry_with_the_same_idempotency_key_and_body_returns_the_same_video(client):
    first = client.post("/v1/videos", json=TINY, headers={"Idempotency-Key": "k-1"})
    again = client.post("/v1/videos", json=TINY, headers={"Idempotency-Key": "k-1"})
    assert (first.status_code, again.status_code) == (202, 200)
    assert again.json()["id"] == first.json()["id"]


def test_an_equivalent_body_counts_as_the_same_request(client):
    first = client.post("/v1/videos", json=TINY, headers={"Idempotency-Key": "k-2"})
    again = client.post(
        "/v1/videos", json={**TINY, "seconds": 1}, headers={"Idempotency-Key": "k-2"}
    )
    assert (again.status_code, again.json()["id"]) == (200, first.json()["id"])


def test_the_same_idempotency_key_with_a_different_body_is_409(client):
    first = client.post("/v1/videos", json=TINY, headers={"Idempotency-Key": "k-3"})
    wait_for_status(client, first.json()["id"])  # its render appends no more events
    before = event_count(client)
    response = client.post(
        "/v1/videos", json={**TINY, "prompt": "another"}, headers={"Idempotency-Key": "k-3"}
    )
    error = error_of(response, 409)
    assert (error["code"], error["param"]) == ("idempotency_key_reused", "Idempotency-Key")
    assert event_count(client) == before


def test_the_same_idempotency_key_from_another_tenant_is_a_different_video(client):
    ours = client.post("/v1/videos", json=TINY, headers={"Idempotency-Key": "k-4"})
    theirs = client.post(
        "/v1/videos", json=TINY, headers={**key_for(client, "acme"), "Idempotency-Key": "k-4"}
    )
    assert (ours.status_code, theirs.status_code) == (202, 202)
    assert theirs.json()["id"] != ours.json()["id"]


@pytest.mark.parametrize("key", ["x" * 256, "   ", "tab\tinside"])
def test_a_malformed_idempotency_key_is_400(client, key):
    response = client.post("/v1/videos", json=TINY, headers={"Idempotency-Key": key})
    assert error_of(response, 400)["param"] == "Idempotency-Key"


# refused input: a 4xx naming the field, and nothing appended to the event log


def garbage_upload() -> dict:
    return {"data": TINY, "files": {"input_reference": ("ref.png", b"not a png", "image/png")}}


def upload_and_nested_url() -> dict:
    """`input_reference` both as a file and as `input_reference[image_url]` (sent first)."""
    nested = {**TINY, "input_reference[image_url]": data_uri(png())}
    return {"data": nested, "files": {"input_reference": ("ref.png", png(), "image/png")}}


REFUSED = {
    "invalid JSON": ({"content": b'{"prompt": ', "headers": JSON}, 400, "body", "invalid_json"),
    "a JSON array": ({"content": b"[1, 2]", "headers": JSON}, 400, "body", "invalid_json"),
    "an empty body": ({"content": b"", "headers": JSON}, 400, "body", "invalid_json"),
    "deeply nested JSON": (
        {"content": b"[" * 100_000, "headers": JSON},
        400,
        "body",
        "invalid_json",
    ),
    "a lone surrogate": (
        {"content": b'{"prompt": "a\\ud800b"}', "headers": JSON},
        400,
        "body",
        "invalid_json",
    ),
    "text/plain": (
        {"content": b"a fox", "headers": {"content-type": "text/plain"}},
        415,
        "Content-Type",
        "unsupported_media_type",
    ),
    "multipart without a boundary": (
        {"content": b"--x\r\n", "headers": {"content-type": "multipart/form-data"}},
        400,
        "body",
        "invalid_form",
    ),
    "an unknown model": ({"json": {**TINY, "model": "sora-9"}}, 400, "model", "model_not_found"),
    "a too-long prompt": ({"json": {**TINY, "prompt": "x" * 4001}}, 400, "prompt", "too_long"),
    "a NUL in the prompt": ({"json": {**TINY, "prompt": "a\x00b"}}, 400, "prompt", "invalid_value"),
    "a bad size": ({"json": {**TINY, "size": "161x90"}}, 400, "size", "invalid_value"),
    "an unknown field": ({"json": {**TINY, "motion": "high"}}, 400, "motion", "unknown_parameter"),
    "a style on a model without styles": (
        {"json": {**TINY, "style": "anime"}},
        400,
        "style",
        "unsupported_parameter",
    ),
    "an unreadable upload": (garbage_upload(), 400, "input_reference", "invalid_image"),
    "a file and a nested URL": (upload_and_nested_url(), 400, "input_reference", "invalid_value"),
}


@pytest.mark.parametrize(("request_args", "status", "param", "code"), REFUSED.values(), ids=REFUSED)
def test_refused_input_names_the_field_and_appends_nothing(
    client, request_args, status, param, code
):
    before = event_count(client)
    error = error_of(client.post("/v1/videos", **request_args), status)
    assert (error["param"], error["code"]) == (param, code)
    assert event_count(client) == before


@pytest.fixture
def small_body_client(settings):
    app = create_app(replace(settings, max_body_bytes=1024))
    with TestClient(app, headers={"Authorization": f"Bearer {ADMIN_KEY}"}) as test_client:
        yield test_client


@pytest.mark.parametrize("streamed", [False, True], ids=["content-length", "chunked"])
def test_a_body_over_the_limit_is_413_and_appends_nothing(small_body_client, streamed):
    before = event_count(small_body_client)
    body = json.dumps({**TINY, "prompt": "x" * 2000}).encode()
    content = iter([body[:1000], body[1000:]]) if streamed else body
    response = small_body_client.post("/v1/videos", content=content, headers=JSON)
    assert error_of(response, 413)["code"] == "request_too_large"
    assert event_count(small_body_client) == before


def test_a_body_within_the_limit_is_accepted_by_the_same_gateway(small_body_client):
    assert small_body_client.post("/v1/videos", json=TINY).status_code == 202
