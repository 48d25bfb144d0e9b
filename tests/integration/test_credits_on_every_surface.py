"""A metered tenant whose credits can't cover a job gets 402 on every surface, in that
surface's error shape, and nothing is appended; with enough credits the job is accepted and
its price reserved."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from starlette.testclient import TestClient

from events.account import to_micros
from tests.facades_support import gateway
from tests.helpers import event_count, runtime_of

# One Veo 3.1 clip of 8 s at 720p ($0.40/s) on each surface: where it is sent, and the body.
VEO_8S = {
    "openai": ("/v1/videos", {"model": "veo-3.1", "prompt": "a fox", "seconds": "8"}),
    "concurred": ("/api/v1/video/generate", {"model": "veo-3.1", "prompt": "a fox", "duration": 8}),
    "v2": ("/v2/videos/generate", {"model": "veo-3.1", "prompt": "a fox", "duration": 8}),
    "novakit": (
        "/api/v1/videos/generations?async=true",
        {"model": "veo-3.1", "prompt": "a fox", "duration_seconds": 8},
    ),
    "task api": ("/v1/video/generations", {"model": "veo_3_1", "prompt": "a fox", "duration": 8}),
}
# How each surface's error body carries the code and the message.
CODE_AND_MESSAGE = {
    "openai": lambda body: (body["error"]["code"], body["error"]["message"]),
    "concurred": lambda body: (body["error"]["code"], body["error"]["message"]),
    "v2": lambda body: (body["code"], body["message"]),
    "novakit": lambda body: (body["code"], body["error"]),
    "task api": lambda body: (body["error"]["code"], body["error"]["message"]),
}


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def api(request: pytest.FixtureRequest, tmp_path) -> Iterator[TestClient]:
    with gateway(request.param, tmp_path) as client:
        yield client


@pytest.mark.parametrize("surface", VEO_8S)
def test_a_job_the_credits_cannot_cover_is_a_402_and_appends_nothing(api, surface):
    runtime_of(api).gateway.grant_credits("default", to_micros(1.00))
    before = event_count(api)
    path, body = VEO_8S[surface]
    answer = api.post(path, json=body)
    assert answer.status_code == 402, answer.text
    code, message = CODE_AND_MESSAGE[surface](answer.json())
    assert code == "insufficient_credits"
    assert "$3.20" in message and "$1.00" in message
    assert event_count(api) == before


@pytest.mark.parametrize("surface", VEO_8S)
def test_with_enough_credits_the_job_is_accepted_and_its_price_reserved(api, surface):
    runtime_of(api).gateway.grant_credits("default", to_micros(5.00))
    path, body = VEO_8S[surface]
    answer = api.post(path, json=body)
    assert answer.status_code in (200, 202), answer.text
    account = runtime_of(api).gateway.find_account("default")
    assert (account.reserved, account.available) == (to_micros(3.20), to_micros(1.80))


def test_an_unmetered_tenant_is_never_refused_for_credits(api):
    path, body = VEO_8S["openai"]
    assert api.post(path, json=body).status_code == 202
