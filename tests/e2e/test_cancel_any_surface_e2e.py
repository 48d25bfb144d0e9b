"""None of the four seed documents has a cancel call (Concurred, v2, NovaKit, the task API),
so no facade grows one; the canonical `POST /v1/videos/{id}/cancel` cancels a job created on
any of them, by the id that surface's client holds, and the surface's own status route then
shows it canceled in its own words. Through a real `vidgate serve --sandbox`."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from tests.conftest import STORES
from tests.e2e.sandbox_gateway import Sandbox, sandbox_gateway

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module", params=STORES)
def sandbox(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Sandbox]:
    with sandbox_gateway(request.param, tmp_path_factory.mktemp("cancel")) as gateway:
        yield gateway


def created(response: httpx.Response) -> dict[str, Any]:
    assert response.status_code in (200, 202), response.text
    body: dict[str, Any] = response.json()
    return body


def test_a_concurred_operation_cancels_through_the_canonical_route(sandbox: Sandbox) -> None:
    with sandbox.http() as http:
        data = created(http.post("/api/v1/video/generate", json={"prompt": "a misty forest"}))
        operation = data["data"]["operation_id"]
        canceled = http.post(f"/v1/videos/{operation.removeprefix('operations/')}/cancel")
        assert canceled.status_code == 200 and canceled.json()["status"] == "canceled"
        query = {"provider": "google", "operation_id": operation}
        status = http.get("/api/v1/video/status", params=query).json()["data"]
        assert status["done"] is True and status["error"]["code"] == "canceled"


def test_a_v2_job_cancels_by_its_job_id(sandbox: Sandbox) -> None:
    with sandbox.http() as http:
        job = created(http.post("/v2/videos/generate", json={"model": "veo-3.1", "prompt": "x"}))
        canceled = http.post(f"/v1/videos/{job['jobId']}/cancel")
        assert canceled.status_code == 200 and canceled.json()["status"] == "canceled"
        assert http.get(f"/v2/jobs/{job['jobId']}").json()["status"] == "CANCELED"


def test_a_novakit_job_cancels_by_its_job_id(sandbox: Sandbox) -> None:
    with sandbox.http() as http:
        job = created(
            http.post("/api/v1/videos/generations?async=true", json={"prompt": "ocean waves"})
        )
        assert job["id"].startswith("job_")
        canceled = http.post(f"/v1/videos/{job['id']}/cancel")
        assert canceled.status_code == 200 and canceled.json()["status"] == "canceled"
        assert http.get(f"/api/v1/jobs/{job['id']}").json()["status"] == "cancelled"


def test_a_task_api_task_cancels_by_its_task_id(sandbox: Sandbox) -> None:
    with sandbox.http() as http:
        task = created(
            http.post("/v1/video/generations", json={"model": "veo_3_1", "prompt": "astronaut"})
        )
        canceled = http.post(f"/v1/videos/{task['task_id']}/cancel")
        assert canceled.status_code == 200 and canceled.json()["status"] == "canceled"
        after = http.get(f"/v1/video/generations/{task['task_id']}").json()
        assert after["status"] == "failed" and after["error"]["code"] == "canceled"


def test_an_id_no_surface_gave_is_404(sandbox: Sandbox) -> None:
    with sandbox.http() as http:
        for bogus in ("job_123", "operations", "00000000-0000-0000-0000-000000000000"):
            response = http.post(f"/v1/videos/{bogus}/cancel")
            assert response.status_code == 404, (bogus, response.text)
            assert response.json()["error"]["param"] == "video_id"
