"""Over HTTP: `/v1/models` lists the catalog with routes and availability, and a create-video
request for a catalog model records the route, upstream model and parameters it resolves to."""

from __future__ import annotations

import base64
import io
from typing import Any

import pytest
from PIL import Image
from starlette.testclient import TestClient

from events.ids import parse_video_id
from events.job import Job
from service.catalog import default_catalog
from tests.helpers import event_count, runtime_of

CATALOG = default_catalog()


def data_uri() -> str:
    out = io.BytesIO()
    Image.new("RGB", (64, 36), "teal").save(out, "PNG")
    return "data:image/png;base64," + base64.b64encode(out.getvalue()).decode()


def enable(client: TestClient, *providers: str) -> None:
    """Pretend these providers are configured (the runtime says which are)."""
    runtime_of(client).enabled_providers = frozenset({"local", *providers})  # type: ignore[misc]


def job_of(client: TestClient, video: dict[str, Any]) -> Job:
    job_id = parse_video_id(video["id"])
    assert job_id is not None
    job = runtime_of(client).gateway.find_job(job_id)
    assert job is not None
    return job


def error_of(response: Any) -> dict[str, Any]:
    assert response.status_code == 400, response.text
    error: dict[str, Any] = response.json()["error"]
    return error


# GET /v1/models


def test_the_list_holds_every_catalog_model_local_preview_first(client):
    body = client.get("/v1/models").json()
    assert body["object"] == "list"
    assert [m["id"] for m in body["data"]] == CATALOG.names()
    assert body["data"][0]["id"] == "local-preview"


def test_a_model_object_has_aliases_capabilities_pricing_and_routes(client):
    model = client.get("/v1/models/veo-3.1").json()
    assert {
        "id",
        "object",
        "created",
        "owned_by",
        "aliases",
        "capabilities",
        "pricing",
        "routes",
        "available",
        "provider",
    } <= set(model)
    assert (model["object"], model["owned_by"]) == ("model", "google")
    assert "veo_3_1" in model["aliases"]
    assert model["capabilities"]["seconds"]["allowed"] == [4, 6, 8]
    assert model["capabilities"]["resolutions"] == ["720p", "1080p", "4k"]
    assert model["pricing"]["per_second_usd_by_resolution"]["4k"] == 0.60
    assert model["routes"][0] == {
        "provider": "veo",
        "model": "veo-3.1-generate-preview",
        "image_model": None,
        "video_model": None,
    }


def test_only_models_with_an_enabled_provider_are_available(client):
    models = {m["id"]: m for m in client.get("/v1/models").json()["data"]}
    assert (models["local-preview"]["available"], models["local-preview"]["provider"]) == (
        True,
        "local",
    )
    assert (models["veo-3.1"]["available"], models["veo-3.1"]["provider"]) == (False, None)


def test_an_enabled_provider_makes_its_models_available_by_the_first_route(client):
    enable(client, "fal", "replicate")
    models = {m["id"]: m for m in client.get("/v1/models").json()["data"]}
    assert models["veo-3.1"]["provider"] == "fal"
    assert models["wan-2.5-fast"]["provider"] == "replicate"
    assert models["runway-gen4.5"]["available"] is False  # Runway only


@pytest.mark.parametrize(
    ("name", "model"),
    [
        ("veo_3_1", "veo-3.1"),
        ("kling-v2-5-turbo", "kling-2.5-turbo-pro"),
        ("fal-ai/kling-video/v2.5-turbo/pro/text-to-video", "kling-2.5-turbo-pro"),
        ("local", "local-preview"),
    ],
)
def test_one_model_is_found_by_any_alias(client, name, model):
    response = client.get(f"/v1/models/{name}")
    assert response.status_code == 200
    assert response.json()["id"] == model


# POST /v1/videos with a catalog model


def test_a_model_no_enabled_provider_serves_is_model_unavailable(client):
    error = error_of(client.post("/v1/videos", json={"model": "veo-3.1", "prompt": "a fox"}))
    assert (error["code"], error["param"]) == ("model_unavailable", "model")
    assert "veo, vertex-veo, fal, replicate" in error["message"]
    assert "VIDGATE_GEMINI_API_KEY" in error["message"]


def test_a_catalog_model_records_its_route_and_concrete_params(client):
    enable(client, "fal")
    response = client.post("/v1/videos", json={"model": "veo_3_1", "prompt": "a fox"})
    assert response.status_code == 202, response.text
    video = response.json()
    assert (video["model"], video["seconds"], video["size"]) == ("veo-3.1", "8", "1280x720")
    job = job_of(client, video)
    assert (job.provider, job.upstream_model) == ("fal", "fal-ai/veo3.1")
    assert job.params == {
        "seconds": "8",
        "size": "1280x720",
        "fps": 24,
        "seed": None,
        "negative_prompt": None,
        "aspect_ratio": "16:9",
        "resolution": "720p",
        "audio": True,
        "mode": "text-to-video",
        "requested_model": "veo_3_1",  # the alias, which the compatible APIs echo
    }
    assert job.cost_estimate == pytest.approx(0.40 * 8)


def test_an_image_switches_to_the_twin_and_its_image_endpoint(client):
    enable(client, "fal")
    body = {"model": "kling-3-pro", "prompt": "a fox", "image_url": "https://example.com/a.png"}
    video = client.post("/v1/videos", json=body).json()
    assert video["model"] == "kling-3-pro-i2v"
    job = job_of(client, video)
    assert job.upstream_model == "fal-ai/kling-video/v3/pro/image-to-video"
    assert job.inputs == {"image": {"url": "https://example.com/a.png"}}


def test_an_end_frame_is_stored_like_the_first_frame(client):
    enable(client, "veo")
    image = data_uri()
    body = {"model": "veo-3.1", "prompt": "a fox", "image_url": image, "end_image_url": image}
    job = job_of(client, client.post("/v1/videos", json=body).json())
    assert set(job.inputs) == {"image", "end_image"}
    assert job.inputs["end_image"] == job.inputs["image"]
    assert set(job.inputs["image"]) == {"sha256", "bytes", "content_type", "filename"}


def test_a_refused_catalog_request_names_the_field_and_writes_nothing(client):
    enable(client, "fal")
    before = event_count(client)
    body = {"model": "veo-3.1", "prompt": "a fox", "seconds": 5}
    error = error_of(client.post("/v1/videos", json=body))
    assert (error["param"], error["message"]) == (
        "seconds",
        "seconds must be one of 4, 6, 8 for veo-3.1; got 5",
    )
    assert event_count(client) == before
