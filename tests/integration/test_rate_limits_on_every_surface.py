"""A key over its requests per minute gets a 429 with the RateLimit headers, in each
surface's error shape; a key without a limit is never counted."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from starlette.testclient import TestClient

from events.apikey import DEFAULT_SCOPES, KeyLimits
from service.runtime import issue_key
from tests.facades_support import gateway
from tests.helpers import runtime_of

# A cheap authenticated read on each surface, and where its error body keeps the code.
READS = {
    "openai": ("/v1/videos", lambda body: body["error"]["code"]),
    "concurred": ("/api/v1/video/status?operation_id=operations/x", lambda b: b["error"]["code"]),
    "v2": ("/v2/jobs/nope", lambda body: body["code"]),
    "novakit": ("/api/v1/jobs/nope", lambda body: body["code"]),
    "task api": ("/v1/video/generations/nope", lambda body: body["error"]["code"]),
}


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def api(request: pytest.FixtureRequest, tmp_path) -> Iterator[TestClient]:
    with gateway(request.param, tmp_path) as client:
        yield client


def limited(api: TestClient, rpm: int) -> dict[str, str]:
    scopes = (*DEFAULT_SCOPES, "video")
    key = issue_key(runtime_of(api), "acme", scopes, limits=KeyLimits(rpm=rpm))
    return {"Authorization": f"Bearer {key}"}


@pytest.mark.parametrize("surface", READS)
def test_the_request_past_the_limit_is_a_429_in_the_surfaces_shape(api, surface):
    path, code_of = READS[surface]
    headers = limited(api, 3)
    first = [api.get(path, headers=headers).status_code for _ in range(3)]
    assert 429 not in first
    refused = api.get(path, headers=headers)
    assert refused.status_code == 429, refused.text
    assert code_of(refused.json()) == "rate_limited"
    assert refused.headers["RateLimit-Limit"] == "3"
    assert refused.headers["RateLimit-Remaining"] == "0"
    assert refused.headers["Retry-After"] == refused.headers["RateLimit-Reset"]


def test_a_key_without_a_limit_is_not_counted(api):
    for _ in range(30):
        assert api.get("/v1/videos").status_code == 200
