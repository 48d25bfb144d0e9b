"""Over HTTP: who may call what, tenant isolation, models, and the operational routes."""

from __future__ import annotations

import pytest

from events.apikey import VIDEOS_READ
from service.runtime import issue_key
from tests.helpers import TINY, key_for, runtime_of, submit, wait_for_status


def error_of(response, status: int) -> dict:
    """The OpenAI-shaped error of `response`, after checking its status."""
    assert response.status_code == status, response.text
    error = response.json()["error"]
    assert set(error) == {"message", "type", "param", "code"}
    return error


def bearer(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


# authentication and scopes


def test_a_request_without_an_api_key_is_401_missing_api_key(client):
    response = client.get("/v1/videos", headers={"Authorization": ""})
    assert error_of(response, 401)["code"] == "missing_api_key"
    assert response.headers["www-authenticate"] == "Bearer"


@pytest.mark.parametrize(
    "authorization",
    ["Basic dXNlcjpwYXNz", "Bearer", "Bearer    ", "vg_test_admin_key_0001", "Bearer vg_unknown"],
)
def test_a_wrong_scheme_or_unknown_key_is_401_invalid_api_key(client, authorization):
    response = client.get("/v1/videos", headers={"Authorization": authorization})
    assert error_of(response, 401)["code"] == "invalid_api_key"


def test_a_read_only_key_may_list_and_read_but_not_create(client):
    reader = key_for(client, "default", (VIDEOS_READ,))
    video = submit(client)
    assert error_of(client.post("/v1/videos", json=TINY, headers=reader), 403)["code"] == (
        "missing_scope"
    )
    assert client.get("/v1/videos", headers=reader).status_code == 200
    assert client.get(f"/v1/videos/{video['id']}", headers=reader).status_code == 200
    assert client.post(f"/v1/videos/{video['id']}/cancel", headers=reader).status_code == 403


def test_a_revoked_key_is_401(client):
    # The authenticator caches a *valid* key for up to 5 s per process (auth.CACHE_SECONDS),
    # so revocation is tested on a key that was never used before it was revoked.
    rt = runtime_of(client)
    key = issue_key(rt, "default")
    rt.gateway.revoke_key(rt.hasher.hash(key), by="test")
    assert error_of(client.get("/v1/videos", headers=bearer(key)), 401)["code"] == (
        "invalid_api_key"
    )


def test_a_key_of_another_tenant_starts_with_an_empty_list(client):
    submit(client)
    assert client.get("/v1/videos", headers=key_for(client, "acme")).json()["data"] == []


# tenant isolation: another tenant's job does not exist for you


@pytest.mark.parametrize(
    ("method", "suffix"),
    [("GET", ""), ("GET", "/content"), ("POST", "/cancel"), ("DELETE", ""), ("GET", "/events")],
)
def test_another_tenants_video_is_404_never_403(client, method, suffix):
    video = submit(client)
    other = key_for(client, "acme")
    response = client.request(method, f"/v1/videos/{video['id']}{suffix}", headers=other)
    assert error_of(response, 404)["param"] == "video_id"
    assert client.get(f"/v1/videos/{video['id']}").json()["status"] != "canceled"


def test_a_video_deleted_by_another_tenant_attempt_is_still_there(client):
    video = submit(client)
    client.delete(f"/v1/videos/{video['id']}", headers=key_for(client, "acme"))
    assert wait_for_status(client, video["id"])["id"] == video["id"]


@pytest.mark.parametrize(
    "video_id",
    ["nope", "video_", "video_123", "video_" + "z" * 32, "video_" + "0" * 31 + "-", "0" * 32],
)
def test_a_malformed_video_id_is_404(client, video_id):
    for suffix in ("", "/content", "/events"):
        assert error_of(client.get(f"/v1/videos/{video_id}{suffix}"), 404)["param"] == "video_id"


def test_a_well_formed_but_unknown_video_id_is_404(client):
    assert client.get("/v1/videos/video_" + "0" * 32).status_code == 404


# models


def test_models_list_local_preview_with_its_capabilities(client):
    body = client.get("/v1/models").json()
    assert body["object"] == "list"
    (model,) = [m for m in body["data"] if m["id"] == "local-preview"]
    assert model["object"] == "model"
    assert (model["owned_by"], model["provider"]) == ("vidgate", "local")
    seconds = model["capabilities"]["seconds"]
    assert (seconds["min"], seconds["max"], seconds["default"]) == (1, 20, 4)
    assert "image-to-video" in model["capabilities"]["modes"]


def test_a_model_is_found_by_its_alias(client):
    response = client.get("/v1/models/local")
    assert response.status_code == 200
    assert response.json()["id"] == "local-preview"


def test_an_unknown_model_is_404(client):
    assert error_of(client.get("/v1/models/sora-9"), 404)["param"] == "model"


def test_models_need_an_api_key(client):
    assert client.get("/v1/models", headers={"Authorization": ""}).status_code == 401


# operational routes and routing errors


def test_healthz_and_readyz_answer_200_without_a_key(client):
    for path in ("/healthz", "/readyz"):
        assert client.get(path, headers={"Authorization": ""}).status_code == 200
    assert client.get("/readyz").json()["store"] in ("sqlite", "postgresql")


def test_an_unknown_route_is_a_404_in_the_error_shape(client):
    error = error_of(client.get("/v1/nothing-here"), 404)
    assert error["code"] == "not_found"
    assert "/v1/nothing-here" in error["message"]


def test_a_wrong_method_is_a_405_in_the_error_shape(client):
    response = client.put("/v1/videos", json=TINY)
    assert error_of(response, 405)["code"] == "method_not_allowed"
    assert "POST" in response.headers["allow"]
