"""A route that can't pass on what a request asks is never taken for it: the Gemini API takes
no seed and no `generateAudio`, so a Veo request with a seed (or Veo 3 without sound) goes
another enabled way, or is refused naming the field — never sent with it dropped."""

from __future__ import annotations

from dataclasses import replace

import pytest
from starlette.testclient import TestClient

from service.app import create_app
from service.settings import ProviderSettings
from tests.conftest import ADMIN_KEY

GEMINI_ONLY = ProviderSettings(gemini_api_key="g")
GEMINI_AND_FAL = ProviderSettings(gemini_api_key="g", fal_key="f", fal_user_id="u")


@pytest.fixture
def gateway(settings, request):
    """A web-only gateway (nothing is dispatched) with the providers the test names."""
    providers = request.param
    app = create_app(replace(settings, run_workers=False, providers=providers))
    with TestClient(app, headers={"Authorization": f"Bearer {ADMIN_KEY}"}) as client:
        yield client


def provider_of(client: TestClient, **body) -> str:
    response = client.post("/v1/videos", json={"prompt": "a fox", **body})
    assert response.status_code == 202, response.text
    events = client.get(f"/v1/videos/{response.json()['id']}/events").json()["data"]
    return str(events[0]["data"]["provider"])


@pytest.mark.parametrize("gateway", [GEMINI_ONLY], indirect=True)
def test_a_seed_veo_cannot_take_on_the_only_route_is_refused_naming_seed(gateway):
    assert provider_of(gateway, model="veo-3.1") == "veo"
    for asked, field in (({"seed": 7}, "seed"), ({"model": "veo-3", "audio": False}, "audio")):
        response = gateway.post("/v1/videos", json={"model": "veo-3.1", "prompt": "x", **asked})
        assert response.status_code == 400, response.text
        error = response.json()["error"]
        assert (error["param"], error["code"]) == (field, "unsupported_parameter")
        assert "only through vertex-veo, fal, replicate" in error["message"]


@pytest.mark.parametrize("gateway", [GEMINI_AND_FAL], indirect=True)
def test_a_seed_takes_the_next_route_that_passes_it_on(gateway):
    assert provider_of(gateway, model="veo-3.1") == "veo"
    assert provider_of(gateway, model="veo-3.1", seed=7) == "fal"
    assert provider_of(gateway, model="veo-3", audio=False) == "fal"
    assert provider_of(gateway, model="veo-3", audio=True) == "veo"  # its default: sound
