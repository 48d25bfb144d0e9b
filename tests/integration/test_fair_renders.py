"""Local render slots are shared by tenant: one tenant queuing many renders cannot keep
another tenant's single render waiting behind all of them (real renders, both stores)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from datetime import datetime

import pytest
from starlette.testclient import TestClient

from service.app import create_app
from tests.conftest import ADMIN_KEY
from tests.helpers import TINY, key_for, wait_for_status

FLOOD = 8


@pytest.fixture
def one_slot(settings) -> Iterator[TestClient]:
    """A gateway with one local render slot; renders take a little while (slow frames)."""
    app = create_app(replace(settings, local_concurrency=1, local_frame_delay=0.01))
    with TestClient(app, headers={"Authorization": f"Bearer {ADMIN_KEY}"}) as client:
        yield client


def submitted(client: TestClient, headers: dict[str, str]) -> str:
    response = client.post("/v1/videos", json=TINY, headers=headers)
    assert response.status_code == 202, response.text
    return str(response.json()["id"])


def completed_at(client: TestClient, video_id: str, headers: dict[str, str]) -> datetime:
    events = client.get(f"/v1/videos/{video_id}/events", headers=headers).json()["data"]
    (done,) = [e for e in events if e["type"] == "Completed"]
    return datetime.fromisoformat(done["occurred_at"])


def test_a_single_job_is_not_kept_waiting_behind_another_tenants_flood(one_slot):
    flood, solo = key_for(one_slot, "flood"), key_for(one_slot, "solo")
    flooded = [submitted(one_slot, flood) for _ in range(FLOOD)]
    single = submitted(one_slot, solo)
    for video_id, headers in [*((v, flood) for v in flooded), (single, solo)]:
        wait_for_status(one_slot, video_id, headers=headers, timeout=120)
    solo_done = completed_at(one_slot, single, solo)
    ahead = [v for v in flooded if completed_at(one_slot, v, flood) < solo_done]
    # The render that held the slot, and at most the one next in line: never all eight.
    assert len(ahead) <= 2, f"{len(ahead)} of the flood rendered before the single job"
