"""A key's concurrency limit and monthly budget, through the API: the submit past either is a
429 naming the limit; an ended job frees its place."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from starlette.testclient import TestClient

from events.account import to_micros
from events.apikey import DEFAULT_SCOPES, KeyLimits
from service.runtime import issue_key
from tests.facades_support import gateway
from tests.helpers import event_count, runtime_of

VEO_8S = {"model": "veo-3.1", "prompt": "a fox", "seconds": "8"}  # $3.20


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def api(request: pytest.FixtureRequest, tmp_path) -> Iterator[TestClient]:
    with gateway(request.param, tmp_path) as client:  # jobs stay queued: nothing renders
        yield client


def key_with(api: TestClient, limits: KeyLimits) -> dict[str, str]:
    key = issue_key(runtime_of(api), "acme", DEFAULT_SCOPES, limits=limits)
    return {"Authorization": f"Bearer {key}"}


def test_the_submit_past_the_keys_concurrency_is_a_429_until_a_job_ends(api):
    headers = key_with(api, KeyLimits(max_concurrent=2))
    ids = [api.post("/v1/videos", json=VEO_8S, headers=headers).json()["id"] for _ in range(2)]
    before = event_count(api)
    refused = api.post("/v1/videos", json=VEO_8S, headers=headers)
    assert refused.status_code == 429, refused.text
    assert refused.json()["error"]["code"] == "concurrency_limited"
    assert refused.headers["RateLimit-Limit"] == "2" and "Retry-After" in refused.headers
    assert event_count(api) == before
    assert api.post(f"/v1/videos/{ids[0]}/cancel", headers=headers).status_code == 200
    assert api.post("/v1/videos", json=VEO_8S, headers=headers).status_code == 202


def test_the_submit_past_the_keys_monthly_budget_is_a_429_naming_it(api):
    headers = key_with(api, KeyLimits(monthly_budget=to_micros(5.00)))
    assert api.post("/v1/videos", json=VEO_8S, headers=headers).status_code == 202
    refused = api.post("/v1/videos", json=VEO_8S, headers=headers)
    assert refused.status_code == 429
    error = refused.json()["error"]
    assert error["code"] == "budget_exceeded"
    assert "$5.00" in error["message"] and "$3.20 used" in error["message"]
    assert int(refused.headers["Retry-After"]) > 0


def test_a_tenant_tracked_only_for_its_keys_limits_stays_unmetered(api):
    headers = key_with(api, KeyLimits(max_concurrent=5))
    api.post("/v1/videos", json=VEO_8S, headers=headers)
    balance = api.get("/v1/balance", headers=headers).json()
    assert (balance["metered"], balance["available"], balance["reserved"]) == (False, None, 3.2)
