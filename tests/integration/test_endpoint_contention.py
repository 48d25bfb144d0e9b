"""Concurrent changes to one webhook endpoint all take effect or are refused as the
endpoint's state says (404 once deleted), never a 503: writers on one aggregate in a process
take turns instead of exhausting their retries (once a 503 `store_unavailable` on PostgreSQL)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import pytest
from starlette.testclient import TestClient

from tests.facades_support import gateway


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def api(request: pytest.FixtureRequest, tmp_path) -> Iterator[TestClient]:
    with gateway(request.param, tmp_path / "var") as client:
        yield client


def test_concurrent_patch_rotate_and_delete_on_one_endpoint_are_never_a_5xx(api):
    created = api.post("/v1/webhook_endpoints", json={"url": "https://example.com/hook"})
    assert created.status_code == 201, created.text
    path = f"/v1/webhook_endpoints/{created.json()['id']}"

    def change(n: int) -> int:
        if n == 59:
            return api.delete(path).status_code
        if n % 2:
            return api.post(f"{path}/rotate_secret").status_code
        return api.patch(path, json={"description": f"change {n}"}).status_code

    with ThreadPoolExecutor(16) as pool:
        statuses = Counter(pool.map(change, range(60)))
    assert all(status < 500 for status in statuses), statuses
    assert set(statuses) <= {200, 204, 404}, statuses
