"""`Idempotency-Key` on the four compatible surfaces, as on `/v1/videos`: a retry returns the
same job in the surface's shape; the same key with another request is a 409, and a bad key a
400, each in the surface's own error shape naming the header."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest
from starlette.testclient import TestClient

from service.app import create_app
from tests.conftest import ADMIN_KEY, STORES
from tests.helpers import event_count
from tests.integration.facade_gateways import store_settings, without_workers
from tests.surface_requests import SURFACES, Surface

pytestmark = pytest.mark.parametrize("surface", SURFACES, ids=str)


@pytest.fixture(scope="module", params=STORES)
def quiet(request: pytest.FixtureRequest, tmp_path_factory) -> Iterator[TestClient]:
    data_dir = tmp_path_factory.mktemp("idempotency") / "var"
    with store_settings(request.param, data_dir) as settings:
        app = create_app(without_workers(settings))
        with TestClient(app, headers={"Authorization": f"Bearer {ADMIN_KEY}"}) as client:
            yield client


def create(client: TestClient, surface: Surface, key: str, body: dict | None = None):  # type: ignore[no-untyped-def]
    headers = {"Idempotency-Key": key}
    return client.post(surface.create, json=body or surface.body, headers=headers)


def test_a_retry_with_the_same_key_returns_the_same_job(quiet, surface):
    key = f"retry-{uuid.uuid4()}"
    first = create(quiet, surface, key)
    assert first.status_code in (200, 202), first.text
    events = event_count(quiet)
    again = create(quiet, surface, key)
    assert again.status_code == first.status_code
    assert surface.job(again.json()) == surface.job(first.json())
    assert event_count(quiet) == events  # nothing new was submitted (nor reserved)


def test_without_a_key_each_create_is_a_new_job(quiet, surface):
    first, second = (quiet.post(surface.create, json=surface.body) for _ in range(2))
    assert surface.job(first.json()) != surface.job(second.json())


def test_the_same_key_with_another_request_is_a_409_naming_the_header(quiet, surface):
    key = f"reused-{uuid.uuid4()}"
    assert create(quiet, surface, key).status_code in (200, 202)
    reused = create(quiet, surface, key, surface.other_body())
    assert reused.status_code == 409, reused.text
    assert surface.error(reused.json()) == ("idempotency_key_reused", "Idempotency-Key")
    assert "Idempotency-Key" in reused.text


@pytest.mark.parametrize("key", [" ", "x" * 256, "tab\there"])
def test_a_malformed_key_is_a_400_naming_the_header(quiet, surface, key):
    refused = create(quiet, surface, key)
    assert refused.status_code == 400, refused.text
    assert surface.error(refused.json()) == ("invalid_value", "Idempotency-Key")


def test_the_same_key_on_two_surfaces_is_one_job(quiet, surface):
    """The key is the tenant's, as on /v1: the job it named is not made twice elsewhere."""
    key = f"shared-{uuid.uuid4()}"
    assert create(quiet, surface, key).status_code in (200, 202)
    elsewhere = next(s for s in SURFACES if s is not surface)
    assert create(quiet, elsewhere, key).status_code == 409
