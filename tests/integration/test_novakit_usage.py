"""NovaKit's `usage` from the ledger: a sync answer's `credits_used` is what the job is
charged, and `seconds_remaining` the seconds of the same video the tenant's balance (and the
key's monthly budget) still buy; null for an unmetered tenant. Jobs really render."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from starlette.testclient import TestClient

from events.account import to_micros
from events.apikey import DEFAULT_SCOPES, KeyLimits
from service.runtime import issue_key
from tests.conftest import STORES
from tests.facades_support import gateway, rendering
from tests.helpers import runtime_of

SYNC = "/api/v1/videos/generations"
VEO_FAST_4S = {"model": "fal-ai/veo3/fast", "prompt": "waves", "duration_seconds": 4}  # $0.60


@pytest.fixture(scope="module", params=STORES)
def studio(request: pytest.FixtureRequest, tmp_path_factory) -> Iterator[TestClient]:
    with gateway(request.param, tmp_path_factory.mktemp("usage") / "var", rendering) as client:
        yield client


def usage_of(client: TestClient, headers: dict[str, str]) -> dict[str, Any]:
    answer = client.post(SYNC, json=VEO_FAST_4S, headers=headers)
    assert answer.status_code == 200, answer.text
    usage: dict[str, Any] = answer.json()["usage"]
    return usage


def key_of(client: TestClient, tenant: str, limits: KeyLimits | None = None) -> dict[str, str]:
    key = issue_key(runtime_of(client), tenant, DEFAULT_SCOPES, limits=limits)
    return {"Authorization": f"Bearer {key}"}


def test_an_unmetered_tenant_has_no_seconds_remaining(studio):
    usage = usage_of(studio, key_of(studio, "free"))
    assert usage["credits_used"] == 60 and usage["seconds_remaining"] is None


def test_a_metered_tenant_sees_what_its_balance_still_buys(studio):
    runtime_of(studio).gateway.grant_credits("metered", to_micros(2.00))
    headers = key_of(studio, "metered")
    usage = usage_of(studio, headers)
    assert usage["credits_used"] == 60
    assert usage["seconds_remaining"] == 9  # $1.40 left at $0.15/s
    assert studio.get("/v1/balance", headers=headers).json()["spent"] == 0.60
    assert usage_of(studio, headers)["seconds_remaining"] == 5  # $0.80 left


def test_a_keys_monthly_budget_caps_seconds_remaining(studio):
    runtime_of(studio).gateway.grant_credits("budgeted", to_micros(10.00))
    headers = key_of(studio, "budgeted", KeyLimits(monthly_budget=to_micros(1.00)))
    usage = usage_of(studio, headers)
    assert usage["seconds_remaining"] == 2  # $0.40 of the key's $1.00 left, not $9.40
    other = usage_of(studio, key_of(studio, "budgeted"))  # an unlimited key of the same tenant
    assert other["seconds_remaining"] == 58  # $8.80 left


def test_a_job_reports_its_charge_once_it_ended(studio):
    runtime_of(studio).gateway.grant_credits("jobs", to_micros(1.00))
    headers = key_of(studio, "jobs")
    created = studio.post(SYNC + "?async=true", json=VEO_FAST_4S, headers=headers).json()
    job = studio.get(f"/api/v1/jobs/{created['id']}?poll=true", headers=headers).json()
    while job["status"] in ("pending", "processing"):
        job = studio.get(f"/api/v1/jobs/{created['id']}?poll=true", headers=headers).json()
    assert job["status"] == "completed"
    assert job["estimatedCredits"] == job["actualCredits"] == 60
