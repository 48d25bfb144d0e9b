"""`GET /v1/videos/{id}?at=…`: a video as it was at a version, or at a moment."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from datetime import timedelta
from typing import Any

import pytest
from starlette.testclient import TestClient

from events.ids import video_id
from service.app import create_app
from tests.conftest import ADMIN_KEY
from tests.helpers import SUBMISSION, key_for, runtime_of


@pytest.fixture
def client(settings) -> Iterator[TestClient]:
    """The app without workers: the test writes the job's events itself."""
    app = create_app(replace(settings, run_workers=False))
    with TestClient(app, headers={"Authorization": f"Bearer {ADMIN_KEY}"}) as test_client:
        yield test_client


@pytest.fixture
def job(client) -> Any:
    """A completed job of the admin's tenant: Submitted, Progressed 40, Completed."""
    gateway = runtime_of(client).gateway
    job, _ = gateway.submit(**{**SUBMISSION, "tenant": "default"}, idempotency_key=None)
    gateway.record_progress(job.id, 40, "poll")
    gateway.update_job(job.id, lambda j: j.complete({"url": "u", "bytes": 1}, "poll"))
    return job


def at(client: TestClient, job: Any, when: str) -> Any:
    return client.get(f"/v1/videos/{video_id(job.id)}", params={"at": when})


def moments(client: TestClient, job: Any) -> list[Any]:
    return [e.timestamp for e in runtime_of(client).gateway.history(job.id)]


def test_a_version_number_shows_the_video_as_it_was_then(client, job):
    first, second, third = (at(client, job, str(n)).json() for n in (1, 2, 3))
    assert (first["status"], first["progress"]) == ("queued", 0)
    assert (second["status"], second["progress"]) == ("in_progress", 40)
    assert third == client.get(f"/v1/videos/{video_id(job.id)}").json()
    assert first["id"] == video_id(job.id) and first["output"] is None


def test_a_time_shows_the_last_version_recorded_at_or_before_it(client, job):
    submitted, progressed, completed = moments(client, job)
    between = progressed + (completed - progressed) / 2
    cases = {
        submitted.isoformat(): "queued",
        progressed.isoformat(): "in_progress",
        between.isoformat(): "in_progress",
        (completed + timedelta(days=365)).isoformat(): "completed",
        progressed.astimezone().isoformat(): "in_progress",  # any zone, same moment
        progressed.isoformat().replace("+00:00", "Z"): "in_progress",
    }
    for when, status in cases.items():
        assert at(client, job, when).json()["status"] == status, when


def test_a_past_version_has_no_poll_hint(client, job):
    response = at(client, job, "1")
    assert response.status_code == 200
    assert "openai-poll-after-ms" not in response.headers


@pytest.mark.parametrize(
    "when", ["0", "4", "999999999999999999", "yesterday", "", "-1", "2026-01-01T00:00:00", "1.5"]
)
def test_versions_and_times_the_video_never_had_are_400_naming_at(client, job, when):
    response = at(client, job, when)
    assert response.status_code == 400, response.text
    assert response.json()["error"]["param"] == "at"


def test_a_time_before_the_video_existed_is_a_400(client, job):
    before = moments(client, job)[0] - timedelta(microseconds=1)
    response = at(client, job, before.isoformat())
    assert response.status_code == 400
    assert "did not exist yet" in response.json()["error"]["message"]


def test_another_tenants_video_stays_hidden_at_any_time(client, job):
    other = key_for(client, "other")
    response = client.get(f"/v1/videos/{video_id(job.id)}", params={"at": "1"}, headers=other)
    assert response.status_code == 404
